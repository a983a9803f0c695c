//! Same-origin checks: a browser's `Origin` must name this agent (the `Host` it was
//! reached at). Guards WebSocket upgrades and cookie-authenticated writes.

use axum::http::{HeaderMap, header};

#[derive(Debug, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header: not a browser's cross-site request.
    Absent,
    Same,
    Foreign(String),
}

pub fn check(headers: &HeaderMap) -> OriginCheck {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return OriginCheck::Absent;
    };
    let origin = origin.to_str().unwrap_or("<not text>").to_string();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return OriginCheck::Foreign(origin);
    };
    // A `Host` without a port is the scheme's default one: 80, or 443 over TLS.
    let same = origin_authority(&origin).is_some_and(|authority| {
        with_default_ports(host)
            .iter()
            .any(|h| authority.eq_ignore_ascii_case(h))
    });
    if same {
        OriginCheck::Same
    } else {
        OriginCheck::Foreign(origin)
    }
}

/// `http://Example:80` → `example:80`.
fn origin_authority(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = match url.host()? {
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        other => other.to_string(),
    };
    Some(format!("{host}:{}", url.port_or_known_default()?))
}

fn with_default_ports(host: &str) -> Vec<String> {
    let has_port = match host.rfind(':') {
        Some(i) => !host[i..].contains(']'),
        None => false,
    };
    if has_port {
        vec![host.to_string()]
    } else {
        vec![format!("{host}:80"), format!("{host}:443")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn compares_authorities() {
        assert_eq!(check(&headers(None, "127.0.0.1:7070")), OriginCheck::Absent);
        assert_eq!(
            check(&headers(Some("http://127.0.0.1:7070"), "127.0.0.1:7070")),
            OriginCheck::Same
        );
        assert_eq!(
            check(&headers(Some("http://LOCALHOST"), "localhost")),
            OriginCheck::Same
        );
        assert!(matches!(
            check(&headers(Some("http://evil.example"), "127.0.0.1:7070")),
            OriginCheck::Foreign(_)
        ));
        assert!(matches!(
            check(&headers(Some("http://127.0.0.1:7071"), "127.0.0.1:7070")),
            OriginCheck::Foreign(_)
        ));
        assert!(matches!(
            check(&headers(Some("null"), "127.0.0.1:7070")),
            OriginCheck::Foreign(_)
        ));
        assert_eq!(
            check(&headers(Some("https://node-a"), "node-a")),
            OriginCheck::Same,
            "https on its default port"
        );
        assert!(matches!(
            check(&headers(Some("https://node-a:8443"), "node-a")),
            OriginCheck::Foreign(_)
        ));
    }
}
