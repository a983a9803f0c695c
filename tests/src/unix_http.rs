//! A small HTTP/1.1 client over a unix socket (reqwest cannot dial one), built on hyper.
//!
//! [`request`] reads the whole body; [`send`] hands back the streaming response (for
//! `/events` and other long-lived bodies) and supports `Upgrade` (attach/exec hijacks) through
//! `hyper::upgrade::on`.

use std::path::Path;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// A complete response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response body is not the expected JSON (status {}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// A header's value as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` on a fresh connection to `socket` and returns the response with its body
/// still streaming. A `Host` header is added when missing (HTTP/1.1 requires one).
pub async fn send(
    socket: &Path,
    mut request: Request<Full<Bytes>>,
) -> Result<hyper::Response<Incoming>> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| format!("connecting to unix socket {}", socket.display()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake on the unix socket")?;
    tokio::spawn(async move {
        // The connection ends when the response (or the upgraded stream) is dropped.
        let _ = connection.with_upgrades().await;
    });
    if !request.headers().contains_key(HOST) {
        request
            .headers_mut()
            .insert(HOST, HeaderValue::from_static("localhost"));
    }
    let shown = format!("{} {}", request.method(), request.uri());
    sender
        .send_request(request)
        .await
        .with_context(|| format!("{shown} over {}", socket.display()))
}

/// Sends one request (`path` includes any query string) and reads the whole response.
pub async fn request(
    socket: &Path,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Response> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(body.into()))
        .context("building the request")?;
    let response = send(socket, request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the response body")?
        .to_bytes();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// `GET path` over the unix socket.
pub async fn get(socket: &Path, path: &str) -> Result<Response> {
    request(socket, Method::GET, path, &[], Bytes::new()).await
}
