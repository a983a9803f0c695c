//! Turning an unpacked, staged layer into a shared layer record.

use super::error::ImageError;
use super::service::Images;
use crate::store::digest::Digest;
use crate::store::layer_dirs::StagedLayer;
use crate::store::records::{BlobRef, LayerRecord};
use crate::util::clock::now_secs;

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
