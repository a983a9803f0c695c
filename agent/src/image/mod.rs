//! Images: references, pull and push orchestration, tag, rmi, history, inspect,
//! save/load/import. Built on the content store, the layer extractor and the registry
//! client; knows nothing of HTTP serving.

pub mod reference;
