//! OCI image manifests and media types, as Berth writes them.

use crate::store::records::{BlobRef, ImageRecord};
use serde_json::{Value, json};

/// The manifest, index and config types are the registry client's (one list of them).
pub use crate::registry::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// An OCI manifest for an image from its config and layer blobs.
pub fn manifest_for(image: &ImageRecord, layers: &[BlobRef]) -> Vec<u8> {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": image.id, "size": image.config_size },
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type, "digest": l.digest, "size": l.size
        })).collect::<Vec<Value>>(),
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// A manifest as it came from a registry: exact bytes (their digest is the manifest's).
#[derive(Clone, Debug)]
pub struct StoredManifest {
    pub media_type: String,
    pub bytes: Vec<u8>,
}
