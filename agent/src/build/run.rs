//! RUN: the command runs in a real container made by the container service (create,
//! start, its log streamed into the build output, wait), and what it changed becomes a
//! layer through the same commit path as `docker commit`.

use super::Builds;
use super::error::BuildError;
use super::output::Output;
use crate::container::ContainerError;
use crate::container::config::CreateRequest;
use crate::container::life::WaitCondition;
use crate::container::logs::{LogOptions, stream};
use crate::image::config::ImageConfig;
use crate::store::records::ImageRecord;
use serde_json::{Map, Value, json};

/// What one RUN executes.
pub struct RunStep<'a> {
    pub parent: &'a ImageRecord,
    /// The full command (shell form already wrapped in the SHELL).
    pub cmd: Vec<String>,
    /// The stage's ENV plus the build args in effect.
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    /// The image config to commit (the stage's, for the new image).
    pub config: ImageConfig,
    pub created_by: String,
    pub author: Option<String>,
}

/// How RUN containers are made and kept.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `networkmode` (Docker's default: the default bridge).
    pub network_mode: String,
    /// Resource limits for the containers (`memory`, `cpushares`, … of the request), as
    /// HostConfig keys.
    pub host_config: Map<String, Value>,
    /// `rm` (on by default): remove each container after its step.
    pub remove: bool,
    /// `forcerm`: remove it even when the step fails.
    pub force_remove: bool,
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

impl Builds {
    /// Runs one RUN and commits its changes.
    pub(super) async fn run_step(
        &self,
        step: RunStep<'_>,
        options: &RunOptions,
        out: &Output,
    ) -> Result<ImageRecord, BuildError> {
        let mut host = options.host_config.clone();
        host.insert(
            "NetworkMode".into(),
            json!(if options.network_mode.is_empty() {
                "default"
            } else {
                options.network_mode.as_str()
            }),
        );
        let body = json!({
            "Image": step.parent.id,
            "Cmd": step.cmd,
            "Entrypoint": [""],
            "Env": step.env,
            "WorkingDir": step.working_dir,
            "User": step.user,
            "AttachStdout": true,
            "AttachStderr": true,
            "HostConfig": host,
        });
        let request = CreateRequest::parse(body.to_string().as_bytes())?;
        let record = self.containers.create(request, None).await?;
        let id = record.id.clone();
        out.arrow(&format!("Running in {}", short(&id)));
        let ran = self.run_container(&id, &step, out).await;
        let committed = match ran {
            Ok(()) => self
                .containers
                .commit_build_step(&id, step.parent, step.config, step.created_by, step.author)
                .await
                .map_err(BuildError::from),
            Err(e) => Err(e),
        };
        // Docker keeps a failed step's container unless `forcerm`; Berth removes it with
        // `rm` too, so a failed build leaves nothing behind (`--rm=false` keeps them all).
        if options.remove || options.force_remove {
            match self.containers.remove(&id, true, true).await {
                Ok(()) => out.arrow(&format!("Removed intermediate container {}", short(&id))),
                Err(ContainerError::NotFound(_)) => {}
                Err(e) => out.text(format!(
                    "Removing intermediate container {}: {e}\n",
                    short(&id)
                )),
            }
        }
        committed
    }

    /// Starts the container, streams its output and waits for its exit.
    async fn run_container(
        &self,
        id: &str,
        step: &RunStep<'_>,
        out: &Output,
    ) -> Result<(), BuildError> {
        let container = self.containers.find(id)?;
        // Subscribed before the start, so the exit cannot be missed.
        let life = container.life();
        let waiter = self.containers.waiter(id, WaitCondition::NotRunning)?;
        self.containers.start(id).await?;
        let options = LogOptions {
            stdout: true,
            stderr: true,
            follow: true,
            tty: true,
            ..LogOptions::default()
        };
        let mut chunks = stream(self.containers.log_path(&container), options, life);
        loop {
            let chunk = tokio::select! {
                chunk = chunks.recv() => chunk,
                // The client may go away while a long RUN prints nothing.
                _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                    if let Err(e) = out.check_cancelled() {
                        let _ = self.containers.kill(id, Some("KILL")).await;
                        return Err(e);
                    }
                    continue;
                }
            };
            match chunk {
                Some(Ok(bytes)) => out.text(String::from_utf8_lossy(&bytes).into_owned()),
                Some(Err(e)) => {
                    tracing::warn!("build step {id}: reading its output: {e}");
                    break;
                }
                None => break,
            }
        }
        let (code, error) = waiter.await;
        if code != 0 {
            let mut message = format!(
                "The command '{}' returned a non-zero code: {code}",
                step.cmd.join(" ")
            );
            if let Some(e) = error.filter(|e| !e.is_empty()) {
                message.push_str(&format!(": {e}"));
            }
            return Err(BuildError {
                message,
                code,
                status: super::error::Status::BadRequest,
            });
        }
        Ok(())
    }
}
