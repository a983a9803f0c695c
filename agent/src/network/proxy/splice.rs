//! Relaying one proxied TCP connection both ways, zero-copy: each direction moves bytes
//! socket → pipe → socket with `splice(2)`, so they never enter user space. One future
//! drives both directions by polling both sockets' readiness; half-closes pass through
//! (EOF from one side becomes `shutdown(Write)` on the other) and the relay ends when
//! both directions are done. Where the kernel refuses to splice these sockets, the
//! relay falls back to [`tokio::io::copy_bidirectional`].

use rustix::io::Errno;
use rustix::net::Shutdown;
use rustix::pipe::{PipeFlags, SpliceFlags};
use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes asked for per splice into a pipe: a default pipe's capacity (16 pages).
const CHUNK: usize = 64 * 1024;

/// Set once the kernel has refused to splice a fresh connection; every later connection
/// then goes straight to the copying relay.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Whether connections are spliced (rather than copied, after the kernel refused).
#[cfg(test)]
pub fn zero_copy() -> bool {
    !UNSUPPORTED.load(Ordering::Relaxed)
}

/// Relays between `client` and `server` until both directions have seen EOF (and passed
/// it on), or either fails.
pub async fn relay(mut client: TcpStream, mut server: TcpStream) -> io::Result<()> {
    if !UNSUPPORTED.load(Ordering::Relaxed) {
        // Out of descriptors for the pipes: this one connection copies instead.
        if let (Ok(up), Ok(down)) = (Direction::new(), Direction::new()) {
            match splice_both(&client, &server, up, down).await {
                Err(Failed::Unsupported(error)) => {
                    tracing::debug!(%error, "splice unsupported; the port proxy copies instead");
                    UNSUPPORTED.store(true, Ordering::Relaxed);
                }
                Err(Failed::Io(error)) => return Err(error),
                Ok(()) => return Ok(()),
            }
        }
    }
    tokio::io::copy_bidirectional(&mut client, &mut server)
        .await
        .map(drop)
}

enum Failed {
    /// The very first splice was refused: nothing has moved, the streams can still be
    /// copied instead.
    Unsupported(io::Error),
    Io(io::Error),
}

/// One direction's pipe and progress.
struct Direction {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes in the pipe not yet written to the destination.
    pending: usize,
    /// The source has reached EOF.
    eof: bool,
    /// EOF has been passed on: nothing more to do in this direction.
    done: bool,
}

impl Direction {
    fn new() -> io::Result<Direction> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Direction {
            read,
            write,
            pending: 0,
            eof: false,
            done: false,
        })
    }

    /// Moves bytes from `from` to `to` until one of them would block (`Pending`), or EOF
    /// has been passed on (`Ready(Ok)`). `moved` is set once any byte entered a pipe.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        from: &TcpStream,
        to: &TcpStream,
        moved: &mut bool,
    ) -> Poll<io::Result<()>> {
        // Each readiness poll spends tokio's cooperative budget, so a busy connection
        // still yields to others.
        loop {
            if self.pending > 0 {
                ready!(to.poll_write_ready(cx))?;
                let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                match to.try_io(Interest::WRITABLE, || {
                    Ok(rustix::pipe::splice(
                        &self.read,
                        None,
                        to,
                        None,
                        self.pending,
                        flags,
                    )?)
                }) {
                    Ok(n) => self.pending -= n,
                    // Readiness cleared: the next round polls it again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            } else if self.eof {
                // The peer may already be gone (ENOTCONN); the other direction reports that.
                let _ = rustix::net::shutdown(to, Shutdown::Write);
                self.done = true;
                return Poll::Ready(Ok(()));
            } else {
                ready!(from.poll_read_ready(cx))?;
                // The pipe is empty here, so would-block can only mean the socket.
                let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                match from.try_io(Interest::READABLE, || {
                    Ok(rustix::pipe::splice(
                        from,
                        None,
                        &self.write,
                        None,
                        CHUNK,
                        flags,
                    )?)
                }) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        self.pending = n;
                        *moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
    }
}

async fn splice_both(
    client: &TcpStream,
    server: &TcpStream,
    mut up: Direction,
    mut down: Direction,
) -> Result<(), Failed> {
    let mut moved = false;
    poll_fn(|cx| {
        let mut result = Ok(());
        if !up.done
            && let Poll::Ready(Err(e)) = up.poll(cx, client, server, &mut moved)
        {
            result = Err(e);
        }
        if result.is_ok()
            && !down.done
            && let Poll::Ready(Err(e)) = down.poll(cx, server, client, &mut moved)
        {
            result = Err(e);
        }
        match result {
            Err(e) if !moved && unsupported(&e) => Poll::Ready(Err(Failed::Unsupported(e))),
            Err(e) => Poll::Ready(Err(Failed::Io(e))),
            Ok(()) if up.done && down.done => Poll::Ready(Ok(())),
            Ok(()) => Poll::Pending,
        }
    })
    .await
}

/// The errors with which a kernel (or a seccomp filter) refuses `splice` itself.
fn unsupported(error: &io::Error) -> bool {
    [Errno::INVAL, Errno::NOSYS, Errno::PERM, Errno::OPNOTSUPP]
        .iter()
        .any(|errno| error.raw_os_error() == Some(errno.raw_os_error()))
}
