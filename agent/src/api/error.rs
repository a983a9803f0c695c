//! API errors, answered the way Docker does: a status code and `{"message": "…"}`.

use crate::auth::AuthError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, "{}", self.message);
        }
        (
            self.status,
            Json(serde_json::json!({ "message": self.message })),
        )
            .into_response()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NoSuchToken(_) => ApiError::not_found(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Docker's answer to a route it does not have.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("page not found")
}

impl From<crate::image::ImageError> for ApiError {
    fn from(e: crate::image::ImageError) -> Self {
        use crate::image::ImageError as E;
        let status = match &e {
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::Reference(_) | E::BadInput(_) | E::Config(_) | E::Layer(_) => {
                StatusCode::BAD_REQUEST
            }
            E::Registry { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            E::Store(crate::store::StoreError::DigestMismatch { .. }) => StatusCode::BAD_REQUEST,
            E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<crate::image::reference::ReferenceError> for ApiError {
    fn from(e: crate::image::reference::ReferenceError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::image::ImageError::Store(e).into()
    }
}

impl From<crate::container::ContainerError> for ApiError {
    fn from(e: crate::container::ContainerError) -> Self {
        use crate::container::ContainerError as E;
        let e = match e {
            E::Image(inner) => return inner.into(),
            E::Network(inner) => return inner.into(),
            other => other,
        };
        let status = match &e {
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Conflict(_) | E::NotRunning(_) => StatusCode::CONFLICT,
            E::BadInput(_) | E::Start { .. } => StatusCode::BAD_REQUEST,
            E::Image(_) | E::Network(_) | E::Io { .. } | E::Runtime(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<crate::network::NetworkError> for ApiError {
    fn from(e: crate::network::NetworkError) -> Self {
        use crate::network::NetworkError as E;
        let status = match &e {
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::BadInput(_) => StatusCode::BAD_REQUEST,
            // Docker answers a taken host port with 500 at start.
            E::PortAllocated(_) | E::Io { .. } | E::Netlink(_) | E::Exhausted(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}
