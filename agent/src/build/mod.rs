//! Building images from a Dockerfile with the legacy builder's semantics (DESIGN §7).
//!
//! - [`dockerfile`]: the language (parser, variable expansion);
//! - [`context`], [`ignore`], [`pattern`]: the tar context, read once and indexed;
//! - [`builder`]: stages and steps (`builder/stage.rs`: what each instruction does,
//!   `builder/layer.rs`: the steps that write files), [`cache`]: the step cache, [`args`]:
//!   build arguments,
//!   [`runconfig`]: the image defaults a step changes;
//! - [`run`]: RUN in a container, [`copy`]: COPY/ADD, [`snapshot`]: the root filesystem
//!   COPY/ADD/WORKDIR write into, [`chown`]: `--chown`/`--chmod`;
//! - [`output`], [`error`]: what the client sees.
//!
//! It knows nothing of HTTP: `api/build.rs` reads the request and streams the output.

pub mod args;
pub mod builder;
pub mod cache;
pub mod chown;
pub mod context;
pub mod copy;
pub mod dockerfile;
pub mod error;
pub mod ignore;
pub mod output;
pub mod pattern;
pub mod run;
pub mod runconfig;
pub mod snapshot;

pub use builder::{BuildOptions, Prepared};
pub use error::BuildError;

use crate::container::Containers;
use crate::image::Images;
use crate::image::reference::Reference;
use crate::layer::snapshot::Driver;
use crate::registry::{Credentials, RegistryClient, credentials_from_header};
use crate::store::records::ImageRecord;
use context::{Context, ContextLimits};
use dockerfile::{Dockerfile, MAX_DOCKERFILE};
use ignore::Ignore;
use output::Output;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The build service the API calls.
pub struct Builds {
    images: Arc<Images>,
    containers: Arc<Containers>,
    registry: RegistryClient,
    driver: Driver,
    /// `<data root>/build`.
    root: PathBuf,
}

/// The most bytes of `.dockerignore` read.
const MAX_IGNORE: u64 = 1 << 20;

impl Builds {
    /// The service over the data root; snapshots a killed agent left behind are removed.
    pub fn open(
        data_root: &Path,
        images: Arc<Images>,
        containers: Arc<Containers>,
        registry: RegistryClient,
    ) -> Arc<Builds> {
        let driver = *containers.driver();
        let builds = Builds {
            images,
            containers,
            registry,
            driver,
            root: data_root.join("build"),
        };
        snapshot::clean_leftovers(&builds.work_dir(), driver);
        Arc::new(builds)
    }

    fn work_dir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// Reads a context tar (blocking): its data spooled in an unlinked file.
    pub fn read_context(&self, body: impl Read) -> Result<Context, BuildError> {
        context::read(body, &self.root.join("spool"), ContextLimits::default())
            .map_err(|e| BuildError::bad(e.to_string()))
    }

    /// Finds and parses the Dockerfile, applies `.dockerignore`, checks the target.
    pub fn prepare(
        &self,
        mut context: Context,
        options: BuildOptions,
    ) -> Result<Prepared, BuildError> {
        let name = if options.dockerfile.is_empty() {
            "Dockerfile"
        } else {
            options.dockerfile.as_str()
        };
        let read = |path: &str| {
            context
                .read_small(path, MAX_DOCKERFILE as u64)
                .map_err(BuildError::bad)
        };
        let mut bytes = read(name)?;
        if bytes.is_none() && name == "Dockerfile" {
            bytes = read("dockerfile")?;
        }
        let bytes = bytes.ok_or_else(|| {
            BuildError::bad(format!("Cannot locate specified Dockerfile: {name}"))
        })?;
        let dockerfile = Dockerfile::parse(&bytes)?;
        if let Some(text) = context
            .read_small(".dockerignore", MAX_IGNORE)
            .map_err(BuildError::bad)?
        {
            let ignore = Ignore::parse(&String::from_utf8_lossy(&text))
                .map_err(|e| BuildError::bad(format!(".dockerignore: {e}")))?;
            context.apply_ignore(&ignore);
        }
        let stages = match options.target.as_deref().filter(|t| !t.is_empty()) {
            Some(target) => {
                dockerfile.stage_index(target).ok_or_else(|| {
                    BuildError::bad(format!("target stage \"{target}\" could not be found"))
                })? + 1
            }
            None => dockerfile.stages.len(),
        };
        Ok(Prepared {
            context: Arc::new(context),
            dockerfile,
            stages,
            options,
        })
    }

    /// Runs a prepared build, its output in `out`; tags the result. On error the message
    /// is also in `out`.
    pub async fn build(&self, prepared: Prepared, out: Output) -> Result<ImageRecord, BuildError> {
        let result = builder::Run::new(self, &prepared, out.clone())
            .build()
            .await;
        let image = match result {
            Ok(image) => image,
            Err(e) => {
                out.error(&e);
                return Err(e);
            }
        };
        out.text(format!(
            "Successfully built {}\n",
            crate::image::service::short_id(&image.id)
        ));
        for tag in &prepared.options.tags {
            let reference = Reference::parse(tag).map_err(|e| BuildError::bad(e.to_string()))?;
            if let Err(e) = self.images.tag(&image.id, &reference).await {
                let e = BuildError::from(e);
                out.error(&e);
                return Err(e);
            }
            out.text(format!(
                "Successfully tagged {}\n",
                crate::image::reference::familiar(tag)
            ));
        }
        Ok(image)
    }

    /// The empty image `FROM scratch` starts from (content-addressed: always the same).
    async fn scratch_image(&self) -> Result<ImageRecord, BuildError> {
        Ok(self.images.empty_image().await?)
    }

    /// Pulls a base image, its progress in the output.
    async fn pull(
        &self,
        reference: Reference,
        auth: &serde_json::Map<String, serde_json::Value>,
        out: &Output,
    ) -> Result<ImageRecord, BuildError> {
        let shown = reference.familiar_name();
        let credentials = credentials_for(&reference.domain, auth)?;
        let denied = |e: crate::image::ImageError| match e {
            crate::image::ImageError::Registry {
                status: 401 | 403 | 404,
                message,
            } => BuildError::bad(format!(
                "pull access denied for {shown}, repository does not exist or may require 'docker login': {message}"
            )),
            other => BuildError::from(other).context(&format!("pulling {shown}")),
        };
        let prepared = self
            .images
            .prepare_pull(&self.registry, reference, credentials)
            .await
            .map_err(denied)?;
        self.images
            .run_pull(&self.registry, prepared, out.sink())
            .await
            .map_err(denied)
    }

    /// `POST /build/prune`.
    pub fn prune(&self) -> Result<Vec<String>, BuildError> {
        cache::prune(&self.images)
    }
}

/// The credentials `X-Registry-Config` holds for `domain` (the CLI keys Docker Hub as
/// `https://index.docker.io/v1/`).
fn credentials_for(
    domain: &str,
    auth: &serde_json::Map<String, serde_json::Value>,
) -> Result<Credentials, BuildError> {
    let hub = domain == "docker.io";
    let entry = auth.iter().find(|(key, _)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .trim_end_matches("/v2");
        host == domain || (hub && (host == "index.docker.io" || host == "registry-1.docker.io"))
    });
    let Some((_, config)) = entry else {
        return Ok(Credentials::Anonymous);
    };
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(config.to_string());
    credentials_from_header(&encoded)
        .map_err(|e| BuildError::bad(format!("invalid X-Registry-Config: {e}")))
}
