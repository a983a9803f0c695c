//! `docker save`: one tar holding an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) and Docker's `manifest.json`, so both `docker load` and OCI tools
//! read it. Layer blobs go out as stored (compressed): no re-pack.

use super::oci::{OCI_MANIFEST, manifest_for};
use crate::image::error::ImageError;
use crate::image::reference::{Reference, familiar};
use crate::image::service::Images;
use crate::store::digest::Digest;
use crate::store::records::{BlobRef, ImageRecord};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;

/// One image to save and the tags to save it under.
pub struct SaveItem {
    pub image: ImageRecord,
    /// Full names (`docker.io/library/busybox:latest`).
    pub tags: Vec<String>,
    layers: Vec<BlobRef>,
}

impl Images {
    /// Resolves every name first, so a bad one fails before any byte is sent.
    pub fn plan_save(&self, names: &[String]) -> Result<Vec<SaveItem>, ImageError> {
        let mut items: Vec<SaveItem> = Vec::new();
        for name in names {
            let image = self.resolve(name)?;
            let tag = Reference::parse(name)
                .ok()
                .and_then(|r| r.tagged_name())
                .filter(|t| self.store.meta.tag(t).ok().flatten().as_deref() == Some(&image.id));
            if let Some(existing) = items.iter_mut().find(|i| i.image.id == image.id) {
                existing.tags.extend(tag);
                continue;
            }
            let layers = self.layer_blobs(&image)?;
            items.push(SaveItem {
                image,
                tags: tag.into_iter().collect(),
                layers,
            });
        }
        Ok(items)
    }

    /// One `save` event per image.
    pub fn publish_saved(&self, items: &[SaveItem]) {
        for item in items {
            self.events.publish(
                "image",
                "save",
                &item.image.id,
                std::collections::BTreeMap::new(),
            );
        }
    }

    /// Writes the archive (blocking: run it off the async threads).
    pub fn write_save(&self, items: &[SaveItem], out: impl Write) -> Result<(), ImageError> {
        let io = |e: std::io::Error| ImageError::Layer(format!("write archive: {e}"));
        let mut tar = tar::Builder::new(out);
        let mut written: HashSet<String> = HashSet::new();
        let mut index_entries = Vec::new();
        let mut docker_manifest = Vec::new();
        for item in items {
            let manifest = manifest_for(&item.image, &item.layers);
            let manifest_digest = Digest::of(&manifest);
            let mut add_blob =
                |tar: &mut tar::Builder<_>, digest: &str| -> Result<(), ImageError> {
                    if !written.insert(digest.to_string()) {
                        return Ok(());
                    }
                    let parsed =
                        Digest::parse(digest).map_err(|e| ImageError::BadInput(e.to_string()))?;
                    let mut file = self.store.blobs.open_blob(&parsed)?;
                    tar.append_file(format!("blobs/sha256/{}", parsed.hex()), &mut file)
                        .map_err(io)
                };
            add_blob(&mut tar, &item.image.id)?;
            for layer in &item.layers {
                add_blob(&mut tar, &layer.digest)?;
            }
            if written.insert(manifest_digest.to_string()) {
                append_bytes(
                    &mut tar,
                    &format!("blobs/sha256/{}", manifest_digest.hex()),
                    &manifest,
                )
                .map_err(io)?;
            }
            let names: Vec<Option<&String>> = if item.tags.is_empty() {
                vec![None]
            } else {
                item.tags.iter().map(Some).collect()
            };
            for name in names {
                let mut entry = json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": manifest_digest.as_str(),
                    "size": manifest.len(),
                });
                if let Some(name) = name {
                    let tag = name.rsplit_once(':').map_or("", |(_, t)| t);
                    entry["annotations"] = json!({
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": tag,
                    });
                }
                index_entries.push(entry);
            }
            docker_manifest.push(json!({
                "Config": format!("blobs/sha256/{}", &item.image.id["sha256:".len()..]),
                "RepoTags": item.tags.iter().map(|t| familiar(t)).collect::<Vec<_>>(),
                "Layers": item.layers.iter()
                    .map(|l| format!("blobs/sha256/{}", &l.digest["sha256:".len()..]))
                    .collect::<Vec<_>>(),
            }));
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": super::oci::OCI_INDEX,
            "manifests": index_entries,
        });
        append_json(&mut tar, "index.json", &index).map_err(io)?;
        append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
        append_json(&mut tar, "manifest.json", &json!(docker_manifest)).map_err(io)?;
        tar.into_inner().map_err(io)?.flush().map_err(io)?;
        Ok(())
    }
}

fn append_json<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    value: &Value,
) -> std::io::Result<()> {
    append_bytes(
        tar,
        name,
        &serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, bytes)
}
