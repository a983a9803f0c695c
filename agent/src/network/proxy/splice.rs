//! Zero-copy for a bulk direction of a relay ([`super::relay`]): bytes move socket → pipe →
//! socket with `splice(2)` and never enter user space.

use rustix::io::Errno;
use rustix::pipe::{PipeFlags, SpliceFlags};
use std::io;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll, ready};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes asked for per splice into a pipe: a default pipe's capacity (16 pages).
const CHUNK: usize = 64 * 1024;

/// How a direction's splicing ended.
pub enum Spliced {
    /// The source reached EOF and everything spliced from it was written on.
    Eof,
    /// The kernel refused the very first splice: nothing moved, the bytes are still in
    /// the source socket to be copied instead.
    Refused,
}

/// One direction's pipe and progress.
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes in the pipe not yet written to the destination.
    pending: usize,
    /// Whether any byte has entered the pipe yet.
    used: bool,
}

impl Pipe {
    pub fn new() -> io::Result<Pipe> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Pipe {
            read,
            write,
            pending: 0,
            used: false,
        })
    }

    /// Moves bytes from `from` to `to` until one of them would block (`Pending`) or the
    /// source's EOF is reached with the pipe empty. Bytes written to `to` are added to
    /// `spliced`.
    pub fn poll(
        &mut self,
        cx: &mut Context<'_>,
        from: &TcpStream,
        to: &TcpStream,
        spliced: &mut u64,
    ) -> Poll<io::Result<Spliced>> {
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        loop {
            if self.pending > 0 {
                ready!(to.poll_write_ready(cx))?;
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
                    Ok(n) => {
                        self.pending -= n;
                        *spliced += n as u64;
                    }
                    // Readiness cleared: the next round polls it again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            } else {
                ready!(from.poll_read_ready(cx))?;
                // The pipe is empty here, so would-block can only mean the socket.
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
                    Ok(0) => return Poll::Ready(Ok(Spliced::Eof)),
                    Ok(n) => {
                        self.pending = n;
                        self.used = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if !self.used && refused(&e) => {
                        return Poll::Ready(Ok(Spliced::Refused));
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
    }
}

/// The errors with which a kernel (or a seccomp filter) refuses `splice` itself.
fn refused(error: &io::Error) -> bool {
    [Errno::INVAL, Errno::NOSYS, Errno::PERM, Errno::OPNOTSUPP]
        .iter()
        .any(|errno| error.raw_os_error() == Some(errno.raw_os_error()))
}
