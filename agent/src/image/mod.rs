//! Images: references, pull and push orchestration, tag, rmi, history, inspect,
//! save/load/import. Built on the content store, the layer extractor and the registry
//! client; knows nothing of HTTP serving.

pub mod archive;
pub mod commit;
pub mod config;
pub mod distribution;
pub mod error;
pub mod graph;
pub mod layers;
pub mod lease;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod service;
pub mod unpack;
pub mod views;

pub use error::ImageError;
pub use service::Images;
