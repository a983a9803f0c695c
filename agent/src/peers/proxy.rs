//! The request proxy: a caller's request forwarded to a peer with the peer's token, its
//! answer streamed back — plain, streamed (pull progress, `logs -f`, events), and upgraded
//! connections (Docker's `Upgrade: tcp` hijack for attach/exec, WebSockets), whose bytes are
//! then pumped both ways.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1, and any the `Connection` header names) are not
//! passed on, except the upgrade itself. The caller's own credentials (`Authorization`,
//! `Cookie`), its `Origin` (the peer checks its own) and the peer's `Set-Cookie` never cross.
//! Who may do what is decided before this (the caller's role, by `auth::policy`).

use super::client::PeerClient;
use super::error::PeerError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Request headers that carry the caller's identity to this agent, not to the peer.
const CALLER_ONLY: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::ORIGIN,
    header::HOST,
];

/// The `Upgrade` a request asks for (with `Connection: upgrade`), if any.
fn upgrade_of(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// `headers` without hop-by-hop ones (and those `Connection` names) and without `extra`.
fn end_to_end(headers: &HeaderMap, extra: &[HeaderName]) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let drop = HOP_BY_HOP.contains(name)
            || extra.contains(name)
            || named.iter().any(|n| n == name.as_str());
        if !drop {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Forwards `request` to the peer as `method path_and_query`.
pub async fn forward(
    client: &PeerClient,
    mut request: Request,
    path_and_query: &str,
) -> Result<Response, PeerError> {
    let upgrade = upgrade_of(request.headers());
    let mut headers = end_to_end(request.headers(), &CALLER_ONLY);
    let caller_upgrade = upgrade.as_ref().map(|value| {
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, value.clone());
        hyper::upgrade::on(&mut request)
    });
    let method = request.method().clone();
    let body = std::mem::replace(request.body_mut(), Body::empty());
    let mut answer = client.send(method, path_and_query, headers, body).await?;
    let status = answer.status();
    let mut out_headers = end_to_end(answer.headers(), &[header::SET_COOKIE]);
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let Some(caller_upgrade) = caller_upgrade else {
            return Err(PeerError::Unreachable(
                "the peer switched protocols without being asked".into(),
            ));
        };
        if let Some(value) = answer.headers().get(header::UPGRADE).cloned() {
            out_headers.insert(header::UPGRADE, value);
        }
        out_headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        let peer_upgrade = hyper::upgrade::on(&mut answer);
        let name = client.name().to_string();
        tokio::spawn(async move {
            match tokio::try_join!(caller_upgrade, peer_upgrade) {
                Ok((caller, peer)) => pump(TokioIo::new(caller), TokioIo::new(peer)).await,
                Err(e) => tracing::debug!("proxy to {name}: upgrade failed: {e}"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        *response.headers_mut() = out_headers;
        return Ok(response);
    }
    let mut response = Response::new(Body::new(answer.into_body()));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    Ok(response)
}

/// Caller → peer until the caller half-closes (passed on as a write shutdown, as Docker's
/// stdin EOF); peer → caller until the peer is done, which ends the connection.
async fn pump<C, P>(caller: C, peer: P)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    P: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut caller_read, mut caller_write) = tokio::io::split(caller);
    let (mut peer_read, mut peer_write) = tokio::io::split(peer);
    let input = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut caller_read, &mut peer_write).await;
        let _ = peer_write.shutdown().await;
    });
    let _ = tokio::io::copy(&mut peer_read, &mut caller_write).await;
    let _ = caller_write.flush().await;
    let _ = caller_write.shutdown().await;
    input.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_and_caller_headers_stay_behind() {
        let h = headers(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("authorization", "Bearer caller"),
            ("cookie", "berth_session=abc"),
            ("origin", "http://a:7070"),
            ("host", "a:7070"),
            ("x-registry-auth", "e30="),
            ("content-type", "application/json"),
        ]);
        let out = end_to_end(&h, &CALLER_ONLY);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-registry-auth", "content-type"]);
    }

    #[test]
    fn upgrades_need_connection_upgrade() {
        assert_eq!(
            upgrade_of(&headers(&[("connection", "Upgrade"), ("upgrade", "tcp")])),
            Some(HeaderValue::from_static("tcp"))
        );
        assert_eq!(
            upgrade_of(&headers(&[
                ("connection", "keep-alive, upgrade"),
                ("upgrade", "websocket")
            ])),
            Some(HeaderValue::from_static("websocket"))
        );
        assert_eq!(upgrade_of(&headers(&[("upgrade", "tcp")])), None);
    }
}
