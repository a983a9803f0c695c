//! Port usage on one host (`GET /berth/v1/ports`): which host ports Berth's port proxy
//! listens on, and the container port each one forwards to, for the dashboard's Ports view.

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
}

/// Every mapping served on a host, sorted by host port, then address and protocol.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PortUsage {
    pub mappings: Vec<PortMapping>,
}
