//! The agent's side of a supervisor's socket protocol ([`super::protocol`]), with tokio
//! (supervisors are started by [`super::spawner`]).

use super::bundle::BundleDir;
use super::protocol::{EXIT_FILE, ExitStatus, Reply, Request};
use super::spec::ProcessSpec;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// No supervisor listens: the container is not running (or its supervisor died).
    #[error("the container's supervisor is not running")]
    Gone,
    #[error("starting the supervisor: {0}")]
    Spawn(String),
    #[error("supervisor socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("supervisor protocol: {0}")]
    Protocol(String),
    /// The supervisor reported a failure.
    #[error("{message}")]
    Failed { message: String, exit_code: i32 },
}

/// The main process's exit as the supervisor recorded it, when it is gone.
pub fn read_exit(bundle: &Path) -> Option<ExitStatus> {
    let bytes = std::fs::read(bundle.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One request's connection to a supervisor.
pub struct ShimConn {
    stream: UnixStream,
}

/// Longest reply line accepted.
const MAX_REPLY: usize = 64 * 1024;

impl ShimConn {
    pub async fn connect(bundle: &Path) -> Result<ShimConn, ShimError> {
        let dir = BundleDir::open(bundle).map_err(|_| ShimError::Gone)?;
        match UnixStream::connect(dir.socket_path()).await {
            Ok(stream) => Ok(ShimConn { stream }),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Err(ShimError::Gone)
            }
            Err(e) => Err(ShimError::Io(e)),
        }
    }

    async fn send(&mut self, request: &Request) -> Result<(), ShimError> {
        let mut line =
            serde_json::to_vec(request).map_err(|e| ShimError::Protocol(format!("encode: {e}")))?;
        line.push(b'\n');
        self.stream.write_all(&line).await?;
        Ok(())
    }

    /// Reads the reply line byte by byte, so no stream byte after it is consumed.
    async fn reply(&mut self) -> Result<Reply, ShimError> {
        let mut line = Vec::with_capacity(128);
        loop {
            let byte = match self.stream.read_u8().await {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(ShimError::Gone);
                }
                Err(e) => return Err(e.into()),
            };
            if byte == b'\n' {
                break;
            }
            if line.len() >= MAX_REPLY {
                return Err(ShimError::Protocol("reply line too long".into()));
            }
            line.push(byte);
        }
        let line = String::from_utf8_lossy(&line);
        serde_json::from_str(line.trim())
            .map_err(|e| ShimError::Protocol(format!("bad reply {line:?}: {e}")))
    }

    async fn call(mut self, request: Request) -> Result<Reply, ShimError> {
        self.send(&request).await?;
        self.reply().await
    }

    /// Releases the main process; `Started` or `Error` (126/127/125).
    pub async fn start(self) -> Result<Reply, ShimError> {
        self.call(Request::Start).await
    }

    /// The raw stream of the main process's stdio.
    pub async fn attach(
        mut self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream, ShimError> {
        self.send(&Request::Attach {
            stdin,
            stdout,
            stderr,
        })
        .await?;
        match self.reply().await? {
            Reply::Ok => Ok(self.into_stream()),
            other => Err(unexpected(other)),
        }
    }

    /// Waits for the main process to exit.
    pub async fn wait(self) -> Result<ExitStatus, ShimError> {
        match self.call(Request::Wait).await? {
            Reply::Exited(status) => Ok(status),
            other => Err(unexpected(other)),
        }
    }

    pub async fn resize(
        self,
        exec: Option<String>,
        height: u16,
        width: u16,
    ) -> Result<(), ShimError> {
        match self
            .call(Request::Resize {
                exec,
                height,
                width,
            })
            .await?
        {
            Reply::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub async fn kill(self, signal: i32, all: bool) -> Result<(), ShimError> {
        match self.call(Request::Kill { signal, all }).await? {
            Reply::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Starts an exec; its stdio is the returned stream, as with `attach`.
    pub async fn exec(
        mut self,
        id: &str,
        process: ProcessSpec,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(i32, UnixStream), ShimError> {
        self.send(&Request::Exec {
            id: id.to_string(),
            process,
            stdin,
            stdout,
            stderr,
        })
        .await?;
        match self.reply().await? {
            Reply::Started { pid } => Ok((pid, self.into_stream())),
            other => Err(unexpected(other)),
        }
    }

    fn into_stream(self) -> UnixStream {
        self.stream
    }
}

fn unexpected(reply: Reply) -> ShimError {
    match reply {
        Reply::Error { message, exit_code } => ShimError::Failed { message, exit_code },
        other => ShimError::Protocol(format!("unexpected reply {other:?}")),
    }
}
