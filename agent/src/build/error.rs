//! Why a build failed: a message for the client and, for a failed RUN, the command's exit
//! code (the docker CLI exits with it). Before the output stream starts the HTTP status
//! matters too (a bad Dockerfile is a 400).

use super::dockerfile::ParseError;
use super::dockerfile::expand::ExpandError;
use crate::container::ContainerError;
use crate::image::ImageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The client's fault: bad options, Dockerfile, context or instruction arguments.
    BadRequest,
    NotFound,
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    pub message: String,
    /// The failed RUN's exit code (0 otherwise).
    pub code: i32,
    pub status: Status,
}

impl BuildError {
    pub fn bad(message: impl Into<String>) -> Self {
        BuildError {
            message: message.into(),
            code: 0,
            status: Status::BadRequest,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        BuildError {
            message: message.into(),
            code: 0,
            status: Status::Internal,
        }
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<ParseError> for BuildError {
    fn from(e: ParseError) -> Self {
        BuildError::bad(e.to_string())
    }
}

impl From<ExpandError> for BuildError {
    fn from(e: ExpandError) -> Self {
        BuildError::bad(e.to_string())
    }
}

impl From<ImageError> for BuildError {
    fn from(e: ImageError) -> Self {
        let status = match &e {
            ImageError::NotFound(_) => Status::NotFound,
            ImageError::BadInput(_) | ImageError::Reference(_) | ImageError::Config(_) => {
                Status::BadRequest
            }
            _ => Status::Internal,
        };
        BuildError {
            message: e.to_string(),
            code: 0,
            status,
        }
    }
}

impl From<ContainerError> for BuildError {
    fn from(e: ContainerError) -> Self {
        match e {
            ContainerError::Image(inner) => inner.into(),
            ContainerError::BadInput(m) => BuildError::bad(m),
            other => BuildError::internal(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for BuildError {
    fn from(e: crate::store::StoreError) -> Self {
        BuildError::internal(e.to_string())
    }
}
