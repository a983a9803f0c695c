//! `docker load`: reads `docker save` tars (Docker's `manifest.json`, old or OCI-layout
//! style) and plain OCI image layouts (`index.json`). Every layer is checked against the
//! config's diff IDs and every blob against its digest before anything is recorded.

use super::spool::Spool;
use crate::image::config::ImageConfig;
use crate::image::error::ImageError;
use crate::image::layers::{NewImage, chain_over};
use crate::image::lease::Lease;
use crate::image::reference::{Reference, familiar};
use crate::image::service::Images;
use crate::store::digest::Digest;
use crate::store::records::LayerRecord;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

const MAX_JSON: u64 = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// One image found in the archive.
struct Planned {
    config: Vec<u8>,
    /// Archive paths of the layer blobs, bottom first.
    layers: Vec<String>,
    /// Full names.
    tags: Vec<String>,
}

fn bad(message: String) -> ImageError {
    ImageError::BadInput(format!("invalid image archive: {message}"))
}

/// If `path` names its content (`blobs/sha256/<hex>`, `<hex>.json`), the digest it claims.
fn claimed_digest(path: &str) -> Option<Digest> {
    let file = path.rsplit('/').next()?;
    let hex = file.strip_suffix(".json").unwrap_or(file);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

fn read_verified(spool: &Spool, path: &str) -> Result<Vec<u8>, ImageError> {
    let bytes = spool.read_small(path, MAX_JSON)?;
    if let Some(claimed) = claimed_digest(path) {
        let actual = Digest::of(&bytes);
        if actual != claimed {
            return Err(ImageError::Store(
                crate::store::StoreError::DigestMismatch {
                    expected: claimed.to_string(),
                    actual: actual.to_string(),
                },
            ));
        }
    }
    Ok(bytes)
}

fn plan(spool: &Spool) -> Result<Vec<Planned>, ImageError> {
    if spool.has("manifest.json") {
        let entries: Vec<DockerManifestEntry> =
            serde_json::from_slice(&spool.read_small("manifest.json", MAX_JSON)?)
                .map_err(|e| bad(format!("manifest.json: {e}")))?;
        return entries
            .into_iter()
            .map(|e| {
                let tags = e
                    .repo_tags
                    .unwrap_or_default()
                    .iter()
                    .map(|t| Reference::parse(t).map(|r| r.tagged_name().unwrap_or_default()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Planned {
                    config: read_verified(spool, &e.config)?,
                    layers: e.layers,
                    tags,
                })
            })
            .collect();
    }
    if spool.has("index.json") {
        return plan_oci_layout(spool);
    }
    Err(bad("neither manifest.json nor index.json found".into()))
}

fn plan_oci_layout(spool: &Spool) -> Result<Vec<Planned>, ImageError> {
    let index: serde_json::Value =
        serde_json::from_slice(&spool.read_small("index.json", MAX_JSON)?)
            .map_err(|e| bad(format!("index.json: {e}")))?;
    let blob_path = |digest: &str| -> Result<String, ImageError> {
        let d = Digest::parse(digest).map_err(|e| bad(e.to_string()))?;
        Ok(format!("blobs/sha256/{}", d.hex()))
    };
    let mut planned = Vec::new();
    for entry in index["manifests"].as_array().into_iter().flatten() {
        let digest = entry["digest"]
            .as_str()
            .ok_or_else(|| bad("index entry without digest".into()))?;
        let manifest: serde_json::Value =
            serde_json::from_slice(&read_verified(spool, &blob_path(digest)?)?)
                .map_err(|e| bad(format!("manifest {digest}: {e}")))?;
        if manifest.get("manifests").is_some() {
            return Err(bad(
                "nested image indexes are not supported by load; save one platform".into(),
            ));
        }
        let config_digest = manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| bad(format!("manifest {digest} has no config")))?;
        let layers = manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| blob_path(l["digest"].as_str().unwrap_or("")))
            .collect::<Result<Vec<_>, _>>()?;
        let annotations = &entry["annotations"];
        let name = annotations["io.containerd.image.name"]
            .as_str()
            .or_else(|| annotations["org.opencontainers.image.ref.name"].as_str());
        let tags = match name {
            Some(n) => vec![Reference::parse(n)?.tagged_name().unwrap_or_default()],
            None => Vec::new(),
        };
        planned.push(Planned {
            config: read_verified(spool, &blob_path(config_digest)?)?,
            layers,
            tags,
        });
    }
    Ok(planned)
}

impl Images {
    /// Blocking half: unpacks each new layer, verifying it against the config.
    fn load_layers(
        &self,
        spool: &Spool,
        image: &Planned,
        lease: &Lease,
    ) -> Result<Vec<LayerRecord>, ImageError> {
        let config = ImageConfig::parse(&image.config)?;
        if config.rootfs.diff_ids.len() != image.layers.len() {
            return Err(bad(format!(
                "the config lists {} layers, the manifest {}",
                config.rootfs.diff_ids.len(),
                image.layers.len()
            )));
        }
        let mut records: Vec<LayerRecord> = Vec::new();
        for (path, diff_id) in image.layers.iter().zip(&config.rootfs.diff_ids) {
            let diff_id = Digest::parse(diff_id).map_err(|e| bad(e.to_string()))?;
            let parent = records.last().map(|r| r.chain_id.clone());
            let chain = chain_over(parent.as_deref(), &diff_id);
            lease.hold(chain.as_str());
            if let Some(existing) = self.store.meta.layer(chain.as_str())? {
                if let Some(blob) = &existing.blob {
                    lease.hold(&blob.digest);
                }
                records.push(existing);
                continue;
            }
            records.push(self.unpack_local(
                spool.open(path)?,
                parent.as_deref(),
                Some(&diff_id),
                path,
                lease,
            )?);
        }
        Ok(records)
    }

    /// `POST /images/load`: returns the lines Docker prints (`Loaded image: …`).
    pub async fn load(
        self: &Arc<Self>,
        body: impl Read + Send + 'static,
    ) -> Result<Vec<String>, ImageError> {
        let spool_dir = self.store_root().join(format!(
            "ingest/load-{}",
            crate::util::random::hex_secret(8).map_err(|e| bad(e.to_string()))?
        ));
        let this = self.clone();
        // Held until every image is recorded, so a concurrent rmi cannot collect the layers.
        let lease = self.leases.take();
        let (spool, planned, layers, _lease) = tokio::task::spawn_blocking(move || {
            let spool = Spool::read(body, &spool_dir)?;
            let planned = plan(&spool)?;
            let mut layers = Vec::new();
            for image in &planned {
                layers.push(this.load_layers(&spool, image, &lease)?);
            }
            Ok::<_, ImageError>((spool, planned, layers, lease))
        })
        .await
        .map_err(|e| ImageError::Layer(format!("load task: {e}")))??;
        drop(spool);
        let mut lines = Vec::new();
        for (image, layers) in planned.iter().zip(&layers) {
            let record = self
                .add_image(NewImage {
                    config: &image.config,
                    layers,
                    manifest: None,
                    repo_digest: None,
                    tags: &image.tags,
                    parent: None,
                })
                .await?;
            let mut attributes = BTreeMap::new();
            if let Some(t) = image.tags.first() {
                attributes.insert("name".to_string(), familiar(t));
            }
            self.events.publish("image", "load", &record.id, attributes);
            if image.tags.is_empty() {
                lines.push(format!("Loaded image ID: {}", record.id));
            }
            for tag in &image.tags {
                lines.push(format!("Loaded image: {}", familiar(tag)));
            }
        }
        Ok(lines)
    }
}
