//! Dashboard sessions: random ids in an HttpOnly SameSite=Strict cookie, kept in memory
//! (an agent restart logs browsers out).

use crate::util::{clock::now_secs, random::hex_secret};
use shared::auth::Role;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a session lasts.
pub const SESSION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub role: Role,
    pub token_id: Option<String>,
    pub expires: i64,
}

#[derive(Default)]
pub struct SessionStore {
    /// Keyed by the SHA-256 of the session id, so a memory dump leaks no cookie.
    sessions: Mutex<HashMap<String, Session>>,
}

impl SessionStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session; returns the cookie value.
    pub fn start(&self, role: Role, token_id: Option<String>) -> std::io::Result<String> {
        let id = hex_secret(32)?;
        let now = now_secs();
        let mut map = self.map();
        map.retain(|_, s| s.expires > now);
        map.insert(
            super::secret_hash(&id),
            Session {
                role,
                token_id,
                expires: now + SESSION_LIFETIME_SECS,
            },
        );
        Ok(id)
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        let key = super::secret_hash(id);
        let mut map = self.map();
        match map.get(&key) {
            Some(s) if s.expires > now_secs() => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.map().remove(&super::secret_hash(id));
    }
}
