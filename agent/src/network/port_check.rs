//! Whether a host port can be published now, for the dashboard's Run dialog
//! (`GET /berth/v1/ports/check`): not served by one of Berth's own containers, and not held by
//! anything else on the host (a test bind, released at once), with a free one suggested.

use super::Networks;
use super::proxy::Protocol;
use shared::live::PortCheck;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Ports tried above (then below) a taken one before giving up on a suggestion.
const SEARCH: u16 = 200;
/// Suggestions stay out of the privileged range when the asked port is outside it.
const FIRST_UNPRIVILEGED: u16 = 1024;

fn try_bind(addr: SocketAddr, protocol: Protocol) -> io::Result<()> {
    match protocol {
        Protocol::Tcp => std::net::TcpListener::bind(addr).map(drop),
        Protocol::Udp => std::net::UdpSocket::bind(addr).map(drop),
    }
}

/// Whether something on the host holds `port` on `ip` (every address when `None`: 0.0.0.0
/// and ::). Only "address in use" counts: an address family the host lacks is no clash.
fn held_on_host(ip: Option<IpAddr>, port: u16, protocol: Protocol) -> bool {
    let addrs = match ip {
        Some(ip) => vec![ip],
        None => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
    };
    addrs.into_iter().any(|ip| {
        try_bind(SocketAddr::new(ip, port), protocol)
            .is_err_and(|e| e.kind() == io::ErrorKind::AddrInUse)
    })
}

impl Networks {
    /// Why `port` cannot be published on `ip`, or `None` when it can.
    fn port_taken(&self, ip: Option<IpAddr>, port: u16, protocol: Protocol) -> Option<String> {
        let usage = self.port_usage();
        let ours = usage.mappings.iter().find(|m| {
            let overlaps = match (ip, m.host_ip.parse::<IpAddr>()) {
                (Some(asked), Ok(served)) => {
                    asked == served || asked.is_unspecified() || served.is_unspecified()
                }
                _ => true,
            };
            m.host_port == port && m.protocol == protocol.as_str() && overlaps
        });
        if let Some(m) = ours {
            return Some(format!(
                "published by container {} ({}:{}/{} → {})",
                m.container_name, m.host_ip, m.host_port, m.protocol, m.container_port
            ));
        }
        held_on_host(ip, port, protocol)
            .then(|| "in use by another program on this host".to_string())
    }

    /// Whether `port`/`protocol` on `ip` can be published, with a free port to suggest.
    pub fn check_port(&self, ip: Option<IpAddr>, port: u16, protocol: Protocol) -> PortCheck {
        let reason = self.port_taken(ip, port, protocol);
        let free = reason.is_none();
        let suggestion = if free {
            Some(port)
        } else {
            let floor = if port >= FIRST_UNPRIVILEGED {
                FIRST_UNPRIVILEGED
            } else {
                1
            };
            let above = (1..=SEARCH).filter_map(|d| port.checked_add(d));
            let below = (1..=SEARCH).filter_map(|d| port.checked_sub(d).filter(|p| *p >= floor));
            above
                .chain(below)
                .find(|p| self.port_taken(ip, *p, protocol).is_none())
        };
        PortCheck {
            port,
            protocol: protocol.as_str().to_string(),
            free,
            reason,
            suggestion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_is_held() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lo = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(held_on_host(lo, port, Protocol::Tcp));
        assert!(held_on_host(None, port, Protocol::Tcp));
        drop(listener);
        assert!(!held_on_host(lo, port, Protocol::Tcp));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        assert!(held_on_host(lo, port, Protocol::Udp));
    }
}
