//! [`PeerClient`]: HTTP(S) to one peer with its token, on pooled keep-alive connections
//! (hyper's client, so the proxy can stream bodies both ways and take over upgraded
//! connections). TLS trust is the peer's own (see `trust.rs`).

use super::error::PeerError;
use super::registry::PeerRecord;
use super::trust::{self, Trust};
use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long a TCP connect to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Idle pooled connections are closed after this.
const POOL_IDLE: Duration = Duration::from_secs(30);
/// Largest JSON answer read from a peer (host facts, whoami, errors).
const MAX_JSON: usize = 4 * 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A client for one peer. Cheap to clone (clones share the connection pool).
#[derive(Clone)]
pub struct PeerClient {
    name: String,
    base: String,
    authority: HeaderValue,
    authorization: HeaderValue,
    http: Client<Connector, Body>,
    /// Why the pinned verifier last refused the peer's certificate (rustls shows its
    /// verifier's words only in Debug form, deep in the error chain).
    refusal: trust::Refusal,
}

/// The trust a stored peer asks for.
pub fn trust_of(record: &PeerRecord) -> Trust {
    match (&record.fingerprint, &record.ca_pem) {
        _ if !record.is_https() => Trust::Plain,
        (Some(pin), _) => Trust::Pinned(*pin),
        (None, Some(ca)) => Trust::Ca(ca.clone()),
        // An https peer without either is never stored; trust nothing rather than anything.
        (None, None) => Trust::Ca(String::new()),
    }
}

impl PeerClient {
    pub fn new(record: &PeerRecord) -> Result<Self, PeerError> {
        Self::with_trust(record, &trust_of(record))
    }

    pub fn with_trust(record: &PeerRecord, trust: &Trust) -> Result<Self, PeerError> {
        let uri: Uri = record
            .url
            .parse()
            .map_err(|e| PeerError::BadInput(format!("peer URL {}: {e}", record.url)))?;
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(|| PeerError::BadInput(format!("peer URL {} has no host", record.url)))?;
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        http.enforce_http(false);
        let refusal = trust::Refusal::default();
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(trust::client_config(trust, &refusal)?);
        let connector = match trust {
            Trust::Plain => tls.https_or_http().enable_http1().wrap_connector(http),
            _ => tls.https_only().enable_http1().wrap_connector(http),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", record.token))
            .map_err(|_| PeerError::BadInput("the token is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        Ok(PeerClient {
            name: record.name.clone(),
            base: record.url.clone(),
            authority: HeaderValue::from_str(&authority)
                .map_err(|_| PeerError::BadInput(format!("peer URL {}", record.url)))?,
            authorization,
            http: client,
            refusal,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `scheme://host:port` of the peer.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends `method path` (path and query, starting with `/`) with `headers` (which must
    /// already be free of hop-by-hop headers and of the caller's own credentials), the
    /// peer's token and the peer's `Host`.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Body,
    ) -> Result<Response<Incoming>, PeerError> {
        if !path_and_query.starts_with('/') {
            return Err(PeerError::BadInput(format!(
                "path {path_and_query:?} must start with /"
            )));
        }
        let uri: Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| PeerError::BadInput(format!("path {path_and_query:?}: {e}")))?;
        headers.insert(AUTHORIZATION, self.authorization.clone());
        headers.insert(HOST, self.authority.clone());
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        self.http.request(request).await.map_err(|e| {
            let why = self.refusal.take().unwrap_or_else(|| describe(&e));
            PeerError::Unreachable(format!("{}: {why}", self.name))
        })
    }

    /// `GET path` and its JSON answer, within `timeout`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, PeerError> {
        let attempt = async {
            let response = self
                .send(Method::GET, path, HeaderMap::new(), Body::empty())
                .await?;
            let status = response.status();
            let body = read_capped(response.into_body(), MAX_JSON).await?;
            if !status.is_success() {
                return Err(PeerError::Refused {
                    status: status.as_u16(),
                    message: error_message(&body),
                });
            }
            serde_json::from_slice(&body).map_err(|e| {
                PeerError::Unreachable(format!("{}: unreadable answer to {path}: {e}", self.name))
            })
        };
        tokio::time::timeout(timeout, attempt).await.map_err(|_| {
            PeerError::Unreachable(format!(
                "{}: no answer to {path} within {timeout:?}",
                self.name
            ))
        })?
    }
}

/// A body read whole, refused past `cap` bytes.
pub async fn read_capped(body: Incoming, cap: usize) -> Result<Bytes, PeerError> {
    http_body_util::Limited::new(body, cap)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| PeerError::Unreachable(format!("reading the peer's answer: {e}")))
}

/// Docker's `{"message": …}`, or the start of the body.
pub fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(m) => m.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_string(),
    }
}

/// An error and its causes on one line (hyper's own message alone says only "Connect").
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
