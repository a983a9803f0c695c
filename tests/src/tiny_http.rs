//! [`TinyServer`]: a small HTTP/1.1 server on 127.0.0.1 for test doubles (the token issuer,
//! the registry proxy). It runs on its own thread and tokio runtime, so it works the same
//! from sync and async tests and outlives no test: dropping it stops it.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// A handler: the request with its whole body, to a response.
pub type Handler = Arc<
    dyn Fn(Request<Bytes>) -> Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

/// A running server. Dropping it stops the accept loop and the runtime.
pub struct TinyServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TinyServer {
    /// Binds 127.0.0.1 on a port the kernel picks and serves `handler` there.
    pub fn start(name: &str, handler: Handler) -> Result<TinyServer> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .with_context(|| format!("binding the {name} to 127.0.0.1"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the server runtime")?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("berth-tests-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let handler = handler.clone();
                                tokio::spawn(serve_connection(stream, handler));
                            }
                        }
                    }
                });
            })
            .context("spawning the server thread")?;
        Ok(TinyServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, handler: Handler) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            Ok::<_, std::convert::Infallible>(handler(Request::from_parts(parts, body)).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A response with `status`, a JSON `content-type` and `body`.
pub fn json_response(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
