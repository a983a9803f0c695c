//! [`RegistryError`]: what can go wrong talking to a registry, in kinds the API layer maps to
//! HTTP statuses (see the variant docs), and decoding of the registry's own error JSON.

use reqwest::StatusCode;
use serde::Deserialize;

/// Errors of the registry client. Messages never contain credentials or tokens.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The repository, manifest, tag or blob does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The registry wants credentials we lack, or refused the ones given (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this (HTTP 403).
    #[error("{0}")]
    Denied(String),
    /// A manifest or index that is malformed, ambiguous or inconsistent (HTTP 400/502).
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    /// Content whose sha256 is not the one asked for or announced (HTTP 502).
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// Content whose length is not the one asked for or announced (HTTP 502).
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    /// Something valid that Berth does not handle: schema 1 manifests, other digest algorithms,
    /// foreign layers, artifact types (HTTP 400/501).
    #[error("{0}")]
    Unsupported(String),
    /// A bad argument from our caller: a malformed digest, tag, repository name or
    /// `X-Registry-Auth` header (HTTP 400).
    #[error("{0}")]
    InvalidInput(String),
    /// Connection, TLS, timeout or protocol trouble, or an answer we cannot use (HTTP 502).
    #[error("{0}")]
    Transport(String),
    /// Any other error answer of the registry, with its error JSON in the message (the status
    /// is the registry's: 5xx → 502, 429 → 429, other 4xx → 400).
    #[error("{message}")]
    Registry { status: u16, message: String },
    /// Reading a local file or reader to upload failed.
    #[error("{0}")]
    Io(String),
}

impl RegistryError {
    /// The HTTP status the API answers with (e.g. for `ImageError::Registry`): what the
    /// registry said for not found / unauthorized / denied / rate limits, 400 for bad input
    /// and unsupported content, 502 for bad content or trouble upstream, 500 for local I/O.
    pub fn http_status(&self) -> u16 {
        match self {
            RegistryError::NotFound(_) => 404,
            RegistryError::Unauthorized(_) => 401,
            RegistryError::Denied(_) => 403,
            RegistryError::InvalidInput(_) | RegistryError::Unsupported(_) => 400,
            RegistryError::InvalidManifest(_)
            | RegistryError::DigestMismatch { .. }
            | RegistryError::SizeMismatch { .. }
            | RegistryError::Transport(_) => 502,
            RegistryError::Registry { status, .. } => match *status {
                429 => 429,
                400..=499 => 400,
                _ => 502,
            },
            RegistryError::Io(_) => 500,
        }
    }

    /// A transport error with context; `reqwest` errors carry the URL, which has no secrets
    /// (credentials travel in headers and form bodies only).
    pub(crate) fn transport(context: &str, err: &reqwest::Error) -> RegistryError {
        RegistryError::Transport(format!("{context}: {}", error_chain(err)))
    }
}

/// `err` and its sources joined by ": " (reqwest's Display hides the root cause).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The distribution spec's error body, `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// How much of an error body is quoted in a message.
const MAX_QUOTED_BODY: usize = 512;

/// The `(code, message)` pairs of a registry error body, if it is one.
fn error_entries(body: &[u8]) -> Vec<(String, String)> {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| {
            b.errors
                .into_iter()
                .map(|e| (e.code.to_ascii_uppercase(), e.message))
                .collect()
        })
        .unwrap_or_default()
}

/// Turns an unsuccessful answer into an error. `what` says what was asked, e.g.
/// `GET manifest busybox:latest from 127.0.0.1:5000`.
pub(crate) fn from_response(status: StatusCode, body: &[u8], what: &str) -> RegistryError {
    let entries = error_entries(body);
    let detail = if entries.is_empty() {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            String::new()
        } else {
            let cut: String = text.chars().take(MAX_QUOTED_BODY).collect();
            format!(": {cut}")
        }
    } else {
        let joined = entries
            .iter()
            .map(|(code, message)| {
                if message.is_empty() {
                    code.clone()
                } else {
                    format!("{code}: {message}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        format!(": {joined}")
    };
    let message = format!("{what}: registry answered {status}{detail}");
    let has = |code: &str| entries.iter().any(|(c, _)| c == code);
    if status == StatusCode::NOT_FOUND
        || has("MANIFEST_UNKNOWN")
        || has("NAME_UNKNOWN")
        || has("BLOB_UNKNOWN")
        || has("BLOB_UPLOAD_UNKNOWN")
    {
        RegistryError::NotFound(message)
    } else if status == StatusCode::UNAUTHORIZED || has("UNAUTHORIZED") {
        RegistryError::Unauthorized(message)
    } else if status == StatusCode::FORBIDDEN || has("DENIED") {
        RegistryError::Denied(message)
    } else if has("UNSUPPORTED") {
        RegistryError::Unsupported(message)
    } else if has("MANIFEST_INVALID") || has("MANIFEST_BLOB_UNKNOWN") {
        RegistryError::InvalidManifest(message)
    } else {
        RegistryError::Registry {
            status: status.as_u16(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_for_the_api() {
        let registry = |status| RegistryError::Registry {
            status,
            message: String::new(),
        };
        assert_eq!(RegistryError::NotFound(String::new()).http_status(), 404);
        assert_eq!(
            RegistryError::Unauthorized(String::new()).http_status(),
            401
        );
        assert_eq!(RegistryError::Denied(String::new()).http_status(), 403);
        assert_eq!(RegistryError::Unsupported(String::new()).http_status(), 400);
        let mismatch = RegistryError::DigestMismatch {
            expected: String::new(),
            actual: String::new(),
        };
        assert_eq!(mismatch.http_status(), 502);
        assert_eq!(registry(429).http_status(), 429);
        assert_eq!(registry(409).http_status(), 400);
        assert_eq!(registry(503).http_status(), 502);
    }

    #[test]
    fn error_json_codes_pick_the_kind_and_stay_in_the_message() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        let err = from_response(StatusCode::NOT_FOUND, body, "GET manifest a:x");
        assert!(matches!(err, RegistryError::NotFound(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "GET manifest a:x: registry answered 404 Not Found: MANIFEST_UNKNOWN: manifest unknown"
        );
        let body = br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
        assert!(matches!(
            from_response(StatusCode::FORBIDDEN, body, "x"),
            RegistryError::Denied(_)
        ));
        let body = br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#;
        assert!(matches!(
            from_response(StatusCode::BAD_REQUEST, body, "x"),
            RegistryError::InvalidManifest(_)
        ));
        let err = from_response(StatusCode::BAD_GATEWAY, b"<html>oops</html>", "x");
        assert!(
            matches!(&err, RegistryError::Registry { status: 502, message } if message.ends_with("<html>oops</html>")),
            "{err:?}"
        );
    }
}
