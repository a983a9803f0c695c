//! The agent's side of the supervisor: spawning `berth shim` and speaking its socket
//! protocol ([`super::protocol`]) with tokio. The agent never forks from its async
//! threads: the spawn runs on a blocking thread and the supervisor does the forking.

use super::bundle::BundleDir;
use super::protocol::{EXIT_FILE, ExitStatus, Reply, Request};
use super::spec::ProcessSpec;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// No supervisor listens for this container (it exited, or never ran).
    #[error("the container's supervisor is gone")]
    Gone,
    /// The supervisor answered with an error; `exit_code` as Docker reports it.
    #[error("{message}")]
    Failed { message: String, exit_code: i32 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("unexpected reply from the supervisor: {0}")]
    Protocol(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ShimError {
    let context = context.into();
    move |source| ShimError::Io { context, source }
}

/// Runs `berth shim --bundle <bundle>`, which creates the container's main process
/// (stopped before exec) and daemonises. Returns the main process's host PID.
pub async fn spawn(berth_exe: &Path, bundle: &Path) -> Result<i32, ShimError> {
    let exe = berth_exe.to_path_buf();
    let bundle = bundle.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&exe)
            .arg("shim")
            .arg("--bundle")
            .arg(&bundle)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
    })
    .await
    .map_err(|e| ShimError::Io {
        context: "spawn berth shim".into(),
        source: io::Error::other(e),
    })?
    .map_err(io_err("spawn berth shim"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match serde_json::from_str::<Reply>(text.trim()) {
        Ok(Reply::Started { pid }) => Ok(pid),
        Ok(reply) => Err(failed(reply)),
        Err(_) => Err(ShimError::Protocol(format!(
            "berth shim exited with {} and printed {text:?}",
            output.status
        ))),
    }
}

fn failed(reply: Reply) -> ShimError {
    match reply {
        Reply::Error { message, exit_code } => ShimError::Failed { message, exit_code },
        other => ShimError::Protocol(format!("{other:?}")),
    }
}

/// The exit status the supervisor recorded, when it is gone (live restore).
pub fn read_exit(bundle: &Path) -> Option<ExitStatus> {
    let bytes = std::fs::read(bundle.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Where to reach one container's supervisor. Each request is its own connection.
#[derive(Debug, Clone)]
pub struct ShimConn {
    bundle: PathBuf,
}

impl ShimConn {
    /// Checks the supervisor is there (a connection succeeds) and keeps its address.
    pub async fn connect(bundle: &Path) -> Result<ShimConn, ShimError> {
        let conn = ShimConn {
            bundle: bundle.to_path_buf(),
        };
        drop(conn.open().await?);
        Ok(conn)
    }

    async fn open(&self) -> Result<UnixStream, ShimError> {
        let dir = BundleDir::open(&self.bundle).map_err(|_| ShimError::Gone)?;
        match UnixStream::connect(dir.socket_path()).await {
            Ok(s) => Ok(s),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT) | Some(libc::ECONNREFUSED)
                ) =>
            {
                Err(ShimError::Gone)
            }
            Err(e) => Err(io_err("connect to the supervisor")(e)),
        }
    }

    /// Sends `req`, reads the first reply line; returns it with the stream positioned
    /// just after it (nothing more is buffered: replies are read byte by byte).
    async fn call(&self, req: &Request) -> Result<(Reply, UnixStream), ShimError> {
        let mut stream = self.open().await?;
        let mut line = serde_json::to_vec(req).map_err(|e| ShimError::Protocol(e.to_string()))?;
        line.push(b'\n');
        stream
            .write_all(&line)
            .await
            .map_err(io_err("write to the supervisor"))?;
        let reply = read_line(&mut stream).await?;
        Ok((reply, stream))
    }

    async fn simple(&self, req: &Request) -> Result<Reply, ShimError> {
        Ok(self.call(req).await?.0)
    }

    /// Releases the main process; `Started{pid}` once it exec'd, or `Error` (126/127/125).
    pub async fn start(&self) -> Result<Reply, ShimError> {
        self.simple(&Request::Start).await
    }

    /// The raw attach stream, after the `Ok` line.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream, ShimError> {
        match self
            .call(&Request::Attach {
                stdin,
                stdout,
                stderr,
            })
            .await?
        {
            (Reply::Ok, s) => Ok(s),
            (r, _) => Err(failed(r)),
        }
    }

    /// Waits for the main process to exit.
    pub async fn wait(&self) -> Result<ExitStatus, ShimError> {
        match self.simple(&Request::Wait).await {
            Ok(Reply::Exited(st)) => Ok(st),
            Ok(r) => Err(failed(r)),
            // The supervisor exits right after answering; a late caller reads the file.
            Err(ShimError::Gone) => read_exit(&self.bundle).ok_or(ShimError::Gone),
            Err(e) => Err(e),
        }
    }

    pub async fn resize(
        &self,
        exec: Option<String>,
        height: u16,
        width: u16,
    ) -> Result<(), ShimError> {
        ok(self
            .simple(&Request::Resize {
                exec,
                height,
                width,
            })
            .await?)
    }

    pub async fn kill(&self, signal: i32, all: bool) -> Result<(), ShimError> {
        ok(self.simple(&Request::Kill { signal, all }).await?)
    }

    /// `(pid, running)` of the main process.
    pub async fn state(&self) -> Result<(i32, bool), ShimError> {
        match self.simple(&Request::State).await? {
            Reply::State { pid, running } => Ok((pid, running)),
            r => Err(failed(r)),
        }
    }

    /// Starts an exec; returns its host PID and the attach-like stream of its stdio.
    pub async fn exec(
        &self,
        id: &str,
        process: ProcessSpec,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(i32, UnixStream), ShimError> {
        let req = Request::Exec {
            id: id.to_string(),
            process,
            stdin,
            stdout,
            stderr,
        };
        match self.call(&req).await? {
            (Reply::Started { pid }, s) => Ok((pid, s)),
            (r, _) => Err(failed(r)),
        }
    }
}

fn ok(reply: Reply) -> Result<(), ShimError> {
    match reply {
        Reply::Ok => Ok(()),
        r => Err(failed(r)),
    }
}

/// One reply line, read without buffering past it.
async fn read_line(stream: &mut UnixStream) -> Result<Reply, ShimError> {
    let mut reader = BufReader::with_capacity(1, stream);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .await
        .map_err(io_err("read from the supervisor"))?;
    if line.is_empty() {
        return Err(ShimError::Gone);
    }
    serde_json::from_slice(&line)
        .map_err(|e| ShimError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&line))))
}
