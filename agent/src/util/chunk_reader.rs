//! Async chunks (an HTTP body, a registry download) read as a blocking
//! `std::io::Read`, for the synchronous tar and extraction code.

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use std::io::{self, Read};
use tokio::sync::mpsc;

/// Reads chunks sent from async code; an `Err` chunk fails the read, a closed channel
/// is the end of the stream.
pub struct ChunkReader {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChunkReader {
    pub fn new(receiver: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        ChunkReader {
            receiver,
            current: Bytes::new(),
        }
    }

    /// A request body (chunked, no length — how tar uploads arrive), pumped on the
    /// async runtime; read the result from a blocking thread.
    pub fn from_body(body: Body) -> Self {
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut stream = body.into_data_stream();
            while let Some(chunk) = stream.next().await {
                let item = chunk.map_err(|e| io::Error::other(format!("request body: {e}")));
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        ChunkReader::new(receiver)
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
