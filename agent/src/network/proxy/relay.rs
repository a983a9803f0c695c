//! Relaying one proxied TCP connection both ways.
//!
//! Most proxied connections carry little (a request, a reply of a few KiB), and for them the
//! cheapest relay is the fewest system calls: each direction reads into a small buffer and
//! writes it on, with no pipe to create and close. A direction whose read fills the whole
//! buffer carries bulk data; once that buffer is written out it switches to `splice(2)`
//! through a pipe of its own ([`super::splice`]), so bulk bytes never enter user space.
//!
//! One future drives both directions by polling both sockets' readiness. Half-closes pass
//! through: EOF from one side becomes `shutdown(Write)` on the other, except for the last
//! direction to finish, whose FIN the closing of both sockets sends anyway. The relay ends
//! when both directions are done, or either fails.

use super::splice::{Pipe, Spliced};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};

/// Bytes a direction copies per read. A read that fills it marks the direction as bulk.
pub const COPY_BUFFER: usize = 16 * 1024;

/// Set once the kernel has refused to splice TCP sockets; from then on bulk directions copy
/// too (a kernel or a seccomp filter that refuses it once refuses it always).
static SPLICE_REFUSED: AtomicBool = AtomicBool::new(false);

/// What a relay moved, by how: copied through user space, or spliced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub copied: u64,
    pub spliced: u64,
}

/// Relays between `client` and `server` until both directions have seen EOF (and passed
/// it on), or either fails.
pub async fn relay(mut client: TcpStream, mut server: TcpStream) -> io::Result<Moved> {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut up = Direction::default();
    let mut down = Direction::default();
    poll_fn(|cx| {
        if !up.done {
            let other_done = down.done;
            if let Poll::Ready(Err(e)) =
                up.poll(cx, &mut client_read, &mut server_write, other_done)
            {
                return Poll::Ready(Err(e));
            }
        }
        if !down.done {
            let other_done = up.done;
            if let Poll::Ready(Err(e)) =
                down.poll(cx, &mut server_read, &mut client_write, other_done)
            {
                return Poll::Ready(Err(e));
            }
        }
        if up.done && down.done {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    Ok(Moved {
        copied: up.moved.copied + down.moved.copied,
        spliced: up.moved.spliced + down.moved.spliced,
    })
}

/// One direction's state: how it moves bytes now, and how far it got.
#[derive(Default)]
struct Direction {
    mode: Mode,
    /// The source has reached EOF (and everything read has been written on).
    eof: bool,
    /// EOF has been passed on (or left to the close): nothing more to do here.
    done: bool,
    moved: Moved,
}

enum Mode {
    /// Through a buffer, allocated at the first read.
    Copy(Buffer),
    /// Through a pipe, once a read filled the buffer.
    Splice(Pipe),
}

impl Default for Mode {
    fn default() -> Mode {
        Mode::Copy(Buffer::default())
    }
}

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// `bytes[start..end]` is read but not yet written.
    start: usize,
    end: usize,
    /// The last read filled the buffer: switch to splicing once it is written out.
    bulk: bool,
}

impl Direction {
    /// Moves bytes from `from` to `to` until one of them would block (`Pending`), or EOF
    /// has been passed on (`Ready(Ok)`). `other_done`: the opposite direction has finished,
    /// so this one's EOF needs no `shutdown` (closing both sockets sends the FIN).
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        from: &mut ReadHalf<'_>,
        to: &mut WriteHalf<'_>,
        other_done: bool,
    ) -> Poll<io::Result<()>> {
        // Each readiness poll spends tokio's cooperative budget, so a busy connection
        // still yields to others.
        loop {
            match &mut self.mode {
                Mode::Copy(buffer) => {
                    if buffer.start < buffer.end {
                        let n = ready!(
                            Pin::new(&mut *to)
                                .poll_write(cx, &buffer.bytes[buffer.start..buffer.end])
                        )?;
                        if n == 0 {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
                        buffer.start += n;
                        self.moved.copied += n as u64;
                        continue;
                    }
                    if self.eof {
                        break;
                    }
                    if buffer.bulk && !SPLICE_REFUSED.load(Ordering::Relaxed) {
                        buffer.bulk = false;
                        // Out of descriptors for a pipe: this direction keeps copying.
                        if let Ok(pipe) = Pipe::new() {
                            self.mode = Mode::Splice(pipe);
                            continue;
                        }
                    }
                    if buffer.bytes.is_empty() {
                        buffer.bytes = vec![0; COPY_BUFFER];
                    }
                    let mut read = ReadBuf::new(&mut buffer.bytes);
                    // A short read also tells tokio the socket is drained, so the next poll
                    // waits for readiness instead of trying a read that would block.
                    ready!(Pin::new(&mut *from).poll_read(cx, &mut read))?;
                    let n = read.filled().len();
                    if n == 0 {
                        self.eof = true;
                    }
                    buffer.bulk = n == buffer.bytes.len();
                    buffer.start = 0;
                    buffer.end = n;
                }
                Mode::Splice(pipe) => {
                    match ready!(pipe.poll(cx, from.as_ref(), to.as_ref(), &mut self.moved.spliced))
                    {
                        Ok(Spliced::Eof) => {
                            self.eof = true;
                            break;
                        }
                        Ok(Spliced::Refused) => {
                            // Nothing entered the pipe: the same bytes are still to be read.
                            SPLICE_REFUSED.store(true, Ordering::Relaxed);
                            tracing::debug!("splice refused; the port proxy copies instead");
                            self.mode = Mode::default();
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
        }
        if !other_done {
            // The peer may already be gone (ENOTCONN); the other direction reports that.
            let _ = ready!(Pin::new(&mut *to).poll_shutdown(cx));
        }
        self.done = true;
        Poll::Ready(Ok(()))
    }
}

/// Whether bulk directions splice (the kernel has not refused it).
#[cfg(test)]
pub fn splicing() -> bool {
    !SPLICE_REFUSED.load(Ordering::Relaxed)
}
