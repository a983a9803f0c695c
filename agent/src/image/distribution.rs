//! What this agent serves of its images over the distribution API (`/v2/`, read-only), so
//! another agent pulls them with its ordinary registry client: an image's manifest (the one
//! it was pulled with, or a generated OCI manifest for images made here — commit, load,
//! import), found by tag or by digest, and the blobs that manifest names.

use super::archive::oci::{OCI_MANIFEST, manifest_for};
use super::error::ImageError;
use super::reference::Reference;
use super::service::Images;
use crate::registry::sha256_digest;
use crate::store::digest::Digest;
use crate::store::records::ImageRecord;
use std::collections::HashSet;

/// A manifest as served.
pub struct ServedManifest {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// `sha256:…` of `bytes`.
    pub digest: String,
}

impl Images {
    /// The manifest `image` is served with: its stored one when its blob is still here,
    /// else a generated OCI manifest (deterministic, so its digest is stable).
    pub fn served_manifest(&self, image: &ImageRecord) -> Result<ServedManifest, ImageError> {
        if let Some(stored) = &image.manifest
            && let Ok(digest) = Digest::parse(&stored.digest)
            && let Ok(bytes) = self.store.blobs.read(&digest)
        {
            return Ok(ServedManifest {
                media_type: stored.media_type.clone(),
                digest: stored.digest.clone(),
                bytes,
            });
        }
        let bytes = manifest_for(image, &self.layer_blobs(image)?);
        Ok(ServedManifest {
            media_type: OCI_MANIFEST.to_string(),
            digest: sha256_digest(&bytes),
            bytes,
        })
    }

    /// The image of `repository` with `reference`: a tag (`repository:reference`) or the
    /// digest of a manifest it is served with.
    pub fn image_for_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<ImageRecord, ImageError> {
        let not_found = || ImageError::NotFound(format!("{repository}:{reference}"));
        if reference.starts_with("sha256:") {
            for image in self.store.meta.images()? {
                if self
                    .served_manifest(&image)
                    .is_ok_and(|m| m.digest == reference)
                {
                    return Ok(image);
                }
            }
            return Err(not_found());
        }
        let name =
            Reference::parse_bare(&format!("{repository}:{reference}")).map_err(|_| not_found())?;
        let tagged = name.tagged_name().ok_or_else(not_found)?;
        let id = self.store.meta.tag(&tagged)?.ok_or_else(not_found)?;
        self.store.meta.image(&id)?.ok_or_else(not_found)
    }

    /// Every blob `image` is served with: config, layers and manifest.
    pub fn served_blobs(&self, image: &ImageRecord) -> Result<HashSet<String>, ImageError> {
        let mut blobs: HashSet<String> = self
            .layer_blobs(image)?
            .into_iter()
            .map(|b| b.digest)
            .collect();
        blobs.insert(image.id.clone());
        blobs.insert(self.served_manifest(image)?.digest);
        Ok(blobs)
    }

    /// Whether any image here is served with blob `digest`.
    pub fn serves_blob(&self, digest: &str) -> Result<bool, ImageError> {
        for image in self.store.meta.images()? {
            if self.served_blobs(&image)?.contains(digest) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
