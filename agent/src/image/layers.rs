//! Turning an unpacked, staged layer into a shared layer record.

use super::error::ImageError;
use super::service::Images;
use super::unpack::{Compression, unpack};
use crate::store::digest::Digest;
use crate::store::layer_dirs::StagedLayer;
use crate::store::records::{BlobRef, ImageRecord, LayerRecord};
use crate::util::clock::now_secs;
use std::io::{BufRead, BufReader, Read};

/// OCI chain ID of a layer over `parent` (the chain ID of everything below it).
pub fn chain_over(parent: Option<&str>, diff_id: &Digest) -> Digest {
    // The chain of [parent, diff] hashes exactly `parent + " " + diff`, as one more step of
    // the stack would.
    let stack: Vec<String> = parent
        .map(str::to_string)
        .into_iter()
        .chain([diff_id.to_string()])
        .collect();
    Digest::parse(&crate::layer::chain::chain_id(&stack)).unwrap_or_else(|_| diff_id.clone())
}

impl Images {
    /// Moves a staged layer into place and records it — unless the same chain is
    /// already there (a concurrent pull), in which case the staged copy is dropped.
    pub(crate) fn register_layer(
        &self,
        parent: Option<&str>,
        diff_id: &Digest,
        size: u64,
        blob: BlobRef,
        staged: StagedLayer,
    ) -> Result<LayerRecord, ImageError> {
        let chain = chain_over(parent, diff_id);
        if let Some(existing) = self.store.meta.layer(chain.as_str())? {
            return Ok(existing);
        }
        self.store.layers.commit(staged, &chain)?;
        let record = LayerRecord {
            chain_id: chain.to_string(),
            diff_id: diff_id.to_string(),
            parent: parent.map(str::to_string),
            size,
            blob: Some(blob),
            created: now_secs(),
        };
        self.store.meta.write(|w| w.put_layer(&record))?;
        Ok(record)
    }
}

impl Images {
    /// Unpacks a layer from a local upload (`import`, `load`): plain, gzip or zstd (sniffed),
    /// kept as a blob and recorded over `parent`. With `expected`, the layer must have that
    /// diff ID. `what` names the source in errors. Blocking.
    pub(crate) fn unpack_local(
        &self,
        source: impl Read,
        parent: Option<&str>,
        expected: Option<&Digest>,
        what: &str,
        lease: &super::lease::Lease,
    ) -> Result<LayerRecord, ImageError> {
        let mut reader = BufReader::with_capacity(256 * 1024, source);
        let prefix = reader
            .fill_buf()
            .map_err(|e| ImageError::BadInput(format!("reading {what}: {e}")))?;
        if prefix.is_empty() {
            return Err(ImageError::BadInput(format!("{what} is empty")));
        }
        let compression = Compression::sniff(prefix);
        let mut ingest = self.store.blobs.ingest_new()?;
        let staged = self.store.layers.stage()?;
        let unpacked = match unpack(
            std::io::empty(),
            reader,
            compression,
            &mut ingest,
            &staged.diff(),
        ) {
            Ok(u) if expected.is_none_or(|d| *d == u.diff_id) => u,
            Ok(u) => {
                ingest.discard();
                return Err(ImageError::Store(
                    crate::store::StoreError::DigestMismatch {
                        expected: format!(
                            "{} (diff ID of {what})",
                            expected.map(Digest::as_str).unwrap_or_default()
                        ),
                        actual: u.diff_id.to_string(),
                    },
                ));
            }
            Err(e) => {
                ingest.discard();
                return Err(e);
            }
        };
        let size = ingest.offset();
        lease.hold(ingest.digest().as_str());
        lease.hold(chain_over(parent, &unpacked.diff_id).as_str());
        let digest = ingest.commit(&self.store.blobs, None)?;
        let blob = BlobRef {
            digest: digest.to_string(),
            size,
            media_type: compression.media_type().to_string(),
        };
        self.register_layer(parent, &unpacked.diff_id, unpacked.size, blob, staged)
    }

    /// The stored blob of each of an image's layers, bottom first (for push and save).
    pub(crate) fn layer_blobs(&self, image: &ImageRecord) -> Result<Vec<BlobRef>, ImageError> {
        image
            .layers
            .iter()
            .map(|chain| {
                let layer = self
                    .store
                    .meta
                    .layer(chain)?
                    .ok_or_else(|| ImageError::NotFound(format!("layer {chain}")))?;
                layer.blob.ok_or_else(|| {
                    ImageError::BadInput(format!("layer {chain} has no stored blob"))
                })
            })
            .collect()
    }
}

/// An image about to be recorded.
pub(crate) struct NewImage<'a> {
    pub config: &'a [u8],
    pub layers: &'a [LayerRecord],
    pub manifest: Option<crate::store::records::BlobRef>,
    pub repo_digest: Option<String>,
    /// Full names to point at it.
    pub tags: &'a [String],
    pub parent: Option<String>,
}

impl Images {
    /// Stores the config blob and records the image and its tags in one transaction.
    pub(crate) async fn add_image(
        &self,
        new: NewImage<'_>,
    ) -> Result<crate::store::records::ImageRecord, ImageError> {
        let config = super::config::ImageConfig::parse(new.config)?;
        let diff_ids: Vec<&str> = new.layers.iter().map(|l| l.diff_id.as_str()).collect();
        if config
            .rootfs
            .diff_ids
            .iter()
            .map(String::as_str)
            .ne(diff_ids.iter().copied())
        {
            return Err(ImageError::BadInput(format!(
                "image config lists layers {:?} but the image has {:?}",
                config.rootfs.diff_ids, diff_ids
            )));
        }
        let id = self.store.blobs.put(new.config)?;
        let _guard = self.write_lock.lock().await;
        let mut record = self.store.meta.image(id.as_str())?.unwrap_or_else(|| {
            crate::store::records::ImageRecord {
                id: id.to_string(),
                config_size: new.config.len() as u64,
                manifest: None,
                layers: new.layers.iter().map(|l| l.chain_id.clone()).collect(),
                repo_digests: Vec::new(),
                created: config.created_unix(),
                size: new.layers.iter().map(|l| l.size).sum(),
                parent: new.parent.clone(),
                last_tag_time: 0,
            }
        });
        if new.manifest.is_some() {
            record.manifest = new.manifest.clone();
        }
        if let Some(d) = &new.repo_digest
            && !record.repo_digests.contains(d)
        {
            record.repo_digests.push(d.clone());
        }
        if !new.tags.is_empty() {
            record.last_tag_time = now_secs();
        }
        self.store.meta.write(|w| {
            w.put_image(&record)?;
            for tag in new.tags {
                w.set_tag(tag, &record.id)?;
            }
            Ok(())
        })?;
        Ok(record)
    }
}
