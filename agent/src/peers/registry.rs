//! The peers this agent knows, kept in `<root>/auth/peers.json` (mode 0600: it holds the
//! peers' tokens) and shared with `berth hosts …` running beside the agent, which notices
//! changes by the file's identity (every write is an atomic rename).

use super::error::PeerError;
use crate::auth::json_file::JsonFile;
use crate::util::clock::now_secs;
use crate::util::fingerprint::Fingerprint;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// Longest peer name.
const MAX_NAME: usize = 63;
/// Longest token accepted (Berth's are 70 characters).
const MAX_TOKEN: usize = 512;
/// Largest CA certificate file accepted.
const MAX_CA_PEM: usize = 64 * 1024;

/// One peer as stored.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    pub name: String,
    /// `scheme://host:port`, nothing more.
    pub url: String,
    pub token: String,
    /// The pinned SHA-256 of the peer's certificate (https peers without a CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// A CA (PEM) that signs the peer's certificate (https peers without a pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Unix seconds.
    pub added: i64,
}

impl fmt::Debug for PeerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerRecord")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .field("ca", &self.ca_pem.is_some())
            .finish()
    }
}

impl PeerRecord {
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }
}

pub struct PeerRegistry {
    file: JsonFile<PeerRecord>,
}

impl PeerRegistry {
    /// The registry in `auth_dir` (which the token store has made, mode 0700).
    pub fn open(auth_dir: &Path) -> Self {
        PeerRegistry {
            file: JsonFile::new(auth_dir.join("peers.json"), auth_dir.join(".peers.lock")),
        }
    }

    pub fn list(&self) -> Result<Arc<Vec<PeerRecord>>, PeerError> {
        Ok(self.file.read()?)
    }

    pub fn get(&self, name: &str) -> Result<Option<PeerRecord>, PeerError> {
        Ok(self.list()?.iter().find(|p| p.name == name).cloned())
    }

    /// Stores a new peer; its name must be free.
    pub fn add(&self, record: PeerRecord) -> Result<(), PeerError> {
        let name = record.name.clone();
        let added = self.file.update(move |peers| {
            if peers.iter().any(|p| p.name == record.name) {
                return false;
            }
            peers.push(record);
            true
        })?;
        if added {
            Ok(())
        } else {
            Err(PeerError::NameTaken(name))
        }
    }

    pub fn remove(&self, name: &str) -> Result<PeerRecord, PeerError> {
        self.file
            .update(|peers| {
                let at = peers.iter().position(|p| p.name == name)?;
                Some(peers.remove(at))
            })?
            .ok_or_else(|| PeerError::NoSuchPeer(name.to_string()))
    }
}

/// A peer's name: lowercase letters, digits, `-`, `_`, `.`; starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), PeerError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PeerError::BadInput(format!(
            "invalid host name {name:?}: use 1-{MAX_NAME} lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

/// A token goes into a header: printable ASCII, bounded.
pub fn check_token(token: &str) -> Result<(), PeerError> {
    if token.is_empty() {
        return Err(PeerError::BadInput(
            "a token of the peer is required (create one there with `berth token create`)".into(),
        ));
    }
    if token.len() > MAX_TOKEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PeerError::BadInput(
            "the token must be printable ASCII without spaces".into(),
        ));
    }
    Ok(())
}

pub fn check_ca(pem: &str) -> Result<(), PeerError> {
    if pem.len() > MAX_CA_PEM {
        return Err(PeerError::BadCa(format!(
            "more than the {MAX_CA_PEM} bytes allowed"
        )));
    }
    Ok(())
}

/// `https://host[:port]` (or `http://` on loopback) → `scheme://host:port`; anything
/// else (paths, queries, credentials, other schemes) is refused.
pub fn normalize_url(raw: &str) -> Result<String, PeerError> {
    let bad = |why: &str| PeerError::BadInput(format!("invalid peer URL {raw:?}: {why}"));
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(bad("use https://host:port"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no credentials in the URL; pass the token separately"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give only scheme, host and port"));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(host) => host.to_string(),
        None => return Err(bad("no host")),
    };
    let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let normalized = format!("{scheme}://{host}:{port}");
    if scheme == "http" && !is_loopback(&host) {
        return Err(PeerError::PlainHttp(normalized));
    }
    Ok(normalized)
}

/// `127.0.0.1`, `[::1]`, `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A record for a peer just admitted.
pub fn record(
    name: &str,
    url: &str,
    token: &str,
    fingerprint: Option<Fingerprint>,
    ca_pem: Option<String>,
) -> PeerRecord {
    PeerRecord {
        name: name.to_string(),
        url: url.to_string(),
        token: token.to_string(),
        fingerprint,
        ca_pem,
        added: now_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalized() {
        assert_eq!(
            normalize_url("https://node-b:7443").unwrap(),
            "https://node-b:7443"
        );
        assert_eq!(
            normalize_url("https://node-b").unwrap(),
            "https://node-b:443"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:7070/").unwrap(),
            "http://127.0.0.1:7070"
        );
        assert_eq!(
            normalize_url("http://[::1]:7070").unwrap(),
            "http://[::1]:7070"
        );
        assert!(matches!(
            normalize_url("http://10.0.0.2:7070"),
            Err(PeerError::PlainHttp(_))
        ));
        for bad in [
            "ftp://x",
            "https://u:p@x:1",
            "https://x:1/path",
            "https://x:1/?q=1",
            "not a url",
            "unix:///run/berth.sock",
        ] {
            assert!(
                matches!(normalize_url(bad), Err(PeerError::BadInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_and_tokens_are_checked() {
        check_name("b").unwrap();
        check_name("node-2.lab").unwrap();
        for bad in ["", "B", "-b", "a/b", "a b", &"x".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_token("berth_abc").unwrap();
        assert!(check_token("").is_err());
        assert!(check_token("a\r\nX-Evil: 1").is_err());
    }

    #[test]
    fn add_list_remove_persist_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let registry = PeerRegistry::open(dir.path());
        registry
            .add(record("b", "http://127.0.0.1:1", "berth_x", None, None))
            .unwrap();
        assert!(matches!(
            registry.add(record("b", "http://127.0.0.1:2", "t", None, None)),
            Err(PeerError::NameTaken(_))
        ));
        let other_process = PeerRegistry::open(dir.path());
        assert_eq!(other_process.list().unwrap().len(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("peers.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{:?}", registry.get("b").unwrap()).contains("berth_x"));
        other_process.remove("b").unwrap();
        assert!(registry.list().unwrap().is_empty());
        assert!(matches!(
            registry.remove("b"),
            Err(PeerError::NoSuchPeer(_))
        ));
    }
}
