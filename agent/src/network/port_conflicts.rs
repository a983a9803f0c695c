//! Host ports claimed more than once: a stopped container asking for a port a running one
//! holds (it cannot start), or several stopped ones asking for the same port (only one can
//! run at a time). The proxy's IPv6 sockets are V6ONLY, so `0.0.0.0` and `::` overlap only
//! addresses of their own family.

use shared::ports::{PortConflict, PortMapping};
use std::net::IpAddr;

/// Whether two listen addresses would clash on one port.
fn overlap(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => {
            a.is_ipv4() == b.is_ipv4() && (a == b || a.is_unspecified() || b.is_unspecified())
        }
        _ => a == b,
    }
}

/// The conflicts among `mappings`, by host port and protocol. Mappings of one container never
/// conflict with each other (it asks for `0.0.0.0` and `::` on purpose).
pub fn conflicts(mappings: &[PortMapping]) -> Vec<PortConflict> {
    let mut out: Vec<PortConflict> = Vec::new();
    for (i, a) in mappings.iter().enumerate() {
        for b in &mappings[i + 1..] {
            if a.container_id == b.container_id
                || a.host_port != b.host_port
                || a.protocol != b.protocol
                || !overlap(&a.host_ip, &b.host_ip)
                || (a.served && b.served)
            {
                continue;
            }
            let known = out
                .iter_mut()
                .find(|c| c.host_port == a.host_port && c.protocol == a.protocol);
            match known {
                Some(c) => {
                    for m in [a, b] {
                        if !c.containers.contains(&m.container_name) {
                            c.containers.push(m.container_name.clone());
                        }
                    }
                }
                None => out.push(PortConflict {
                    host_port: a.host_port,
                    protocol: a.protocol.clone(),
                    containers: vec![a.container_name.clone(), b.container_name.clone()],
                    message: String::new(),
                }),
            }
        }
    }
    for c in &mut out {
        let holder = mappings.iter().find(|m| {
            m.served
                && m.host_port == c.host_port
                && m.protocol == c.protocol
                && c.containers.contains(&m.container_name)
        });
        // The holder first, then the rest in the order they came.
        if let Some(h) = holder {
            c.containers.retain(|n| *n != h.container_name);
            c.containers.insert(0, h.container_name.clone());
        }
        let port = format!("{}/{}", c.host_port, c.protocol);
        let others = c.containers[1..].join(", ");
        c.message = match holder {
            Some(h) => format!(
                "{} holds {port}; {others} cannot start while it does",
                h.container_name
            ),
            None => format!(
                "{} all ask for {port}: only one of them can run at a time",
                c.containers.join(", ")
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(name: &str, ip: &str, port: u16, served: bool) -> PortMapping {
        PortMapping {
            host_ip: ip.into(),
            host_port: port,
            protocol: "tcp".into(),
            container_id: format!("id-{name}"),
            container_name: name.into(),
            container_port: 80,
            container_ip: String::new(),
            network: String::new(),
            served,
            state: if served { "running" } else { "exited" }.into(),
        }
    }

    #[test]
    fn a_stopped_container_asking_for_a_held_port_conflicts() {
        let list = [
            mapping("api", "0.0.0.0", 8080, false),
            mapping("web", "0.0.0.0", 8080, true),
            mapping("web", "::", 8080, true),
            mapping("db", "0.0.0.0", 5432, true),
        ];
        let c = conflicts(&list);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].containers, ["web", "api"]);
        assert_eq!(
            c[0].message,
            "web holds 8080/tcp; api cannot start while it does"
        );
    }

    #[test]
    fn stopped_containers_asking_for_one_port_conflict() {
        let list = [
            mapping("a", "127.0.0.1", 9000, false),
            mapping("b", "0.0.0.0", 9000, false),
            mapping("c", "0.0.0.0", 9000, false),
        ];
        let c = conflicts(&list);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].containers, ["a", "b", "c"]);
        assert!(
            c[0].message.contains("only one of them can run"),
            "{}",
            c[0].message
        );
    }

    #[test]
    fn different_addresses_families_protocols_or_one_container_do_not() {
        let mut udp = mapping("u", "0.0.0.0", 53, false);
        udp.protocol = "udp".into();
        let list = [
            mapping("a", "127.0.0.1", 80, true),
            mapping("b", "127.0.0.2", 80, false),
            mapping("c", "::", 81, true),
            mapping("d", "0.0.0.0", 81, false),
            mapping("e", "0.0.0.0", 53, true),
            udp,
            mapping("f", "0.0.0.0", 82, false),
            mapping("f", "0.0.0.0", 82, false),
        ];
        assert!(conflicts(&list).is_empty());
    }
}
