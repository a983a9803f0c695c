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
    /// IDs of the containers made from this image (while they exist, it cannot be removed).
    #[serde(default)]
    pub containers: Vec<String>,
    /// How the image was made, oldest step first; each step that made a layer names it.
    #[serde(default)]
    pub history: Vec<HistoryStep>,
}

/// One entry of an image's history, tied to the layer it made.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct HistoryStep {
    /// Unix seconds; 0 when the image does not say.
    pub created: i64,
    pub created_by: String,
    pub comment: String,
    /// The chain ID of the layer this step made; `None` for a step that only changed the
    /// configuration (`empty_layer`: ENV, CMD, LABEL, …).
    pub layer: Option<String>,
}

/// A container, for naming the ones that stand on a layer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContainerRef {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    /// Docker's state word: `running`, `exited`, `created`, `paused`, …
    pub state: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct LayerGraph {
    pub layers: Vec<LayerNode>,
    pub images: Vec<ImageNode>,
    /// Bytes on disk for all layers, each counted once.
    pub total_size: u64,
    /// Bytes the images would take if nothing were shared.
    pub unshared_size: u64,
    /// Every container on the host, for the IDs in `LayerNode::containers` and
    /// `ImageNode::containers`.
    #[serde(default)]
    pub containers: Vec<ContainerRef>,
}
