//! The userland port proxy: what serves `-p host:container`. Hosts here have no iptables
//! NAT, so the agent itself listens on the host port and forwards every TCP connection
//! and UDP datagram to the container's address on its bridge.
//!
//! Two steps, so a port clash is reported before the container starts:
//! [`Listener::bind`] takes the host port synchronously, [`Listener::serve`] starts
//! forwarding on the proxy's own runtime thread and returns a [`Forwarding`], whose drop (or
//! [`Forwarding::close`]) frees the port at once and ends its connections and sessions.

mod bind;
mod relay;
mod runtime;
mod slot;
mod splice;
mod tcp;
mod udp;

#[cfg(test)]
mod tests;

use slot::Closable;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use tokio::task::AbortHandle;

/// The transport a port mapping forwards (`80/tcp`, `53/udp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ProxyError;

    /// `tcp` or `udp`, in any case (Docker's `80/TCP` works too).
    fn from_str(s: &str) -> Result<Protocol, ProxyError> {
        if s.eq_ignore_ascii_case("tcp") {
            Ok(Protocol::Tcp)
        } else if s.eq_ignore_ascii_case("udp") {
            Ok(Protocol::Udp)
        } else {
            Err(ProxyError::UnknownProtocol(s.to_owned()))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Another socket holds the host port. The wording is Docker's, which clients match.
    #[error("Bind for {} failed: port is already allocated", HostPort(*.addr))]
    PortAllocated { addr: SocketAddr },
    /// Binding failed otherwise (no such local address, a privileged port without the
    /// capability, ...).
    #[error("binding {protocol} {}: {source}", HostPort(*.addr))]
    Bind {
        addr: SocketAddr,
        protocol: Protocol,
        #[source]
        source: std::io::Error,
    },
    /// Creating or setting up the socket failed (`op` is the step: `socket`, `SO_REUSEADDR`,
    /// `listen`, ...).
    #[error("{protocol} socket for {}: {op}: {source}", HostPort(*.addr))]
    Socket {
        addr: SocketAddr,
        protocol: Protocol,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown protocol {0:?} (expected tcp or udp)")]
    UnknownProtocol(String),
}

/// `ip:port`, or `[ip]:port` for IPv6: how Docker writes a host address in its messages.
struct HostPort(SocketAddr);

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SocketAddr::V4(a) => write!(f, "{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(f, "[{}]:{}", a.ip(), a.port()),
        }
    }
}

/// A bound, not yet serving, host socket. Binding is synchronous so a clash is reported
/// before the container starts.
#[derive(Debug)]
pub struct Listener {
    socket: bind::Bound,
    local: SocketAddr,
}

impl Listener {
    /// Binds `host` (port 0 = let the kernel pick). EADDRINUSE → [`ProxyError::PortAllocated`]
    /// whose Display is exactly Docker's wording: "Bind for {ip}:{port} failed: port is
    /// already allocated" (IPv6 ip in brackets). IPv6 sockets are V6ONLY (so 0.0.0.0:P and
    /// [::]:P can both be bound). SO_REUSEADDR on TCP (so a restarted agent can re-bind
    /// while old connections linger in TIME_WAIT).
    pub fn bind(host: SocketAddr, protocol: Protocol) -> Result<Listener, ProxyError> {
        let socket = bind::bind(host, protocol)?;
        let local = socket.local_addr().map_err(|source| ProxyError::Socket {
            addr: host,
            protocol,
            op: "getsockname",
            source,
        })?;
        Ok(Listener { socket, local })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    #[cfg(test)]
    pub fn protocol(&self) -> Protocol {
        match self.socket {
            bind::Bound::Tcp(_) => Protocol::Tcp,
            bind::Bound::Udp(_) => Protocol::Udp,
        }
    }

    /// Starts forwarding to `target` on the proxy's own runtime thread ([`runtime`]), or,
    /// if that thread could not be started, on the current tokio runtime (then this must be
    /// called inside one).
    ///
    /// If the runtime cannot take the socket (its reactor is out of resources), that is
    /// logged and the returned forward is already closed: the port is free again.
    pub fn serve(self, target: SocketAddr) -> Forwarding {
        let local = self.local;
        // Registering the socket and spawning its loop both go to the entered runtime.
        let _proxy_runtime = runtime::handle().map(|handle| handle.enter());
        let started = match self.socket {
            bind::Bound::Tcp(socket) => tcp::serve(socket, target),
            bind::Bound::Udp(socket) => udp::serve(socket, target),
        };
        match started {
            Ok((socket, task)) => Forwarding {
                local,
                target,
                socket: Some(socket),
                task: Some(task),
            },
            Err(error) => {
                tracing::error!(%local, %target, %error, "port proxy cannot serve");
                Forwarding {
                    local,
                    target,
                    socket: None,
                    task: None,
                }
            }
        }
    }
}

/// A running forward. Dropping it (or [`Forwarding::close`]) stops listening at once (the
/// port is free again when close returns/drop finishes) and ends its live connections and
/// UDP sessions.
pub struct Forwarding {
    local: SocketAddr,
    target: SocketAddr,
    /// The host socket, shared with the serving task only through the slot's lock.
    socket: Option<Arc<dyn Closable>>,
    /// The accept (TCP) or receive (UDP) task; it owns every connection or session task,
    /// so aborting it ends them all.
    task: Option<AbortHandle>,
}

impl Forwarding {
    #[cfg(test)]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn close(self) {
        drop(self);
    }
}

impl fmt::Debug for Forwarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forwarding")
            .field("local", &self.local)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        // First the socket, synchronously: an aborted task is only dropped when its
        // runtime next gets to it, but the port must be free when this returns.
        if let Some(socket) = self.socket.take() {
            socket.close();
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
