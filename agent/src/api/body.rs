//! Response bodies fed from a channel: what a blocking writer (tar) or a task produces,
//! streamed as it comes.

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

/// A streaming body of the chunks `rx` receives; an `Err` ends it broken.
pub fn channel_body(mut rx: mpsc::Receiver<std::io::Result<Bytes>>) -> Body {
    Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
