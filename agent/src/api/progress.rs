//! Docker's JSON-lines streams (`application/json`, one object per line, flushed one by
//! one): pull/push progress, load and import results. Errors inside a started stream
//! carry both `error` and `errorDetail`, as the CLI expects.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// The sending half: what a long operation reports through.
#[derive(Clone)]
pub struct Progress {
    sender: mpsc::UnboundedSender<Value>,
}

impl Progress {
    pub fn send(&self, line: Value) {
        let _ = self.sender.send(line);
    }

    pub fn status(&self, status: &str) {
        self.send(json!({ "status": status }));
    }

    pub fn stream_text(&self, text: &str) {
        self.send(json!({ "stream": text }));
    }

    /// True once the client stopped reading (the response went away).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    pub fn error(&self, message: &str) {
        self.send(json!({ "errorDetail": { "message": message }, "error": message }));
    }
}

/// A channel whose lines become the response body.
pub fn channel() -> (Progress, Response) {
    let (sender, receiver) = mpsc::unbounded_channel::<Value>();
    let lines = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let line = receiver.recv().await?;
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        Some((Ok::<_, Infallible>(Bytes::from(bytes)), receiver))
    });
    let response = (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(lines),
    )
        .into_response();
    (Progress { sender }, response)
}
