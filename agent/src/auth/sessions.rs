//! Dashboard sessions: random ids in an HttpOnly SameSite=Strict cookie. Kept in memory and
//! in `auth/sessions.json` (0600, only the ids' SHA-256), so an agent restart does not log
//! browsers out: the dashboard reconnects and carries on by itself.

use super::AuthError;
use crate::util::atomic_file::write_atomic;
use crate::util::{clock::now_secs, random::hex_secret};
use serde::{Deserialize, Serialize};
use shared::auth::Role;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How long a session lasts.
pub const SESSION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

const SESSIONS_FILE: &str = "sessions.json";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub role: Role,
    pub token_id: Option<String>,
    pub expires: i64,
}

/// One session as its file keeps it.
#[derive(Serialize, Deserialize)]
struct Stored {
    sha256: String,
    #[serde(flatten)]
    session: Session,
}

#[derive(Default)]
pub struct SessionStore {
    /// Keyed by the SHA-256 of the session id, so neither a memory dump nor the file leaks
    /// a cookie.
    sessions: Mutex<HashMap<String, Session>>,
    /// Where they are kept across restarts (none: in memory only).
    file: Option<PathBuf>,
}

impl SessionStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sessions kept in `auth_dir`, expired ones left out. A file that cannot be read
    /// as sessions is set aside with a warning: its browsers log in again, nothing else is
    /// lost.
    pub fn open(auth_dir: &Path) -> Result<SessionStore, AuthError> {
        let path = auth_dir.join(SESSIONS_FILE);
        let stored: Vec<Stored> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("{}: not sessions ({e}); starting with none", path.display());
                Vec::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(AuthError::io("read", &path, e)),
        };
        let now = now_secs();
        let sessions = stored
            .into_iter()
            .filter(|s| s.session.expires > now)
            .map(|s| (s.sha256, s.session))
            .collect();
        Ok(SessionStore {
            sessions: Mutex::new(sessions),
            file: Some(path),
        })
    }

    /// Writes the sessions to their file (called with the map locked, so writes keep the
    /// order of changes). A failure only costs the browsers a login after a restart.
    fn save(&self, map: &HashMap<String, Session>) {
        let Some(path) = &self.file else {
            return;
        };
        let stored: Vec<Stored> = map
            .iter()
            .map(|(sha256, session)| Stored {
                sha256: sha256.clone(),
                session: session.clone(),
            })
            .collect();
        let written = serde_json::to_vec(&stored)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(path, &bytes, 0o600));
        if let Err(e) = written {
            tracing::warn!("{}: sessions not saved: {e}", path.display());
        }
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
        self.save(&map);
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
        let mut map = self.map();
        if map.remove(&super::secret_hash(id)).is_some() {
            self.save(&map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("berth-sessions-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sessions_outlive_a_restart_and_logouts_too() {
        let dir = auth_dir("restart");
        let store = SessionStore::open(&dir).unwrap();
        let kept = store.start(Role::Operator, Some("t1".into())).unwrap();
        let ended = store.start(Role::Admin, None).unwrap();
        store.end(&ended);
        let text = std::fs::read_to_string(dir.join(SESSIONS_FILE)).unwrap();
        assert!(
            !text.contains(&kept),
            "the file holds hashes, never the cookie"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(SESSIONS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let again = SessionStore::open(&dir).unwrap();
        let session = again.get(&kept).expect("kept across the restart");
        assert_eq!(session.role, Role::Operator);
        assert_eq!(session.token_id.as_deref(), Some("t1"));
        assert!(again.get(&ended).is_none(), "a logout stays a logout");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_file_means_logging_in_again() {
        let dir = auth_dir("damaged");
        std::fs::write(dir.join(SESSIONS_FILE), b"{not json").unwrap();
        let store = SessionStore::open(&dir).unwrap();
        assert!(store.get("anything").is_none());
        let id = store.start(Role::Viewer, None).unwrap();
        assert!(SessionStore::open(&dir).unwrap().get(&id).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expired_sessions_are_not_loaded() {
        let dir = auth_dir("expired");
        let stale = Stored {
            sha256: super::super::secret_hash("old"),
            session: Session {
                role: Role::Admin,
                token_id: None,
                expires: now_secs() - 1,
            },
        };
        std::fs::write(
            dir.join(SESSIONS_FILE),
            serde_json::to_vec(&vec![stale]).unwrap(),
        )
        .unwrap();
        assert!(SessionStore::open(&dir).unwrap().get("old").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
