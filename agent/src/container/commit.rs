//! `docker diff`, `docker commit` and `docker export`: what a container changed, made into
//! a layer of a new image, or its whole filesystem as a tar.

use super::ContainerError;
use super::record::Status;
use super::service::{Container, Containers};
use crate::image::commit::{CommitRequest, apply_changes};
use crate::image::reference::Reference;
use crate::layer::diff::{Change, changes, write_layer_tar};
use crate::store::records::ImageRecord;
use serde_json::{Map, Value};
use std::io::Read;
use std::sync::Arc;

/// Keys of a container's Config that an image config keeps.
const IMAGE_CONFIG_KEYS: &[&str] = &[
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "OnBuild",
    "Labels",
    "StopSignal",
];

/// Options of `POST /commit`.
pub struct CommitOptions {
    pub repo: Option<String>,
    pub tag: Option<String>,
    pub author: Option<String>,
    pub comment: Option<String>,
    pub changes: Vec<String>,
    pub pause: bool,
}

/// Freezes a running container for the lifetime of the guard (unless it was paused).
struct Frozen<'a> {
    service: &'a Containers,
    id: String,
    thaw: bool,
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        if self.thaw
            && let Some(c) = self.service.cgroups().open(&self.id)
        {
            let _ = c.thaw();
        }
    }
}

impl Containers {
    fn freeze_while<'a>(
        &'a self,
        container: &Container,
        wanted: bool,
    ) -> Result<Frozen<'a>, ContainerError> {
        let record = container.snapshot();
        let mut guard = Frozen {
            service: self,
            id: record.id.clone(),
            thaw: false,
        };
        if wanted && record.state.status == Status::Running {
            let cgroup = self
                .cgroups()
                .open(&record.id)
                .ok_or_else(|| ContainerError::Runtime(format!("no cgroup for {}", record.id)))?;
            cgroup
                .freeze()
                .map_err(|e| ContainerError::Runtime(format!("pausing for commit: {e}")))?;
            guard.thaw = true;
        }
        Ok(guard)
    }

    /// Freezes a running container while its files are copied.
    pub(super) fn freeze_for_copy<'a>(
        &'a self,
        container: &Container,
    ) -> Result<impl Drop + 'a, ContainerError> {
        self.freeze_while(container, true)
    }

    /// `GET /containers/{id}/changes`.
    pub async fn changes(&self, input: &str) -> Result<Vec<Change>, ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        let lowers = self.container_lowers(&record.image_id, container.dir())?;
        let driver = *self.driver();
        let dir = container.dir().to_path_buf();
        tokio::task::spawn_blocking(move || changes(driver, &dir, &lowers))
            .await
            .map_err(|e| ContainerError::Runtime(format!("diff task: {e}")))?
            .map_err(|e| ContainerError::Runtime(format!("diff: {e}")))
    }

    /// `POST /commit?container=`: the container's changes as a new layer over its image.
    pub async fn commit(
        &self,
        input: &str,
        options: CommitOptions,
    ) -> Result<ImageRecord, ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        let parent = self.images().resolve(&record.image_id)?;
        let mut config = self.images().config(&parent)?;
        let mut container_config: Map<String, Value> = record
            .config
            .iter()
            .filter(|(k, _)| IMAGE_CONFIG_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Docker keeps the image's Hostname out of derived images' identity; the
        // container's generated one is not meaningful to an image.
        container_config.insert("Hostname".into(), Value::String(String::new()));
        let mut new_config = Value::Object(container_config);
        apply_changes(&mut new_config, &options.changes)?;
        config.config = new_config;
        let tags = match &options.repo {
            Some(repo) if !repo.is_empty() => {
                let text = match &options.tag {
                    Some(tag) if !tag.is_empty() => format!("{repo}:{tag}"),
                    _ => repo.clone(),
                };
                let reference =
                    Reference::parse(&text).map_err(|e| ContainerError::BadInput(e.to_string()))?;
                reference.tagged_name().into_iter().collect()
            }
            _ => Vec::new(),
        };
        let frozen = self.freeze_while(&container, options.pause)?;
        let image = self
            .commit_changes(
                &container,
                CommitRequest {
                    parent: &parent,
                    layer_tar: Box::new(std::io::empty()),
                    config,
                    author: options.author.clone(),
                    comment: options.comment.clone(),
                    created_by: record.argv.join(" "),
                    tags: &tags,
                    empty_layer_if_unchanged: false,
                },
            )
            .await;
        drop(frozen);
        let image = image?;
        let mut extra = vec![("comment", options.comment.unwrap_or_default())];
        if let Some(author) = options.author {
            extra.push(("author", author));
        }
        self.container_event(&record, "commit", &extra);
        Ok(image)
    }

    /// The container's changes (its layer tar, written on a blocking thread while it is
    /// read) committed as `request` says; `request.layer_tar` is replaced by them.
    async fn commit_changes(
        &self,
        container: &Container,
        mut request: CommitRequest<'_>,
    ) -> Result<ImageRecord, ContainerError> {
        let record = container.snapshot();
        let lowers = self.container_lowers(&record.image_id, container.dir())?;
        let (reader, writer) =
            std::io::pipe().map_err(|e| ContainerError::Runtime(format!("pipe: {e}")))?;
        let driver = *self.driver();
        let dir = container.dir().to_path_buf();
        let producer = tokio::task::spawn_blocking(move || {
            let mut writer = writer;
            write_layer_tar(driver, &dir, &lowers, &mut writer)
        });
        request.layer_tar = Box::new(reader) as Box<dyn Read + Send>;
        let image = self.images().commit(request).await;
        let produced = producer
            .await
            .map_err(|e| ContainerError::Runtime(format!("commit task: {e}")))?;
        produced.map_err(|e| ContainerError::Runtime(format!("writing the layer: {e}")))?;
        Ok(image?)
    }

    /// A build step's commit (RUN): the stopped container's changes over `parent`, with the
    /// build's own config and history line; no change means no layer, only an
    /// `empty_layer` history entry. Emits no event (Docker's build steps do not).
    pub async fn commit_build_step(
        &self,
        input: &str,
        parent: &ImageRecord,
        config: crate::image::config::ImageConfig,
        created_by: String,
        author: Option<String>,
    ) -> Result<ImageRecord, ContainerError> {
        let container = self.find(input)?;
        self.commit_changes(
            &container,
            CommitRequest {
                parent,
                layer_tar: Box::new(std::io::empty()),
                config,
                author,
                comment: None,
                created_by,
                tags: &[],
                empty_layer_if_unchanged: true,
            },
        )
        .await
    }

    /// `GET /containers/{id}/export`: the merged filesystem as a tar, streamed into
    /// `out`. A running container is frozen meanwhile (so it cannot swap a directory for
    /// a symlink under the walk: CVE-2018-15664); a stopped one is mounted for it.
    pub async fn export(
        self: &Arc<Self>,
        input: &str,
        out: impl std::io::Write + Send + 'static,
    ) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        let lowers = self.container_lowers(&record.image_id, container.dir())?;
        let dir = container.dir().to_path_buf();
        let live = record.state.status.is_live();
        let rootfs = self
            .driver()
            .mount(&dir, &lowers)
            .map_err(|e| ContainerError::Runtime(format!("mounting the rootfs: {e}")))?;
        let frozen = self.freeze_while(&container, true)?;
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut builder = tar::Builder::new(out);
            builder.follow_symlinks(false);
            builder.mode(tar::HeaderMode::Complete);
            builder.append_dir_all("", &rootfs)?;
            builder.into_inner()?.flush()
        })
        .await
        .map_err(|e| ContainerError::Runtime(format!("export task: {e}")))?;
        drop(frozen);
        if !live && !container.snapshot().state.status.is_live() {
            let _ = self.driver().unmount(&dir);
        }
        written.map_err(|e| ContainerError::Runtime(format!("export: {e}")))
    }
}
