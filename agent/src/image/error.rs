use super::config::ConfigError;
use super::reference::ReferenceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A registry said no or sent something wrong; the text says which.
    #[error("{message}")]
    Registry { status: u16, message: String },
    #[error("{0}")]
    Layer(String),
}
