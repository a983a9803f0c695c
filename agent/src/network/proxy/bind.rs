//! Taking the host port: a non-blocking, close-on-exec socket with the options a proxy
//! needs, bound (and for TCP listening) before any container starts.

use super::{Protocol, ProxyError};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType, ipproto, sockopt};
use std::net::SocketAddr;

/// Pending connections the kernel queues before the accept loop takes them (it caps this
/// at `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A bound host socket, not yet registered with a runtime.
#[derive(Debug)]
pub enum Bound {
    Tcp(std::net::TcpListener),
    Udp(std::net::UdpSocket),
}

impl Bound {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Bound::Tcp(socket) => socket.local_addr(),
            Bound::Udp(socket) => socket.local_addr(),
        }
    }
}

pub fn bind(addr: SocketAddr, protocol: Protocol) -> Result<Bound, ProxyError> {
    let step = |op: &'static str| {
        move |errno: Errno| ProxyError::Socket {
            addr,
            protocol,
            op,
            source: errno.into(),
        }
    };
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let (kind, proto) = match protocol {
        Protocol::Tcp => (SocketType::STREAM, ipproto::TCP),
        Protocol::Udp => (SocketType::DGRAM, ipproto::UDP),
    };
    let fd = rustix::net::socket_with(
        family,
        kind,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        Some(proto),
    )
    .map_err(step("socket"))?;
    if addr.is_ipv6() {
        // `[::]:P` must not also take `0.0.0.0:P`: Docker binds both for one mapping.
        sockopt::set_ipv6_v6only(&fd, true).map_err(step("IPV6_V6ONLY"))?;
    }
    if protocol == Protocol::Tcp {
        // Never on UDP: there it would let two sockets share the port.
        sockopt::set_socket_reuseaddr(&fd, true).map_err(step("SO_REUSEADDR"))?;
        // Small writes (interactive protocols, request/response) must not wait on Nagle at
        // the hop the client does not know about. Set here once: Linux hands it on to every
        // accepted connection, which spares a system call per client.
        sockopt::set_tcp_nodelay(&fd, true).map_err(step("TCP_NODELAY"))?;
    }
    rustix::net::bind(&fd, &addr).map_err(|errno| match errno {
        Errno::ADDRINUSE => ProxyError::PortAllocated { addr },
        errno => ProxyError::Bind {
            addr,
            protocol,
            source: errno.into(),
        },
    })?;
    Ok(match protocol {
        Protocol::Tcp => {
            // With SO_REUSEADDR, bind succeeds beside a socket that is bound but not yet
            // listening; the clash shows here instead.
            rustix::net::listen(&fd, BACKLOG).map_err(|errno| match errno {
                Errno::ADDRINUSE => ProxyError::PortAllocated { addr },
                errno => step("listen")(errno),
            })?;
            Bound::Tcp(fd.into())
        }
        Protocol::Udp => Bound::Udp(fd.into()),
    })
}
