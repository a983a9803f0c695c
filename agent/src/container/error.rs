//! Why a container operation failed; each variant maps to one Docker status code.

use crate::image::ImageError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    /// A name clash, removing a running container, …: 409.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadInput(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    /// The process could not be started; `exit_code` is what Docker reports for it
    /// (126 not executable, 127 not found, 125 anything else).
    #[error("failed to create task for container: {message}")]
    Start { message: String, exit_code: i32 },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(String),
}

impl ContainerError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContainerError::Io {
            path: path.into(),
            source,
        }
    }
}
