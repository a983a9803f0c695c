//! The layer graph (`GET /berth/v1/layers`): every layer on a host, which images contain
//! it and which containers stand on it, so the dashboard can draw what is shared.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LayerNode {
    /// OCI chain ID: names the layer together with everything below it.
    pub chain_id: String,
    /// Digest of the layer's uncompressed tar.
    pub diff_id: String,
    /// Chain ID of the layer below.
    pub parent: Option<String>,
    /// Bytes of file content once unpacked.
    pub size: u64,
    /// The compressed blob as stored (digest and bytes), if kept.
    pub blob_digest: Option<String>,
    pub blob_size: Option<u64>,
    /// IDs of the images that contain this layer.
    pub images: Vec<String>,
    /// IDs of the containers whose root filesystem stands on this layer.
    pub containers: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ImageNode {
    pub id: String,
    /// Familiar names (`busybox:latest`).
    pub tags: Vec<String>,
    /// Chain IDs, bottom layer first.
    pub layers: Vec<String>,
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct LayerGraph {
    pub layers: Vec<LayerNode>,
    pub images: Vec<ImageNode>,
    /// Bytes on disk for all layers, each counted once.
    pub total_size: u64,
    /// Bytes the images would take if nothing were shared.
    pub unshared_size: u64,
}
