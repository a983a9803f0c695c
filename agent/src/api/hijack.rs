//! Docker's hijacked connections (attach, exec start): `101 UPGRADED` with
//! `Upgrade: tcp`, then a raw duplex byte stream between the client and a supervisor.

use super::version_prefix::RequestedVersion;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::oneshot;

/// Content type of the stream: raw with a TTY; multiplexed frames otherwise (named so
/// only from API 1.42, as moby does).
pub fn content_type(tty: bool, version: Option<RequestedVersion>) -> &'static str {
    let multiplexed_name = version.is_none_or(|v| v.0 >= (1, 42));
    if !tty && multiplexed_name {
        "application/vnd.docker.multiplexed-stream"
    } else {
        "application/vnd.docker.raw-stream"
    }
}

/// Answers `request` with 101 and, once upgraded, pumps bytes between the client and
/// the stream `source` delivers (now, or when the container starts). Without an
/// `Upgrade` header the output alone goes in an ordinary 200 body.
pub fn respond(
    mut request: Request,
    tty: bool,
    source: oneshot::Receiver<UnixStream>,
    on_end: impl FnOnce() + Send + 'static,
) -> Response {
    let version = request.extensions().get::<RequestedVersion>().copied();
    let wants_upgrade = request.headers().contains_key(header::UPGRADE);
    let kind = content_type(tty, version);
    if !wants_upgrade {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
        tokio::spawn(async move {
            if let Ok(mut stream) = source.await {
                let _ = stream.shutdown().await;
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if tx
                                .send(Ok(bytes::Bytes::copy_from_slice(&buf[..n])))
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    }
                }
            }
            on_end();
        });
        let body = super::body::channel_body(rx);
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        return response;
    }
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            on_end();
            return;
        };
        let client = TokioIo::new(upgraded);
        match source.await {
            Ok(stream) => pump(client, stream, on_end).await,
            Err(_) => on_end(),
        }
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    response
}

/// Client → supervisor until the client half-closes (stdin EOF, passed on as a write
/// shutdown); supervisor → client until the process has exited. The connection ends
/// when the output ends, after `on_end` has run: what the end settles (an exec's exit
/// code) must be there before the client sees the end, as `docker exec` asks for the
/// exit code right after.
async fn pump<C>(client: C, stream: UnixStream, on_end: impl FnOnce())
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut shim_read, mut shim_write) = stream.into_split();
    let input = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut shim_write).await;
        let _ = shim_write.shutdown().await;
    });
    let _ = tokio::io::copy(&mut shim_read, &mut client_write).await;
    let _ = client_write.flush().await;
    on_end();
    let _ = client_write.shutdown().await;
    input.abort();
}
