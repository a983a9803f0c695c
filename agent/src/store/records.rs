//! What the metadata DB holds about images and layers.

use serde::{Deserialize, Serialize};

/// A blob kept in the content store, as a manifest names it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
}

/// One extracted layer, `layers/<chain-id hex>/diff`, shared by every image above it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LayerRecord {
    pub chain_id: String,
    pub diff_id: String,
    /// Chain ID of the layer below, if any.
    pub parent: Option<String>,
    /// Bytes of file content once unpacked.
    pub size: u64,
    /// The layer's blob as it came (kept so push and save need no re-pack).
    pub blob: Option<BlobRef>,
    /// Unix seconds.
    pub created: i64,
}

/// An image: a config blob (its digest is the image ID) over a stack of layers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord {
    /// `sha256:…` of the config blob.
    pub id: String,
    pub config_size: u64,
    /// The manifest it was pulled with (or last pushed with).
    pub manifest: Option<BlobRef>,
    /// Chain IDs, bottom layer first.
    pub layers: Vec<String>,
    /// `docker.io/library/busybox@sha256:…` for each registry it came from or went to.
    pub repo_digests: Vec<String>,
    /// From the config's `created`, unix seconds.
    pub created: i64,
    /// Sum of the layers' unpacked sizes.
    pub size: u64,
    /// The image this one was made from (commit, build), if local.
    pub parent: Option<String>,
    /// Unix seconds of the last tag change.
    pub last_tag_time: i64,
}
