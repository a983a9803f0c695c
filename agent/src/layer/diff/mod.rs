//! What a container changed: `docker diff` ([`changes`]) and the layer tar of a commit
//! ([`write_layer_tar`]).
#![allow(dead_code, unused_imports)] // used by the container service, which lands separately

mod changes;
mod tar;

#[cfg(test)]
pub(crate) mod tests;

pub use changes::{Change, ChangeKind, changes, layer_size};
pub use tar::{LayerTarStats, write_layer_tar};
