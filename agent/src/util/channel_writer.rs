//! A blocking `Write` whose bytes come out as an async stream of chunks: lets
//! synchronous archive writers (tar) feed a streaming HTTP body.

use bytes::Bytes;
use std::io::{self, Write};
use tokio::sync::mpsc;

const CHUNK: usize = 256 * 1024;

pub struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    /// The writer and the receiving end; the receiver ends when the writer is dropped.
    pub fn new() -> (Self, mpsc::Receiver<io::Result<Bytes>>) {
        let (sender, receiver) = mpsc::channel(8);
        (
            ChannelWriter {
                sender,
                buffer: Vec::with_capacity(CHUNK),
            },
            receiver,
        )
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// A sender that can end the stream with an error after the writer has moved on
    /// (e.g. into a blocking task that failed before writing).
    pub fn error_handle(&self) -> mpsc::Sender<io::Result<Bytes>> {
        self.sender.clone()
    }

    /// Ends the stream with an error the client will see as a broken body.
    pub fn fail(self, error: io::Error) {
        let _ = self.sender.blocking_send(Err(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send_buffer();
    }
}
