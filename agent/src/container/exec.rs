//! `docker exec`: extra processes in a running container, run by its supervisor.

use super::ContainerError;
use super::service::Containers;
use crate::runtime::client::ShimConn;
use crate::runtime::protocol::ExitStatus;
use crate::runtime::spec::ProcessSpec;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::net::UnixStream;

/// The body of `POST /containers/{id}/exec`.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecRequest {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub cmd: Vec<String>,
    pub env: Option<Vec<String>>,
    pub tty: bool,
    pub user: String,
    pub working_dir: String,
    pub privileged: bool,
    pub console_size: Option<[u16; 2]>,
    pub detach_keys: String,
}

#[derive(Clone, Debug, Default)]
pub struct ExecState {
    pub running: bool,
    pub exit_code: Option<i32>,
    pub pid: i32,
}

pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub request: ExecRequest,
    pub process: ProcessSpec,
    pub state: Mutex<ExecState>,
    pub started: std::sync::atomic::AtomicBool,
}

impl Exec {
    fn state(&self) -> ExecState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `GET /exec/{id}/json`.
    pub fn inspect(&self) -> Value {
        let state = self.state();
        let args: Vec<&String> = self.process.args.iter().skip(1).collect();
        json!({
            "ID": self.id,
            "Running": state.running,
            "ExitCode": state.exit_code,
            "ProcessConfig": {
                "tty": self.process.tty,
                "entrypoint": self.process.args.first(),
                "arguments": args,
                "privileged": self.request.privileged,
                "user": self.process.user,
            },
            "OpenStdin": self.request.attach_stdin,
            "OpenStderr": self.request.attach_stderr,
            "OpenStdout": self.request.attach_stdout,
            "CanRemove": false,
            "ContainerID": self.container_id,
            "DetachKeys": self.request.detach_keys,
            "Pid": state.pid,
        })
    }
}

impl Containers {
    /// `POST /containers/{id}/exec`.
    pub fn exec_create(
        &self,
        input: &str,
        request: ExecRequest,
    ) -> Result<Arc<Exec>, ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ContainerError::Conflict(format!(
                "container {} is not running",
                record.id
            )));
        }
        if record.state.status == super::record::Status::Paused {
            return Err(ContainerError::Conflict(format!(
                "container {} is paused, unpause the container before exec",
                record.id
            )));
        }
        if request.cmd.is_empty() {
            return Err(ContainerError::BadInput("No exec command specified".into()));
        }
        let config = record.config_typed();
        let mut host = record.host_config_typed();
        host.privileged |= request.privileged;
        let env = super::config::merge_env(
            config.env.as_deref().unwrap_or_default(),
            request.env.as_deref().unwrap_or_default(),
        );
        let process = ProcessSpec {
            args: request.cmd.clone(),
            env,
            cwd: if !request.working_dir.is_empty() {
                request.working_dir.clone()
            } else if !config.working_dir.is_empty() {
                config.working_dir.clone()
            } else {
                "/".into()
            },
            user: if request.user.is_empty() {
                config.user.clone()
            } else {
                request.user.clone()
            },
            additional_groups: host.group_add.clone().unwrap_or_default(),
            tty: request.tty,
            open_stdin: request.attach_stdin,
            stdin_once: true,
            console_size: request.console_size.filter(|s| s[0] > 0 && s[1] > 0),
            capabilities: super::runtime_spec::capabilities(&host)?,
            no_new_privileges: !host.privileged,
            rlimits: Vec::new(),
        };
        let id = crate::util::random::hex_secret(32)
            .map_err(|e| ContainerError::Runtime(format!("random: {e}")))?;
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: record.id.clone(),
            request,
            process,
            state: Mutex::new(ExecState::default()),
            started: std::sync::atomic::AtomicBool::new(false),
        });
        self.execs_table().insert(id, exec.clone());
        self.container_event(
            &record,
            &format!("exec_create: {}", exec.process.args.join(" ")),
            &[("execID", exec.id.clone())],
        );
        Ok(exec)
    }

    pub fn exec_find(&self, id: &str) -> Result<Arc<Exec>, ContainerError> {
        self.execs_table()
            .get(id)
            .cloned()
            .ok_or_else(|| ContainerError::NotFound(format!("exec instance {id}")))
    }

    /// `POST /exec/{id}/start`: the stream to the process; `finish` must be called when
    /// the stream has ended.
    pub async fn exec_start(&self, exec: &Arc<Exec>) -> Result<UnixStream, ContainerError> {
        if exec.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(ContainerError::Conflict(format!(
                "Error: Exec command {} has already run",
                exec.id
            )));
        }
        let container = self.find(&exec.container_id)?;
        let record = container.snapshot();
        let conn = ShimConn::connect(container.dir()).await.map_err(|e| {
            ContainerError::Conflict(format!("container {} is not running: {e}", record.id))
        })?;
        let (pid, stream) = conn
            .exec(
                &exec.id,
                exec.process.clone(),
                exec.request.attach_stdin,
                exec.request.attach_stdout,
                exec.request.attach_stderr,
            )
            .await
            .map_err(|e| ContainerError::Runtime(format!("exec: {e}")))?;
        *exec.state.lock().unwrap_or_else(|p| p.into_inner()) = ExecState {
            running: true,
            exit_code: None,
            pid,
        };
        self.container_event(
            &record,
            &format!("exec_start: {}", exec.process.args.join(" ")),
            &[("execID", exec.id.clone())],
        );
        Ok(stream)
    }

    /// Records the exec's exit once its stream has ended.
    pub fn exec_finish(&self, exec: &Exec) {
        let Ok(container) = self.find(&exec.container_id) else {
            return;
        };
        let path = container
            .dir()
            .join("exec")
            .join(format!("{}.json", exec.id));
        let status: Option<ExitStatus> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let code = status.map(|s| s.exit_code).unwrap_or(126);
        *exec.state.lock().unwrap_or_else(|p| p.into_inner()) = ExecState {
            running: false,
            exit_code: Some(code),
            pid: 0,
        };
        let _ = std::fs::remove_file(&path);
        self.container_event(
            &container.snapshot(),
            "exec_die",
            &[("execID", exec.id.clone()), ("exitCode", code.to_string())],
        );
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(
        &self,
        exec: &Exec,
        height: u16,
        width: u16,
    ) -> Result<(), ContainerError> {
        let container = self.find(&exec.container_id)?;
        let conn = ShimConn::connect(container.dir())
            .await
            .map_err(|e| ContainerError::Runtime(e.to_string()))?;
        conn.resize(Some(exec.id.clone()), height, width)
            .await
            .map_err(|e| ContainerError::Runtime(e.to_string()))?;
        Ok(())
    }
}
