//! API tokens: random 256-bit secrets, stored as SHA-256 hashes with a role.
//!
//! SHA-256 rather than a password hash (argon2) on purpose: the secrets are 256 bits
//! from the CSPRNG, so a slow hash buys nothing, and every TCP request verifies one.

use super::json_file::JsonFile;
use super::{AuthError, secret_hash};
use crate::util::{atomic_file::write_atomic, clock::now_secs, random::hex_secret};
use serde::{Deserialize, Serialize};
use shared::auth::{CreatedToken, Role, TokenInfo};
use std::path::{Path, PathBuf};

/// Prefix of every token secret, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "berth_";

#[derive(Serialize, Deserialize, Clone, Debug)]
struct TokenRecord {
    #[serde(flatten)]
    info: TokenInfo,
    sha256: String,
}

pub struct TokenStore {
    dir: PathBuf,
    file: JsonFile<TokenRecord>,
}

impl TokenStore {
    /// Opens (creating if needed, mode 0700) the auth directory.
    pub fn open(auth_dir: &Path) -> Result<Self, AuthError> {
        create_private_dir(auth_dir)?;
        Ok(TokenStore {
            dir: auth_dir.to_path_buf(),
            file: JsonFile::new(auth_dir.join("tokens.json"), auth_dir.join(".tokens.lock")),
        })
    }

    pub fn create(&self, role: Role, name: &str) -> Result<CreatedToken, AuthError> {
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            hex_secret(32).map_err(|e| AuthError::io("random", &self.dir, e))?
        );
        let id = hex_secret(6).map_err(|e| AuthError::io("random", &self.dir, e))?;
        let info = TokenInfo {
            id,
            name: if name.is_empty() {
                format!("{role} token")
            } else {
                name.to_string()
            },
            role,
            created: now_secs(),
        };
        let record = TokenRecord {
            info: info.clone(),
            sha256: secret_hash(&secret),
        };
        self.file.update(|records| records.push(record))?;
        Ok(CreatedToken {
            info,
            token: secret,
        })
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        Ok(self.file.read()?.iter().map(|r| r.info.clone()).collect())
    }

    pub fn revoke(&self, id: &str) -> Result<TokenInfo, AuthError> {
        self.file
            .update(|records| {
                let at = records.iter().position(|r| r.info.id == id)?;
                Some(records.remove(at).info)
            })?
            .ok_or_else(|| AuthError::NoSuchToken(id.to_string()))
    }

    /// The token a secret belongs to, if it is (still) valid.
    pub fn verify(&self, secret: &str) -> Result<Option<TokenInfo>, AuthError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        Ok(self
            .file
            .read()?
            .iter()
            .find(|r| r.sha256 == hash)
            .map(|r| r.info.clone()))
    }

    pub fn get(&self, id: &str) -> Result<Option<TokenInfo>, AuthError> {
        Ok(self
            .file
            .read()?
            .iter()
            .find(|r| r.info.id == id)
            .map(|r| r.info.clone()))
    }

    /// Path of the file holding the first admin token's secret.
    pub fn admin_token_path(&self) -> PathBuf {
        self.dir.join("admin.token")
    }

    /// On first start (no token at all), creates an admin token and writes its secret to
    /// `admin.token` (0600). Returns whether it did.
    pub fn ensure_first_admin(&self) -> Result<bool, AuthError> {
        if !self.list()?.is_empty() {
            return Ok(false);
        }
        let created = self.create(Role::Admin, "initial admin")?;
        let path = self.admin_token_path();
        write_atomic(&path, format!("{}\n", created.token).as_bytes(), 0o600)
            .map_err(|e| AuthError::io("write", &path, e))?;
        Ok(true)
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| AuthError::io("create", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| AuthError::io("chmod", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-tokens-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn create_verify_revoke() {
        let dir = temp_dir("cvr");
        let store = TokenStore::open(&dir).unwrap();
        let made = store.create(Role::Viewer, "wall screen").unwrap();
        assert!(made.token.starts_with(TOKEN_PREFIX));
        let found = store.verify(&made.token).unwrap().unwrap();
        assert_eq!(found.role, Role::Viewer);
        assert_eq!(store.verify("berth_nope").unwrap(), None);
        let raw = std::fs::read_to_string(dir.join("tokens.json")).unwrap();
        assert!(!raw.contains(&made.token), "secrets are stored hashed");
        store.revoke(&made.info.id).unwrap();
        assert_eq!(store.verify(&made.token).unwrap(), None);
        assert!(matches!(
            store.revoke(&made.info.id),
            Err(AuthError::NoSuchToken(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sees_changes_made_by_another_process() {
        let dir = temp_dir("xproc");
        let agent_view = TokenStore::open(&dir).unwrap();
        let cli_view = TokenStore::open(&dir).unwrap();
        assert!(agent_view.list().unwrap().is_empty());
        let made = cli_view.create(Role::Operator, "").unwrap();
        assert!(agent_view.verify(&made.token).unwrap().is_some());
        cli_view.revoke(&made.info.id).unwrap();
        assert!(agent_view.verify(&made.token).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn first_admin_is_made_once() {
        let dir = temp_dir("first");
        let store = TokenStore::open(&dir).unwrap();
        assert!(store.ensure_first_admin().unwrap());
        assert!(!store.ensure_first_admin().unwrap());
        let secret = std::fs::read_to_string(store.admin_token_path()).unwrap();
        assert_eq!(
            store.verify(secret.trim()).unwrap().unwrap().role,
            Role::Admin
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
