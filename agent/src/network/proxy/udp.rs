//! UDP forwarding. One socket on the host port receives every client's datagrams; each
//! client address gets a session: a socket `connect`ed to the target from an ephemeral
//! port, whose replies go back to that client through the host socket (`send_to`), so
//! the client sees them come from the address it sent to. Sessions end after a minute
//! without traffic either way, and at most [`Limits::max_sessions`] live at once (the
//! longest idle makes room), so a flood of source addresses cannot exhaust descriptors.

use super::slot::{Closable, Slot};
use rustix::io::Errno;
use rustix::net::SendFlags;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// The largest datagram relayed (the UDP length field's limit).
const MAX_DATAGRAM: usize = 65535;

/// Datagrams taken from one socket before the task yields to the others.
const BATCH: usize = 32;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A session without traffic either way for this long is dropped.
    pub idle: Duration,
    /// At most this many sessions (each holds a descriptor).
    pub max_sessions: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            idle: Duration::from_secs(60),
            max_sessions: 1024,
        }
    }
}

thread_local! {
    /// One receive buffer per runtime thread, instead of one per forward or session. It is
    /// only borrowed between awaits.
    static DATAGRAM: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_DATAGRAM]);
}

/// Registers `socket` with the current runtime and spawns its receive loop. Returns the
/// closable socket and the loop's handle; aborting the loop ends every session.
pub fn serve(
    socket: std::net::UdpSocket,
    target: SocketAddr,
) -> io::Result<(Arc<dyn Closable>, AbortHandle)> {
    serve_with(socket, target, Limits::default())
}

pub fn serve_with(
    socket: std::net::UdpSocket,
    target: SocketAddr,
    limits: Limits,
) -> io::Result<(Arc<dyn Closable>, AbortHandle)> {
    let listener = Arc::new(Slot::new(UdpSocket::from_std(socket)?));
    let sessions = Sessions {
        listener: listener.clone(),
        target,
        limits,
        started: Instant::now(),
        by_client: HashMap::new(),
    };
    let task = tokio::spawn(sessions.run());
    Ok((listener, task.abort_handle()))
}

/// The receive loop's state: the live sessions by client address.
struct Sessions {
    listener: Arc<Slot<UdpSocket>>,
    target: SocketAddr,
    limits: Limits,
    /// The origin of the sessions' activity stamps.
    started: Instant,
    /// Dropping a session (expiry, eviction, or this loop's end) aborts its reply task.
    by_client: HashMap<SocketAddr, Session>,
}

struct Session {
    shared: Arc<SessionShared>,
    replies: AbortHandle,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.replies.abort();
    }
}

/// What the receive loop and a session's reply task share.
struct SessionShared {
    /// Connected to the target.
    socket: UdpSocket,
    /// Milliseconds after `Sessions::started` of the last datagram either way.
    last_active: AtomicU64,
}

impl Sessions {
    async fn run(mut self) {
        let mut sweep = tokio::time::interval(self.limits.idle / 6);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ready = recv_ready(&self.listener) => match ready {
                    None => return,
                    Some(Ok(())) => self.receive_batch(),
                    Some(Err(error)) => {
                        tracing::warn!(target = %self.target, %error, "port proxy: UDP receive failed");
                        return;
                    }
                },
                _ = sweep.tick() => self.expire(),
            }
        }
    }

    /// Forwards the datagrams queued on the host socket, up to a batch.
    fn receive_batch(&mut self) {
        for _ in 0..BATCH {
            let received = DATAGRAM.with_borrow_mut(|buf| {
                let received = self.listener.with(|l| l.try_recv_from(buf))?;
                Some(received.map(|(n, client)| self.forward(&buf[..n], client)))
            });
            match received {
                None => return,
                Some(Ok(())) => {}
                Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => return,
                Some(Err(error)) => {
                    tracing::debug!(target = %self.target, %error, "port proxy: UDP receive");
                    return;
                }
            }
        }
    }

    /// Sends one client's datagram to the target through its session, opening one if needed.
    fn forward(&mut self, datagram: &[u8], client: SocketAddr) {
        let now = self.now();
        let shared = match self.by_client.get(&client) {
            Some(session) if !session.replies.is_finished() => session.shared.clone(),
            _ => match self.open(client) {
                Ok(shared) => shared,
                Err(error) => {
                    tracing::debug!(%client, target = %self.target, %error, "port proxy: UDP session");
                    return;
                }
            },
        };
        shared.last_active.store(now, Ordering::Relaxed);
        let mut sent = send(&shared.socket, datagram, None);
        if sent == Err(Errno::CONNREFUSED) {
            // An earlier datagram's ICMP "port unreachable" surfaced here instead of
            // this datagram going out: the container's socket may be up by now.
            sent = send(&shared.socket, datagram, None);
        }
        if let Err(error) = sent {
            // Datagrams may be lost; a full send buffer drops this one.
            tracing::trace!(%client, target = %self.target, %error, "port proxy: UDP send");
        }
    }

    fn open(&mut self, client: SocketAddr) -> io::Result<Arc<SessionShared>> {
        // Make room first, so the cap holds for descriptors too.
        self.by_client.remove(&client);
        if self.by_client.len() >= self.limits.max_sessions
            && let Some(oldest) = self
                .by_client
                .iter()
                .min_by_key(|(_, s)| s.shared.last_active.load(Ordering::Relaxed))
                .map(|(client, _)| *client)
        {
            self.by_client.remove(&oldest);
        }
        let unspecified = match self.target {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        let socket = std::net::UdpSocket::bind(unspecified)?;
        socket.connect(self.target)?;
        socket.set_nonblocking(true)?;
        let shared = Arc::new(SessionShared {
            socket: UdpSocket::from_std(socket)?,
            last_active: AtomicU64::new(self.now()),
        });
        let replies = tokio::spawn(replies(
            shared.clone(),
            client,
            self.listener.clone(),
            self.started,
        ))
        .abort_handle();
        self.by_client.insert(
            client,
            Session {
                shared: shared.clone(),
                replies,
            },
        );
        Ok(shared)
    }

    /// Drops the sessions idle for too long, and those whose reply task has ended.
    fn expire(&mut self) {
        let now = self.now();
        let idle = self.limits.idle.as_millis() as u64;
        self.by_client.retain(|_, session| {
            let last = session.shared.last_active.load(Ordering::Relaxed);
            now.saturating_sub(last) < idle && !session.replies.is_finished()
        });
    }

    fn now(&self) -> u64 {
        millis_since(self.started)
    }
}

fn millis_since(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Sends one datagram right away, to the connected peer or to `to`. Sends go straight to
/// the kernel, not through tokio's write readiness: a UDP send does not wait for room
/// (a full buffer drops the datagram, as the network may), and a socket just opened has
/// no readiness reported yet.
fn send(socket: &UdpSocket, datagram: &[u8], to: Option<SocketAddr>) -> Result<usize, Errno> {
    match to {
        None => rustix::net::send(socket, datagram, SendFlags::DONTWAIT),
        Some(to) => rustix::net::sendto(socket, datagram, SendFlags::DONTWAIT, &to),
    }
}

/// Readiness of the host socket, or `None` once the forward is closed.
async fn recv_ready(listener: &Slot<UdpSocket>) -> Option<io::Result<()>> {
    poll_fn(|cx| match listener.with(|l| l.poll_recv_ready(cx)) {
        None => Poll::Ready(None),
        Some(ready) => ready.map(Some),
    })
    .await
}

/// A session's reply task: the target's datagrams go back to `client` from the host socket.
async fn replies(
    session: Arc<SessionShared>,
    client: SocketAddr,
    listener: Arc<Slot<UdpSocket>>,
    started: Instant,
) {
    loop {
        if let Err(error) = session.socket.readable().await {
            tracing::debug!(%client, %error, "port proxy: UDP session");
            return;
        }
        for _ in 0..BATCH {
            let received = DATAGRAM.with_borrow_mut(|buf| -> io::Result<bool> {
                let n = session.socket.try_recv(buf)?;
                session
                    .last_active
                    .store(millis_since(started), Ordering::Relaxed);
                match listener.with(|l| send(l, &buf[..n], Some(client))) {
                    // The forward is closed.
                    None => Ok(false),
                    Some(Ok(_)) => Ok(true),
                    Some(Err(error)) => {
                        tracing::trace!(%client, %error, "port proxy: UDP reply");
                        Ok(true)
                    }
                }
            });
            match received {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The container's port is closed (ICMP): keep the session, it may open.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(error) => {
                    tracing::debug!(%client, %error, "port proxy: UDP session");
                    return;
                }
            }
        }
    }
}
