//! One-time dashboard login tickets: the link printed at start (or made by
//! `berth token login-url`) is swapped once for a session cookie, then is dead.

use super::json_file::JsonFile;
use super::{AuthError, secret_hash};
use crate::util::{clock::now_secs, random::hex_secret};
use serde::{Deserialize, Serialize};
use shared::auth::Role;
use std::path::Path;

/// How long an unused login link stays valid.
pub const TICKET_LIFETIME_SECS: i64 = 24 * 3600;

#[derive(Serialize, Deserialize, Clone, Debug)]
struct TicketRecord {
    sha256: String,
    role: Role,
    /// The token the session will stand on: revoking it ends the session too.
    token_id: Option<String>,
    expires: i64,
}

/// What a redeemed ticket grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub token_id: Option<String>,
}

pub struct TicketStore {
    file: JsonFile<TicketRecord>,
}

impl TicketStore {
    pub fn open(auth_dir: &Path) -> Result<Self, AuthError> {
        super::tokens::create_private_dir(auth_dir)?;
        Ok(TicketStore {
            file: JsonFile::new(
                auth_dir.join("login-tickets.json"),
                auth_dir.join(".tickets.lock"),
            ),
        })
    }

    /// A new ticket secret and its expiry (unix seconds).
    pub fn issue(&self, grant: Grant) -> Result<(String, i64), AuthError> {
        let ticket = hex_secret(24).map_err(|e| AuthError::io("random", Path::new("/"), e))?;
        let expires = now_secs() + TICKET_LIFETIME_SECS;
        let record = TicketRecord {
            sha256: secret_hash(&ticket),
            role: grant.role,
            token_id: grant.token_id,
            expires,
        };
        self.file.update(|records| {
            let now = now_secs();
            records.retain(|r| r.expires > now);
            records.push(record);
        })?;
        Ok((ticket, expires))
    }

    /// Uses a ticket up. `None` if it is unknown, expired or already used.
    pub fn redeem(&self, ticket: &str) -> Result<Option<Grant>, AuthError> {
        let hash = secret_hash(ticket);
        // Cheap check first, so random guesses do not take the file lock.
        if !self.file.read()?.iter().any(|r| r.sha256 == hash) {
            return Ok(None);
        }
        self.file.update(|records| {
            let now = now_secs();
            records.retain(|r| r.expires > now);
            let at = records.iter().position(|r| r.sha256 == hash)?;
            let record = records.remove(at);
            Some(Grant {
                role: record.role,
                token_id: record.token_id,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once() {
        let dir = std::env::temp_dir().join(format!("berth-tickets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = TicketStore::open(&dir).unwrap();
        let grant = Grant {
            role: Role::Admin,
            token_id: Some("abc".into()),
        };
        let (ticket, _) = store.issue(grant.clone()).unwrap();
        assert_eq!(store.redeem("not-a-ticket").unwrap(), None);
        assert_eq!(store.redeem(&ticket).unwrap(), Some(grant));
        assert_eq!(store.redeem(&ticket).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
