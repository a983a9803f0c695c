//! The image config blob (OCI / Docker image JSON): what Berth reads of it, and the
//! rest passed through untouched for `inspect`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The container defaults (Env, Cmd, Entrypoint, WorkingDir, User, Labels, …).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub config: Value,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Fields Berth does not interpret (docker_version, comment, os.version, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid image config: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid image config: rootfs type is {0:?}, expected \"layers\"")]
    RootFsType(String),
    #[error("invalid image config: diff ID {0:?} is not a sha256 digest")]
    DiffId(String),
}

impl ImageConfig {
    /// Parses and checks a config blob.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let config: ImageConfig = serde_json::from_slice(bytes)?;
        if config.rootfs.kind != "layers" {
            return Err(ConfigError::RootFsType(config.rootfs.kind));
        }
        if let Some(bad) = config
            .rootfs
            .diff_ids
            .iter()
            .find(|d| crate::store::digest::Digest::parse(d).is_err())
        {
            return Err(ConfigError::DiffId(bad.clone()));
        }
        Ok(config)
    }

    /// `created` as unix seconds (0 when absent or unreadable).
    pub fn created_unix(&self) -> i64 {
        self.created.as_deref().map(rfc3339_to_unix).unwrap_or(0)
    }

    /// A string field of the container defaults, e.g. `Labels`.
    pub fn labels(&self) -> Value {
        match self.config.get("Labels") {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => Value::Object(Map::new()),
        }
    }
}

/// RFC 3339 → unix seconds (0 if it cannot be read).
pub fn rfc3339_to_unix(s: &str) -> i64 {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_unknown_fields() {
        let raw = br#"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05.123Z",
            "config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},
            "docker_version":"24.0.0"}"#;
        let c = ImageConfig::parse(raw).unwrap();
        assert_eq!(c.created_unix(), 1704164645);
        assert_eq!(c.extra["docker_version"], "24.0.0");
        let bad = br#"{"rootfs":{"type":"layers","diff_ids":["sha256:../../x"]}}"#;
        assert!(ImageConfig::parse(bad).is_err());
        assert!(ImageConfig::parse(b"{}").is_err());
    }
}
