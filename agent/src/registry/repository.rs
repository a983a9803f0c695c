//! [`Repository`]: a registry host and a repository path, checked before they become URLs,
//! and Docker's rule for plain HTTP.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

use super::RegistryError;
use super::digest::{check_digest, is_digest, shorten};

/// Docker Hub's name in image references, and the host that serves its API.
const DOCKER_HUB_NAMES: [&str; 3] = ["docker.io", "index.docker.io", "registry.hub.docker.com"];
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The distribution spec's limit on a repository name.
const MAX_PATH_LEN: usize = 255;

/// A repository in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// `host[:port]` as in an image reference: `127.0.0.1:5000`, `docker.io`, `[::1]:5000`.
    pub registry: String,
    /// The repository path: `library/busybox`.
    pub path: String,
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

impl Repository {
    pub fn new(registry: impl Into<String>, path: impl Into<String>) -> Repository {
        Repository {
            registry: registry.into(),
            path: path.into(),
        }
    }

    /// The host (and port) that serves the registry API: Docker Hub's names map to
    /// `registry-1.docker.io`.
    pub fn api_host(&self) -> &str {
        let registry = self.registry.as_str();
        if DOCKER_HUB_NAMES.contains(&registry.to_ascii_lowercase().as_str()) {
            DOCKER_HUB_API
        } else {
            registry
        }
    }

    /// Checks registry and path, so neither can smuggle anything into a URL.
    pub(crate) fn validate(&self) -> Result<(), RegistryError> {
        check_registry_host(&self.registry)?;
        check_path(&self.path)
    }
}

/// `host[:port]` with a DNS name, an IPv4 address or a bracketed IPv6 address.
fn check_registry_host(registry: &str) -> Result<(), RegistryError> {
    let bad = || {
        RegistryError::InvalidInput(format!(
            "invalid registry address {:?}: expected host[:port]",
            shorten(registry)
        ))
    };
    let (host, port) = split_host_port(registry).ok_or_else(bad)?;
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    if host_ok { Ok(()) } else { Err(bad()) }
}

/// Splits `host:port`, `[v6]:port`, `[v6]` or `host`. None for an unbracketed IPv6 address.
fn split_host_port(registry: &str) -> Option<(&str, Option<&str>)> {
    if registry.starts_with('[') {
        let end = registry.find(']')?;
        let (host, rest) = registry.split_at(end + 1);
        match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) if !port.contains(':') => Some((host, Some(port))),
            Some(_) => None,
            None => Some((registry, None)),
        }
    }
}

/// Repository paths: `/`-separated components of lowercase letters and digits, joined inside by
/// `.`, `_`, `__` or dashes (the distribution grammar, checked loosely but without `..`).
fn check_path(path: &str) -> Result<(), RegistryError> {
    let ok = !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path.split('/').all(|component| {
            let bytes = component.as_bytes();
            !bytes.is_empty()
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
                && !component.contains("..")
        });
    if ok {
        Ok(())
    } else {
        Err(RegistryError::InvalidInput(format!(
            "invalid repository name {:?}: lowercase letters, digits and . _ - separated by /",
            shorten(path)
        )))
    }
}

/// A tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) or a well-formed digest.
pub(crate) fn check_reference(reference: &str) -> Result<(), RegistryError> {
    if is_digest(reference) {
        return check_digest(reference, RegistryError::InvalidInput);
    }
    let bytes = reference.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::InvalidInput(format!(
            "invalid tag {:?}",
            shorten(reference)
        )))
    }
}

/// True for `localhost`, 127.0.0.0/8 and ::1 (with or without a port).
pub(crate) fn is_loopback_host(registry: &str) -> bool {
    let Some((host, _)) = split_host_port(registry) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Docker's rule: HTTPS, except for loopback registries and those listed as insecure
/// (`host[:port]`; an entry without a port matches every port of that host).
pub(crate) fn scheme_for(api_host: &str, insecure_registries: &[String]) -> &'static str {
    let host_only = split_host_port(api_host).map_or(api_host, |(h, _)| h);
    let listed = insecure_registries.iter().any(|entry| {
        let entry = entry.trim();
        entry.eq_ignore_ascii_case(api_host)
            || (!entry.contains(':') || entry.ends_with(']'))
                && entry.eq_ignore_ascii_case(host_only)
    });
    if listed || is_loopback_host(api_host) {
        "http"
    } else {
        "https"
    }
}

/// True when `url`'s host is loopback or listed as insecure: where plain HTTP is accepted.
pub(crate) fn plain_http_allowed(url: &Url, insecure_registries: &[String]) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let with_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    scheme_for(&with_port, insecure_registries) == "http"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_maps_to_its_api_host() {
        assert_eq!(
            Repository::new("docker.io", "library/busybox").api_host(),
            DOCKER_HUB_API
        );
        assert_eq!(
            Repository::new("index.docker.io", "a/b").api_host(),
            DOCKER_HUB_API
        );
        assert_eq!(
            Repository::new("127.0.0.1:5000", "a").api_host(),
            "127.0.0.1:5000"
        );
    }

    #[test]
    fn validation_refuses_url_tricks() {
        for (registry, path) in [
            ("127.0.0.1:5000", "library/busybox"),
            ("[::1]:5000", "a/b-c/d_e.f"),
            ("registry.example.com", "x"),
            ("localhost", "a__b"),
        ] {
            assert!(
                Repository::new(registry, path).validate().is_ok(),
                "{registry} {path}"
            );
        }
        for (registry, path) in [
            ("127.0.0.1:5000", "../x"),
            ("127.0.0.1:5000", "a//b"),
            ("127.0.0.1:5000", "A/b"),
            ("127.0.0.1:5000", "a/b?x=1"),
            ("127.0.0.1:5000", "a/b#x"),
            ("127.0.0.1:5000", "a/-b"),
            ("127.0.0.1:5000", ""),
            ("evil.com/x", "a"),
            ("user@evil.com", "a"),
            ("::1", "a"),
            ("host:port", "a"),
            ("", "a"),
        ] {
            assert!(
                matches!(
                    Repository::new(registry, path).validate(),
                    Err(RegistryError::InvalidInput(_))
                ),
                "{registry} {path}"
            );
        }
        assert!(check_reference("latest").is_ok());
        assert!(check_reference("v1.2_3-rc").is_ok());
        assert!(check_reference(".hidden").is_err());
        assert!(check_reference("a/b").is_err());
        assert!(check_reference(&"a".repeat(129)).is_err());
        assert!(check_reference("sha256:abc").is_err());
    }

    #[test]
    fn plain_http_only_for_loopback_and_insecure_registries() {
        let insecure = vec!["myreg:5000".to_owned(), "other".to_owned()];
        assert_eq!(scheme_for("127.0.0.1:5000", &[]), "http");
        assert_eq!(scheme_for("127.9.9.9", &[]), "http");
        assert_eq!(scheme_for("localhost:80", &[]), "http");
        assert_eq!(scheme_for("[::1]:5000", &[]), "http");
        assert_eq!(scheme_for("registry-1.docker.io", &insecure), "https");
        assert_eq!(scheme_for("myreg:5000", &insecure), "http");
        assert_eq!(scheme_for("myreg:5001", &insecure), "https");
        assert_eq!(scheme_for("other:1234", &insecure), "http");
        assert_eq!(scheme_for("128.0.0.1", &[]), "https");
        let url = Url::parse("http://127.0.0.1:1/x").expect("url");
        assert!(plain_http_allowed(&url, &[]));
        let url = Url::parse("http://cdn.example/x").expect("url");
        assert!(!plain_http_allowed(&url, &[]));
    }
}
