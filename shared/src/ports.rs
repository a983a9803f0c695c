//! Port usage on one host (`GET /berth/v1/ports`): which host ports Berth's port proxy
//! listens on and the container port each one forwards to, the fixed host ports that stopped
//! containers ask for, and where two of them claim the same host port — for the dashboard's
//! Ports view.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PortMapping {
    /// The address the proxy listens on (`0.0.0.0`, `::`, `127.0.0.1`).
    pub host_ip: String,
    pub host_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    pub container_id: String,
    /// Without the leading `/`.
    pub container_name: String,
    pub container_port: u16,
    /// The container's address the proxy forwards to.
    pub container_ip: String,
    /// The network that address is on (`bridge`, or a user-defined network's name).
    pub network: String,
    /// Whether the proxy listens now (the container runs); otherwise the container only
    /// asks for this port and gets it when it starts — if nothing else holds it then.
    #[serde(default)]
    pub served: bool,
    /// The container's state word (`running`, `exited`, `created`, …).
    #[serde(default)]
    pub state: String,
}

/// Two or more mappings that claim one host port (same protocol, overlapping addresses):
/// only one of their containers can have it at a time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PortConflict {
    pub host_port: u16,
    pub protocol: String,
    /// Names of the containers that claim it, the one holding it first.
    pub containers: Vec<String>,
    /// In plain words, e.g. "web holds 8080/tcp; api cannot start while it does".
    pub message: String,
}

/// Every mapping on a host, served or asked for, sorted by host port, then address and
/// protocol; and the host ports claimed more than once.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PortUsage {
    pub mappings: Vec<PortMapping>,
    #[serde(default)]
    pub conflicts: Vec<PortConflict>,
}
