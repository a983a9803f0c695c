//! `GET /berth/v1/ports` from the container side: the mappings the proxy serves, plus the
//! fixed host ports that containers not running ask for, and the ports claimed twice.

use super::networking;
use super::service::Containers;
use crate::network::port_conflicts;
use shared::ports::{PortMapping, PortUsage};
use std::collections::HashSet;

impl Containers {
    pub fn port_usage(&self) -> PortUsage {
        let mut usage = self.networks.port_usage();
        let serving: HashSet<String> = usage
            .mappings
            .iter()
            .map(|m| m.container_id.clone())
            .collect();
        for container in self.all() {
            let record = container.snapshot();
            if serving.contains(&record.id) {
                continue;
            }
            // A record whose bindings no longer parse asks for nothing it could get.
            let Ok(requests) = networking::port_requests(&record) else {
                continue;
            };
            for request in requests.iter().filter(|r| r.is_fixed()) {
                let addresses = match request.host_ip {
                    Some(ip) => vec![ip.to_string()],
                    None => vec!["0.0.0.0".to_string(), "::".to_string()],
                };
                for host_ip in addresses {
                    usage.mappings.push(PortMapping {
                        host_ip,
                        host_port: request.host_ports.0,
                        protocol: request.protocol.to_string(),
                        container_id: record.id.clone(),
                        container_name: record.name.clone(),
                        container_port: request.container_port,
                        container_ip: String::new(),
                        network: String::new(),
                        served: false,
                        state: record.state.status.as_str().to_string(),
                    });
                }
            }
        }
        usage.mappings.sort_by(|a, b| {
            (a.host_port, &a.host_ip, &a.protocol, !a.served).cmp(&(
                b.host_port,
                &b.host_ip,
                &b.protocol,
                !b.served,
            ))
        });
        usage.conflicts = port_conflicts::conflicts(&usage.mappings);
        usage
    }
}
