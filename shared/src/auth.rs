//! Roles and tokens.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a credential may do. Ordered: each role can do what the ones before it can.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: team dashboards.
    Viewer,
    /// Acts on containers and images.
    Operator,
    /// Everything, including tokens and peers.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?} (expected viewer, operator or admin)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// A token as listed: never the secret itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Unix seconds.
    pub created: i64,
}

/// Answer to a token creation: the only time the secret is shown.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// Body of `POST /berth/v1/tokens`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateTokenRequest {
    pub role: Role,
    #[serde(default)]
    pub name: String,
}

/// Body of `POST /berth/v1/login`: swap a token for a session cookie.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginRequest {
    pub token: String,
}

/// Answer to `GET /berth/v1/whoami`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WhoAmI {
    pub role: Role,
    /// The token the session or request stands on; `None` on the root-only unix socket.
    pub token_id: Option<String>,
    pub host: String,
}

/// Answer to `POST /berth/v1/login-url`: a fresh one-time dashboard login link.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginUrl {
    pub url: String,
    /// Unix seconds after which the link no longer works.
    pub expires: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_order() {
        assert_eq!("Viewer".parse::<Role>(), Ok(Role::Viewer));
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(serde_json::to_string(&Role::Admin).unwrap(), "\"admin\"");
    }
}
