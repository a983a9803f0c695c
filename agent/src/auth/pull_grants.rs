//! Pull grants: short-lived secrets that let one other agent read one image over the
//! distribution API (`/v2/`) and nothing else — what an image copy hands to the host that
//! pulls. Kept in memory: a copy outliving an agent restart starts again.

use crate::util::{clock::now_secs, random::hex_secret};
use std::collections::HashMap;
use std::sync::Mutex;

/// Prefix of every grant's secret (never a token's: the token store refuses it).
pub const GRANT_PREFIX: &str = "berth_pull_";
/// How long a grant lasts: enough to start a pull of a large image.
pub const GRANT_LIFETIME_SECS: i64 = 600;

/// What a grant allows: reading the image with this ID, under this repository name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullGrant {
    pub image_id: String,
    pub repository: String,
    pub expires: i64,
}

#[derive(Default)]
pub struct PullGrants {
    /// Keyed by the SHA-256 of the secret.
    grants: Mutex<HashMap<String, PullGrant>>,
}

impl PullGrants {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, PullGrant>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new grant to read `image_id` as `repository`; returns its secret.
    pub fn issue(&self, image_id: &str, repository: &str) -> std::io::Result<String> {
        let secret = format!("{GRANT_PREFIX}{}", hex_secret(32)?);
        let now = now_secs();
        let mut map = self.map();
        map.retain(|_, g| g.expires > now);
        map.insert(
            super::secret_hash(&secret),
            PullGrant {
                image_id: image_id.to_string(),
                repository: repository.to_string(),
                expires: now + GRANT_LIFETIME_SECS,
            },
        );
        Ok(secret)
    }

    /// The grant a secret stands for, while it lasts.
    pub fn verify(&self, secret: &str) -> Option<PullGrant> {
        if !secret.starts_with(GRANT_PREFIX) {
            return None;
        }
        let grant = self.map().get(&super::secret_hash(secret)).cloned()?;
        (grant.expires > now_secs()).then_some(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_verify_only_their_own_secret() {
        let grants = PullGrants::default();
        let secret = grants.issue("sha256:abc", "library/busybox").unwrap();
        let grant = grants.verify(&secret).unwrap();
        assert_eq!(grant.image_id, "sha256:abc");
        assert_eq!(grants.verify("berth_pull_nope"), None);
        assert_eq!(grants.verify("berth_abc"), None);
    }

    #[test]
    fn expired_grants_are_refused() {
        let grants = PullGrants::default();
        let secret = grants.issue("sha256:abc", "x").unwrap();
        grants
            .map()
            .values_mut()
            .for_each(|g| g.expires = now_secs() - 1);
        assert_eq!(grants.verify(&secret), None);
    }
}
