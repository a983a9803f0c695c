//! Containers as Docker shows them: records, names, the create request merged with the
//! image's defaults, the lifecycle (create, start, stop, kill, wait, rm, restart policies),
//! logs, and live restore. The runtime ([`crate::runtime`]) makes the processes; this
//! module decides what to run and keeps the record of it. It knows nothing of HTTP.

pub mod config;
pub mod error;
pub mod logs;
pub mod names;
mod network_ops;
pub mod networking;
mod port_usage;
pub mod record;
mod record_file;
mod trash;

pub use error::ContainerError;
pub mod life;
pub mod resources;
pub mod runtime_spec;
pub mod service;
pub mod volumes;

pub use service::Containers;
pub mod archive;
pub mod commit;
pub mod exec;
pub mod stats;
pub mod update;
pub mod usage;
pub mod views;
