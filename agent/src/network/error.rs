//! Why a network operation failed; each variant maps to one Docker status code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    /// A name clash, removing a network in use, …: 409 (Docker answers 403 for some).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadInput(String),
    /// A host port somebody else holds (Docker's wording).
    #[error("{0}")]
    PortAllocated(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Netlink(String),
    #[error("{0}")]
    Exhausted(String),
}

impl NetworkError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NetworkError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<super::netlink::NetlinkError> for NetworkError {
    fn from(e: super::netlink::NetlinkError) -> Self {
        NetworkError::Netlink(e.to_string())
    }
}

impl From<super::proxy::ProxyError> for NetworkError {
    fn from(e: super::proxy::ProxyError) -> Self {
        match e {
            super::proxy::ProxyError::PortAllocated { .. } => {
                NetworkError::PortAllocated(e.to_string())
            }
            other => NetworkError::Netlink(other.to_string()),
        }
    }
}
