//! Credentials: hashed tokens with roles, one-time dashboard login tickets, browser
//! sessions, and the rule that says which role a request needs.
//!
//! Tokens and tickets live in files under `<root>/auth/` (0700), so the `berth token`
//! command can change them while an agent runs; the agent notices by the file's
//! identity changing (every write is an atomic rename). Sessions live in memory.

mod error;
mod file_lock;
pub(crate) mod json_file;
pub mod policy;
pub mod pull_grants;
pub mod sessions;
pub mod tickets;
pub mod tokens;

pub use error::AuthError;
pub use pull_grants::PullGrants;
pub use sessions::SessionStore;
pub use tickets::TicketStore;
pub use tokens::TokenStore;

use shared::auth::Role;

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The root-only unix socket: no token needed, full rights (like docker.sock).
    UnixSocket,
    /// `Authorization: Bearer …`.
    Token,
    /// The dashboard's session cookie.
    Session,
    /// A pull grant: reads one image over `/v2/`, nothing else.
    PullGrant(pull_grants::PullGrant),
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub token_id: Option<String>,
    pub via: Via,
}

impl Caller {
    pub fn local() -> Self {
        Caller {
            role: Role::Admin,
            token_id: None,
            via: Via::UnixSocket,
        }
    }
}

/// Hex SHA-256 of a secret: what is stored instead of the secret.
pub(crate) fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}
