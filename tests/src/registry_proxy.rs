//! [`RegistryProxy`]: a reverse proxy in front of a [`crate::TestRegistry`] that can make it
//! behave like registries seen in the wild, or like a hostile one: ignore `Range`, redirect
//! blob downloads elsewhere (as registries do to their CDN), lie in `Docker-Content-Digest`.
//! It records every request line, so tests can see what a client sent.
//!
//! The client's `Host` header is passed on, so the registry's `Location` answers point back
//! at the proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONNECTION, HeaderValue, LOCATION, RANGE, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};

use crate::tiny_http::{Handler, TinyServer};

/// What the proxy changes.
#[derive(Debug, Clone, Default)]
pub struct ProxyOptions {
    /// Drop `Range` from requests: the registry then answers 200 with the whole blob.
    pub ignore_range: bool,
    /// Answer blob `GET`s with a 307 to the registry itself (another port: another origin).
    pub redirect_blobs: bool,
    /// Replace `Docker-Content-Digest` on manifest answers with this.
    pub manifest_digest_header: Option<String>,
    /// Answer the first this many requests with `503 Service Unavailable` (a flaky registry).
    pub fail_first: usize,
}

/// One proxied request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub range: Option<String>,
    pub authorization: bool,
}

/// A running proxy. Dropping it stops it.
pub struct RegistryProxy {
    server: TinyServer,
    log: Arc<Mutex<Vec<ProxiedRequest>>>,
}

impl RegistryProxy {
    /// Proxies to the registry at `upstream`.
    pub fn start(upstream: SocketAddr, options: ProxyOptions) -> Result<RegistryProxy> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the proxy's client")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler_log = log.clone();
        let options = Arc::new(options);
        let failures_left = Arc::new(AtomicUsize::new(options.fail_first));
        let handler: Handler = Arc::new(move |request| {
            let client = client.clone();
            let log = handler_log.clone();
            let options = options.clone();
            let failures_left = failures_left.clone();
            Box::pin(async move {
                let fail = failures_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    record(&log, &request);
                    let mut response = Response::new(Full::new(Bytes::from_static(
                        b"{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"try again\"}]}",
                    )));
                    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    return response;
                }
                match forward(&client, upstream, &options, &log, request).await {
                    Ok(response) => response,
                    Err(err) => {
                        let mut response =
                            Response::new(Full::new(Bytes::from(format!("proxy error: {err:#}"))));
                        *response.status_mut() = StatusCode::BAD_GATEWAY;
                        response
                    }
                }
            })
        });
        let server = TinyServer::start("registry-proxy", handler)?;
        Ok(RegistryProxy { server, log })
    }

    /// `127.0.0.1:PORT`, to use as the registry part of references.
    pub fn host(&self) -> String {
        self.server.addr().to_string()
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: SocketAddr,
    options: &ProxyOptions,
    log: &Mutex<Vec<ProxiedRequest>>,
    request: Request<Bytes>,
) -> Result<Response<Full<Bytes>>> {
    record(log, &request);
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let is_blob = path.contains("/blobs/sha256:");
    let is_manifest = path.contains("/manifests/");
    if options.redirect_blobs && is_blob && parts.method == Method::GET {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        response.headers_mut().insert(
            LOCATION,
            HeaderValue::from_str(&format!("http://{upstream}{path_and_query}"))?,
        );
        return Ok(response);
    }
    let mut headers = parts.headers.clone();
    headers.remove(CONNECTION);
    headers.remove(TRANSFER_ENCODING);
    if options.ignore_range {
        headers.remove(RANGE);
    }
    let answer = client
        .request(
            parts.method.clone(),
            format!("http://{upstream}{path_and_query}"),
        )
        .headers(headers)
        .body(body)
        .send()
        .await
        .context("forwarding to the registry")?;
    let status = answer.status();
    let mut response_headers = answer.headers().clone();
    let body = answer
        .bytes()
        .await
        .context("reading the registry's answer")?;
    response_headers.remove(CONNECTION);
    response_headers.remove(TRANSFER_ENCODING);
    if is_manifest && let Some(digest) = &options.manifest_digest_header {
        response_headers.insert("docker-content-digest", HeaderValue::from_str(digest)?);
    }
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    Ok(response)
}

fn record(log: &Mutex<Vec<ProxiedRequest>>, request: &Request<Bytes>) {
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ProxiedRequest {
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            range: request
                .headers()
                .get(RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            authorization: request.headers().contains_key(hyper::header::AUTHORIZATION),
        });
}
