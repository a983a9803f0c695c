//! The steps that write files (COPY, ADD, WORKDIR): the work runs on a snapshot of the
//! parent image (and, for `COPY --from`, a second one of the source image), then the
//! snapshot's changes are committed by the same layer-diff and commit code as
//! `docker commit`.

use super::super::Builds;
use super::super::error::BuildError;
use super::super::snapshot::{Scratch, lowers};
use crate::image::commit::CommitRequest;
use crate::image::config::ImageConfig;
use crate::store::records::ImageRecord;
use std::sync::Arc;

impl Builds {
    /// A step that writes files (COPY, ADD, WORKDIR): `work` runs on a snapshot of
    /// `parent`, then the snapshot's changes are committed.
    pub(super) async fn layer_step(
        &self,
        parent: &ImageRecord,
        work: impl FnOnce(&std::path::Path) -> Result<(), BuildError> + Send + 'static,
        config: ImageConfig,
        created_by: String,
        author: Option<String>,
    ) -> Result<ImageRecord, BuildError> {
        self.layer_step_from(
            parent,
            parent,
            move |root: &std::path::Path, _: &std::path::Path| work(root),
            config,
            created_by,
            author,
        )
        .await
    }

    /// [`layer_step`](Self::layer_step) with a second image (`COPY --from`) mounted to
    /// read from.
    pub(super) async fn layer_step_from(
        &self,
        parent: &ImageRecord,
        source: &ImageRecord,
        work: impl FnOnce(&std::path::Path, &std::path::Path) -> Result<(), BuildError> + Send + 'static,
        config: ImageConfig,
        created_by: String,
        author: Option<String>,
    ) -> Result<ImageRecord, BuildError> {
        let work_root = self.work_dir();
        let driver = self.driver;
        let parent_lowers = lowers(&self.images, parent).map_err(BuildError::internal)?;
        let source_lowers = if source.id == parent.id {
            None
        } else {
            Some(lowers(&self.images, source).map_err(BuildError::internal)?)
        };
        let scratch = tokio::task::spawn_blocking(move || -> Result<Scratch, BuildError> {
            let (scratch, root) =
                Scratch::mount(&work_root, driver, parent_lowers).map_err(BuildError::internal)?;
            match source_lowers {
                None => work(&root, &root)?,
                Some(lowers) => {
                    let (source, source_root) =
                        Scratch::mount(&work_root, driver, lowers).map_err(BuildError::internal)?;
                    let done = work(&root, &source_root);
                    drop(source);
                    done?;
                }
            }
            Ok(scratch)
        })
        .await
        .map_err(|e| BuildError::internal(format!("build step task: {e}")))??;
        let scratch = Arc::new(scratch);
        let (reader, writer) =
            std::io::pipe().map_err(|e| BuildError::internal(format!("pipe: {e}")))?;
        let producer = {
            let scratch = scratch.clone();
            tokio::task::spawn_blocking(move || scratch.write_layer(writer))
        };
        let image = self
            .images
            .commit(CommitRequest {
                parent,
                layer_tar: Box::new(reader),
                config,
                author,
                comment: None,
                created_by,
                tags: &[],
                empty_layer_if_unchanged: true,
            })
            .await;
        let produced = producer
            .await
            .map_err(|e| BuildError::internal(format!("layer task: {e}")))?;
        // Unmounting and deleting the snapshot is disk work: not on an async worker.
        let _ = tokio::task::spawn_blocking(move || drop(scratch)).await;
        produced.map_err(|e| BuildError::internal(format!("writing the layer: {e}")))?;
        Ok(image?)
    }
}
