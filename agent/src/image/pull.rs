//! `docker pull`: resolve the manifest (picking linux/amd64 from an index), fetch the
//! config, then every layer not already present — several at once, each verified and
//! extracted in the same pass as its download, resumed with `Range` after a dropped
//! connection. Two pulls of the same layer download it once.

use super::config::ImageConfig;
use super::error::ImageError;
use super::layers::{NewImage, chain_over};
use super::progress::{ProgressSink, detail, status};
use super::reference::{Reference, familiar};
use super::service::Images;
use super::unpack::{Compression, unpack};
use crate::registry::{
    Credentials, ParsedManifest, RegistryClient, RegistryError, Repository, parse_manifest,
    pick_platform,
};
use crate::store::digest::Digest;
use crate::store::records::{BlobRef, ImageRecord, LayerRecord};
use crate::util::chunk_reader::ChunkReader;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// Layers downloaded at once.
const PARALLEL_LAYERS: usize = 3;
/// Attempts per layer download (the first plus resumes after connection drops).
const DOWNLOAD_ATTEMPTS: u32 = 4;
const MAX_CONFIG: u64 = 8 * 1024 * 1024;
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl From<RegistryError> for ImageError {
    fn from(e: RegistryError) -> Self {
        ImageError::Registry {
            status: e.http_status(),
            message: e.to_string(),
        }
    }
}

/// A pull whose manifest and config are known; nothing is stored yet.
pub struct PreparedPull {
    reference: Reference,
    repo: Repository,
    credentials: Credentials,
    /// The digest the reference resolved to (an index's, for multi-platform images).
    top_digest: String,
    manifest: super::archive::oci::StoredManifest,
    config_bytes: Vec<u8>,
    layers: Vec<PlannedLayer>,
    /// The name to record the image under, when not the reference it is pulled from (an
    /// image copied from another agent keeps its own name).
    store_as: Option<Reference>,
    /// Keeps what this pull stores from garbage collection until the image is recorded.
    _lease: super::lease::Lease,
}

struct PlannedLayer {
    blob: BlobRef,
    compression: Compression,
    diff_id: Digest,
    chain: Digest,
    parent: Option<String>,
}

impl PreparedPull {
    /// Records the pulled image under `name` (its tag, if it has one) instead of the
    /// reference it is pulled from, and with no repository digest: the source is another
    /// agent, not a registry the name points at.
    pub fn store_as(mut self, name: Reference) -> Self {
        self.store_as = Some(name);
        self
    }
}

impl PlannedLayer {
    fn id(&self) -> String {
        super::service::short_id(&self.blob.digest).to_string()
    }
}

impl Images {
    /// Resolves `reference` to a manifest and config. Fails before any output when the
    /// image does not exist, so the API can answer with the right status.
    pub async fn prepare_pull(
        &self,
        registry: &RegistryClient,
        reference: Reference,
        credentials: Credentials,
    ) -> Result<PreparedPull, ImageError> {
        let repo = Repository::new(reference.domain.clone(), reference.path.clone());
        let wanted = reference.tag_or_digest();
        let top = registry
            .fetch_manifest(&repo, &wanted, &credentials)
            .await?;
        let top_digest = top.digest.clone();
        let manifest = match parse_manifest(&top.media_type, &top.bytes)? {
            ParsedManifest::Image(m) => (top, m),
            ParsedManifest::Index(entries) => {
                let arch = crate::system::facts::go_arch(std::env::consts::ARCH);
                let entry = pick_platform(&entries, "linux", arch, None)?;
                let fetched = registry
                    .fetch_manifest(&repo, &entry.descriptor.digest, &credentials)
                    .await?;
                match parse_manifest(&fetched.media_type, &fetched.bytes)? {
                    ParsedManifest::Image(m) => (fetched, m),
                    ParsedManifest::Index(_) => {
                        return Err(ImageError::BadInput(format!(
                            "{reference}: the index for linux/{arch} points at another index"
                        )));
                    }
                }
            }
        };
        let (fetched, image_manifest) = manifest;
        let lease = self.leases.take();
        lease.hold(&image_manifest.config.digest);
        lease.hold(Digest::of(&fetched.bytes).as_str());
        let config_digest = Digest::parse(&image_manifest.config.digest)
            .map_err(|e| ImageError::BadInput(e.to_string()))?;
        if image_manifest.config.size > MAX_CONFIG {
            return Err(ImageError::BadInput(format!(
                "image config of {} bytes is larger than the {MAX_CONFIG} allowed",
                image_manifest.config.size
            )));
        }
        let config_bytes = match self.store.blobs.read(&config_digest) {
            Ok(bytes) => bytes,
            Err(_) => {
                let mut stream = registry
                    .fetch_blob(&repo, config_digest.as_str(), 0, &credentials)
                    .await?
                    .expect_size(image_manifest.config.size)?;
                let mut bytes = Vec::new();
                while let Some(chunk) = stream.next().await {
                    bytes.extend_from_slice(&chunk?);
                }
                self.store.blobs.put_verified(&bytes, &config_digest)?;
                bytes
            }
        };
        let config = ImageConfig::parse(&config_bytes)?;
        if config.rootfs.diff_ids.len() != image_manifest.layers.len() {
            return Err(ImageError::BadInput(format!(
                "{reference}: the manifest has {} layers but the config lists {} diff IDs",
                image_manifest.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        let mut parent: Option<String> = None;
        for (layer, diff_id) in image_manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            let diff_id =
                Digest::parse(diff_id).map_err(|e| ImageError::BadInput(e.to_string()))?;
            Digest::parse(&layer.descriptor.digest)
                .map_err(|e| ImageError::BadInput(e.to_string()))?;
            let chain = chain_over(parent.as_deref(), &diff_id);
            lease.hold(chain.as_str());
            lease.hold(&layer.descriptor.digest);
            let compression = match layer.compression {
                crate::registry::LayerCompression::Gzip => Compression::Gzip,
                crate::registry::LayerCompression::Zstd => Compression::Zstd,
                crate::registry::LayerCompression::None => Compression::None,
            };
            layers.push(PlannedLayer {
                blob: BlobRef {
                    digest: layer.descriptor.digest.clone(),
                    size: layer.descriptor.size,
                    media_type: layer.descriptor.media_type.clone(),
                },
                compression,
                diff_id,
                chain: chain.clone(),
                parent: parent.replace(chain.to_string()),
            });
        }
        Ok(PreparedPull {
            reference,
            repo,
            credentials,
            top_digest,
            manifest: super::archive::oci::StoredManifest {
                media_type: fetched.media_type,
                bytes: fetched.bytes,
            },
            config_bytes,
            layers,
            store_as: None,
            _lease: lease,
        })
    }

    /// Downloads what is missing and records the image.
    pub async fn run_pull(
        self: &Arc<Self>,
        registry: &RegistryClient,
        pull: PreparedPull,
        progress: ProgressSink,
    ) -> Result<ImageRecord, ImageError> {
        let shown = match &pull.reference.tag {
            Some(tag) => tag.clone(),
            None => pull.reference.tag_or_digest(),
        };
        status(
            &progress,
            Some(&shown),
            &format!("Pulling from {}", pull.reference.familiar_name()),
        );
        let limit = Arc::new(Semaphore::new(PARALLEL_LAYERS));
        let pull = Arc::new(pull);
        let mut tasks = Vec::new();
        let mut downloaded_any = false;
        for index in 0..pull.layers.len() {
            let layer = &pull.layers[index];
            if self.store.meta.layer(layer.chain.as_str())?.is_some() {
                status(&progress, Some(&layer.id()), "Already exists");
                continue;
            }
            downloaded_any = true;
            status(&progress, Some(&layer.id()), "Pulling fs layer");
            let (this, registry, pull, progress, limit) = (
                self.clone(),
                registry.clone(),
                pull.clone(),
                progress.clone(),
                limit.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire().await;
                this.fetch_layer(&registry, &pull, index, &progress).await
            }));
        }
        for task in tasks {
            task.await
                .map_err(|e| ImageError::Layer(format!("layer task: {e}")))??;
        }
        let mut records: Vec<LayerRecord> = Vec::new();
        for layer in &pull.layers {
            let record = self
                .store
                .meta
                .layer(layer.chain.as_str())?
                .ok_or_else(|| {
                    ImageError::Layer(format!("layer {} vanished during the pull", layer.chain))
                })?;
            records.push(record);
        }
        let manifest_digest = self.store.blobs.put(&pull.manifest.bytes)?;
        let manifest = BlobRef {
            digest: manifest_digest.to_string(),
            size: pull.manifest.bytes.len() as u64,
            media_type: pull.manifest.media_type.clone(),
        };
        let recorded = pull.store_as.as_ref().unwrap_or(&pull.reference);
        let tags: Vec<String> = recorded.tagged_name().into_iter().collect();
        let previous = match tags.first() {
            Some(t) => self.store.meta.tag(t)?,
            None => None,
        };
        let image = self
            .add_image(NewImage {
                config: &pull.config_bytes,
                layers: &records,
                manifest: Some(manifest),
                repo_digest: pull
                    .store_as
                    .is_none()
                    .then(|| format!("{}@{}", pull.reference.name(), pull.top_digest)),
                tags: &tags,
                parent: None,
            })
            .await?;
        let name = familiar(&recorded.to_string());
        status(&progress, None, &format!("Digest: {}", pull.top_digest));
        let fresh = downloaded_any || previous.as_deref() != Some(image.id.as_str());
        status(
            &progress,
            None,
            &if fresh {
                format!("Status: Downloaded newer image for {name}")
            } else {
                format!("Status: Image is up to date for {name}")
            },
        );
        self.events.publish(
            "image",
            "pull",
            &name,
            BTreeMap::from([("name".to_string(), recorded.familiar_name())]),
        );
        Ok(image)
    }

    /// One layer: wait for any other pull of it, then download, verify, extract, record.
    async fn fetch_layer(
        self: &Arc<Self>,
        registry: &RegistryClient,
        pull: &PreparedPull,
        index: usize,
        progress: &ProgressSink,
    ) -> Result<(), ImageError> {
        let layer = &pull.layers[index];
        let id = layer.id();
        let lock = self.layer_lock(layer.chain.as_str());
        let _held = lock.lock().await;
        if self.store.meta.layer(layer.chain.as_str())?.is_some() {
            status(progress, Some(&id), "Already exists");
            return Ok(());
        }
        let blob_digest =
            Digest::parse(&layer.blob.digest).map_err(|e| ImageError::BadInput(e.to_string()))?;
        let ingest = self.store.blobs.ingest(&blob_digest)?;
        let staged = self.store.layers.stage()?;
        let resume_from = ingest.offset().min(layer.blob.size);
        let replay = ingest.replay()?;
        let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(16);
        let compression = layer.compression;
        let dest = staged.diff();
        let extract = tokio::task::spawn_blocking(move || {
            let mut ingest = ingest;
            let result = unpack(
                replay,
                ChunkReader::new(receiver),
                compression,
                &mut ingest,
                &dest,
            );
            (ingest, result)
        });
        let download = self
            .download(registry, pull, layer, resume_from, sender, progress, &id)
            .await;
        let (ingest, unpacked) = extract
            .await
            .map_err(|e| ImageError::Layer(format!("extraction task: {e}")))?;
        if let Err(e) = download {
            // Keep what arrived: the next pull resumes from there with `Range`.
            ingest.suspend();
            return Err(e);
        }
        let unpacked = match unpacked {
            Ok(u) => u,
            Err(e) => {
                ingest.discard();
                return Err(ImageError::Layer(format!(
                    "layer {}: {e}",
                    layer.blob.digest
                )));
            }
        };
        status(progress, Some(&id), "Verifying Checksum");
        ingest.commit(&self.store.blobs, Some(layer.blob.size))?;
        if unpacked.diff_id != layer.diff_id {
            self.store.blobs.remove(&blob_digest)?;
            return Err(ImageError::Store(
                crate::store::StoreError::DigestMismatch {
                    expected: format!("{} (diff ID of layer {})", layer.diff_id, layer.blob.digest),
                    actual: unpacked.diff_id.to_string(),
                },
            ));
        }
        status(progress, Some(&id), "Download complete");
        status(progress, Some(&id), "Extracting");
        self.register_layer(
            layer.parent.as_deref(),
            &layer.diff_id,
            unpacked.size,
            layer.blob.clone(),
            staged,
        )?;
        status(progress, Some(&id), "Pull complete");
        Ok(())
    }

    /// Streams the blob into `sender` from `offset`, resuming after dropped connections.
    #[allow(clippy::too_many_arguments)]
    async fn download(
        &self,
        registry: &RegistryClient,
        pull: &PreparedPull,
        layer: &PlannedLayer,
        offset: u64,
        sender: mpsc::Sender<io::Result<Bytes>>,
        progress: &ProgressSink,
        id: &str,
    ) -> Result<(), ImageError> {
        let total = layer.blob.size;
        let mut position = offset;
        let mut last_report = Instant::now()
            .checked_sub(PROGRESS_EVERY)
            .unwrap_or_else(Instant::now);
        let mut attempt = 0;
        loop {
            if position >= total {
                return Ok(());
            }
            attempt += 1;
            let opened = registry
                .fetch_blob(&pull.repo, &layer.blob.digest, position, &pull.credentials)
                .await
                .and_then(|s| s.expect_size(total));
            let mut stream = match opened {
                Ok(s) => s,
                Err(e) if attempt < DOWNLOAD_ATTEMPTS && retryable(&e) => continue,
                Err(e) => {
                    let _ = sender.send(Err(io::Error::other(e.to_string()))).await;
                    return Err(e.into());
                }
            };
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        position += bytes.len() as u64;
                        if sender.send(Ok(bytes)).await.is_err() {
                            // The extractor stopped (bad layer): its error tells why.
                            return Ok(());
                        }
                        if last_report.elapsed() >= PROGRESS_EVERY {
                            last_report = Instant::now();
                            detail(progress, id, "Downloading", position, Some(total));
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                None => {
                    detail(progress, id, "Downloading", position, Some(total));
                    return Ok(());
                }
                Some(e) if attempt < DOWNLOAD_ATTEMPTS && retryable(&e) => {
                    tracing::warn!(
                        "layer {}: {e}; resuming at byte {position}",
                        layer.blob.digest
                    );
                }
                Some(e) => {
                    let _ = sender.send(Err(io::Error::other(e.to_string()))).await;
                    return Err(e.into());
                }
            }
        }
    }

    /// The lock that makes concurrent pulls of one layer download it once.
    fn layer_lock(&self, chain: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.layer_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(chain.to_string()).or_default().clone()
    }
}

fn retryable(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::Transport(_)
            | RegistryError::Registry {
                status: 500..=599,
                ..
            }
    )
}
