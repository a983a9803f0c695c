//! A container's network state as the container record keeps it: its namespace, its
//! interfaces on each network, and its published ports (so a restarted agent can take
//! them back, and a stopped container can be cleaned up).

use super::ports::BoundPort;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// The bind-mounted network namespace the container joins.
    pub netns: Option<PathBuf>,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<BoundPort>,
}

impl Sandbox {
    pub fn is_empty(&self) -> bool {
        self.netns.is_none() && self.endpoints.is_empty() && self.ports.is_empty()
    }

    /// The endpoint published ports forward to, and that holds the default route.
    pub fn primary(&self) -> Option<&Endpoint> {
        self.endpoints.first()
    }
}

/// One interface of a container on one network.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub network_id: String,
    pub network_name: String,
    pub endpoint_id: String,
    /// Inside the container: `eth0`, `eth1`, …
    pub ifname: String,
    /// The host end of the veth pair, on the network's bridge.
    pub host_veth: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: String,
    /// Names other containers on a user-defined network resolve to this one by.
    pub aliases: Vec<String>,
}

/// Docker's MAC scheme: `02:42` and the IPv4 address.
pub fn mac_for(address: Ipv4Addr) -> [u8; 6] {
    let o = address.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
