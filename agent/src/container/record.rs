//! What Berth keeps about a container: `containers/<id>/container.json`, rewritten
//! atomically on every change (the directory is the source of truth; live restore reads it;
//! [`super::record_file`] writes it).

use super::ContainerError;
use super::record_file::RECORD_FILE;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// A supervisor and a process exist.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` until it happens, as Docker prints.
    pub started_at: String,
    pub finished_at: String,
    pub oom_killed: bool,
}

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.to_string(),
            finished_at: ZERO_TIME.to_string(),
            oom_killed: false,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// `sha256:…` of the image it was created from.
    pub image_id: String,
    /// The image as the user named it (`busybox`), shown by `ps`.
    pub image_name: String,
    /// Docker's `Config`, with the image's defaults merged in (as inspect shows it).
    pub config: Map<String, Value>,
    pub host_config: Map<String, Value>,
    pub networking: Value,
    /// The argv: `Path` is the first word.
    pub argv: Vec<String>,
    pub state: State,
    pub restart_count: u32,
    /// Set by `docker stop`/`kill` so `unless-stopped` and the restart manager leave it be.
    pub stopped_by_user: bool,
    /// Storage driver the rootfs was made with (`overlay2`, `vfs`).
    pub driver: String,
    /// Its network namespace, interfaces and published ports while it runs.
    #[serde(default, skip_serializing_if = "crate::network::Sandbox::is_empty")]
    pub sandbox: crate::network::Sandbox,
}

impl ContainerRecord {
    pub fn load(dir: &Path) -> Result<Self, ContainerError> {
        let path = dir.join(RECORD_FILE);
        let bytes = std::fs::read(&path).map_err(|e| ContainerError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ContainerError::Runtime(format!("{}: invalid record: {e}", path.display()))
        })
    }

    /// The record as its file holds it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ContainerError> {
        serde_json::to_vec(self).map_err(|e| ContainerError::Runtime(format!("encode record: {e}")))
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    pub fn tty(&self) -> bool {
        self.config.get("Tty").and_then(Value::as_bool) == Some(true)
    }

    pub fn labels(&self) -> Map<String, Value> {
        self.config
            .get("Labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn host_config_typed(&self) -> super::config::HostConfig {
        serde_json::from_value(Value::Object(self.host_config.clone())).unwrap_or_default()
    }

    pub fn config_typed(&self) -> super::config::ContainerConfig {
        serde_json::from_value(Value::Object(self.config.clone())).unwrap_or_default()
    }
}
