//! `docker push`: each layer blob is checked with HEAD first and uploaded only when the
//! registry lacks it — mounted from another repository of the same registry when one
//! of our images came from there — then the config and the manifest.

use super::archive::oci::manifest_for;
use super::error::ImageError;
use super::progress::{ProgressSink, detail, status};
use super::reference::{Reference, familiar};
use super::service::{Images, short_id};
use crate::registry::{BlobSource, Credentials, RegistryClient, Repository};
use crate::store::digest::Digest;
use crate::store::records::{BlobRef, ImageRecord};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Images {
    /// Pushes the image tagged `reference` (which must carry a tag).
    pub async fn push(
        self: &Arc<Self>,
        registry: &RegistryClient,
        reference: &Reference,
        credentials: &Credentials,
        progress: ProgressSink,
    ) -> Result<ImageRecord, ImageError> {
        let tag = reference
            .tag
            .clone()
            .ok_or_else(|| ImageError::BadInput("push needs a tag".into()))?;
        let tagged = reference.tagged_name().unwrap_or_default();
        let image = self.resolve(&tagged)?;
        let repo = Repository::new(reference.domain.clone(), reference.path.clone());
        status(
            &progress,
            None,
            &format!(
                "The push refers to repository [{}]",
                reference.familiar_name()
            ),
        );
        let blobs = self.layer_blobs(&image)?;
        for blob in blobs.iter().rev() {
            status(&progress, Some(short_id(&blob.digest)), "Preparing");
        }
        for blob in &blobs {
            self.push_blob(registry, &repo, blob, credentials, &progress)
                .await?;
        }
        let config = BlobRef {
            digest: image.id.clone(),
            size: image.config_size,
            media_type: super::archive::oci::OCI_CONFIG.to_string(),
        };
        if registry
            .blob_size(&repo, &config.digest, credentials)
            .await?
            .is_none()
        {
            let path = self.store.blobs.path(&parse(&config.digest)?);
            registry
                .push_blob(
                    &repo,
                    &config.digest,
                    BlobSource::File(path),
                    |_| {},
                    credentials,
                )
                .await?;
        }
        // The manifest it was pulled with, when it still describes these blobs; otherwise
        // a fresh OCI manifest.
        let (media_type, bytes) = match &image.manifest {
            Some(m) => (
                m.media_type.clone(),
                self.store.blobs.read(&parse(&m.digest)?)?,
            ),
            None => (
                super::archive::oci::OCI_MANIFEST.to_string(),
                manifest_for(&image, &blobs),
            ),
        };
        let digest = registry
            .put_manifest(&repo, &tag, &media_type, &bytes, credentials)
            .await?;
        let stored = self.store.blobs.put(&bytes)?;
        status(
            &progress,
            None,
            &format!("{tag}: digest: {digest} size: {}", bytes.len()),
        );
        progress(json!({
            "progressDetail": {},
            "aux": { "Tag": tag, "Digest": digest, "Size": bytes.len() },
        }));
        let repo_digest = format!("{}@{digest}", reference.name());
        let _guard = self.write_lock.lock().await;
        let mut updated = self.store.meta.image(&image.id)?.unwrap_or(image);
        if !updated.repo_digests.contains(&repo_digest) {
            updated.repo_digests.push(repo_digest);
        }
        if updated.manifest.is_none() {
            updated.manifest = Some(BlobRef {
                digest: stored.to_string(),
                size: bytes.len() as u64,
                media_type,
            });
        }
        self.store.meta.write(|w| w.put_image(&updated))?;
        self.events.publish(
            "image",
            "push",
            &familiar(&tagged),
            BTreeMap::from([("name".to_string(), reference.familiar_name())]),
        );
        Ok(updated)
    }

    async fn push_blob(
        &self,
        registry: &RegistryClient,
        repo: &Repository,
        blob: &BlobRef,
        credentials: &Credentials,
        progress: &ProgressSink,
    ) -> Result<(), ImageError> {
        let id = short_id(&blob.digest).to_string();
        if registry
            .blob_size(repo, &blob.digest, credentials)
            .await?
            .is_some()
        {
            status(progress, Some(&id), "Layer already exists");
            return Ok(());
        }
        for from in self.mount_sources(repo, &blob.digest)? {
            if registry
                .mount_blob(repo, &blob.digest, &from, credentials)
                .await?
            {
                status(progress, Some(&id), &format!("Mounted from {from}"));
                return Ok(());
            }
        }
        let path = self.store.blobs.path(&parse(&blob.digest)?);
        let total = blob.size;
        let mut last = Instant::now()
            .checked_sub(PROGRESS_EVERY)
            .unwrap_or_else(Instant::now);
        let sink = progress.clone();
        let report_id = id.clone();
        registry
            .push_blob(
                repo,
                &blob.digest,
                BlobSource::File(path),
                move |sent| {
                    if last.elapsed() >= PROGRESS_EVERY {
                        last = Instant::now();
                        detail(&sink, &report_id, "Pushing", sent, Some(total));
                    }
                },
                credentials,
            )
            .await?;
        status(progress, Some(&id), "Pushed");
        Ok(())
    }

    /// Other repositories of the same registry that hold `blob`, as far as we know.
    fn mount_sources(&self, repo: &Repository, blob: &str) -> Result<Vec<String>, ImageError> {
        let mut sources = Vec::new();
        for image in self.store.meta.images()? {
            let has_blob = image.layers.iter().any(|chain| {
                self.store
                    .meta
                    .layer(chain)
                    .ok()
                    .flatten()
                    .and_then(|l| l.blob)
                    .is_some_and(|b| b.digest == blob)
            });
            if !has_blob {
                continue;
            }
            for repo_digest in &image.repo_digests {
                let Some((name, _)) = repo_digest.split_once('@') else {
                    continue;
                };
                let Ok(other) = Reference::parse_bare(name) else {
                    continue;
                };
                if other.domain == repo.registry
                    && other.path != repo.path
                    && !sources.contains(&other.path)
                {
                    sources.push(other.path);
                }
            }
        }
        Ok(sources)
    }
}

fn parse(digest: &str) -> Result<Digest, ImageError> {
    Digest::parse(digest).map_err(|e| ImageError::BadInput(e.to_string()))
}
