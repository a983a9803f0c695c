//! What Berth keeps about a network: `networks/<id>.json`, with its address leases (the
//! persisted IPAM), rewritten atomically on every change.

use super::NetworkError;
use super::subnet::Subnet;
use crate::util::atomic_file::{write_atomic, write_replace};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// `bridge` (a Linux bridge with veths), `host` or `null` (the pre-defined `none`).
pub const BRIDGE: &str = "bridge";
pub const HOST: &str = "host";
pub const NULL: &str = "null";

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// RFC 3339.
    pub created: String,
    /// The pre-defined `bridge`, `host` and `none`: listed, never removed.
    pub builtin: bool,
    /// The Linux bridge's interface name (bridge driver only).
    pub bridge: Option<String>,
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    pub internal: bool,
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Address → ID of the container holding it.
    #[serde(default)]
    pub leases: BTreeMap<Ipv4Addr, String>,
    /// Where the next search for a free address starts (so a recreated container gets a new
    /// address, as Docker's allocator does, instead of the one just freed).
    #[serde(default)]
    pub last_allocated: Option<Ipv4Addr>,
}

impl NetworkRecord {
    pub fn path(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    pub fn load(path: &Path) -> Result<Self, NetworkError> {
        let bytes = std::fs::read(path).map_err(|e| NetworkError::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            NetworkError::BadInput(format!("{}: invalid network record: {e}", path.display()))
        })
    }

    /// Durably: a network's existence and settings.
    pub fn save(&self, dir: &Path) -> Result<(), NetworkError> {
        self.write(dir, true)
    }

    /// Atomically but without fsync: a lease change. After a crash the leases are
    /// re-derived from the containers that still run (`Networks::restore` and
    /// `release_all_but`), so waiting on the disk at every start and stop buys nothing.
    pub fn save_leases(&self, dir: &Path) -> Result<(), NetworkError> {
        self.write(dir, false)
    }

    fn write(&self, dir: &Path, durable: bool) -> Result<(), NetworkError> {
        let path = Self::path(dir, &self.id);
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| NetworkError::BadInput(format!("encode network record: {e}")))?;
        let written = if durable {
            write_atomic(&path, &bytes, 0o600)
        } else {
            write_replace(&path, &bytes, 0o600)
        };
        written.map_err(|e| NetworkError::io(&path, e))
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    pub fn is_bridge(&self) -> bool {
        self.driver == BRIDGE
    }

    /// Takes an address for `container_id`: `requested` if given and free, otherwise the
    /// next free one after the last handed out (wrapping around).
    pub fn allocate(
        &mut self,
        container_id: &str,
        requested: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, NetworkError> {
        let (Some(subnet), Some(gateway)) = (self.subnet, self.gateway) else {
            return Err(NetworkError::BadInput(format!(
                "network {} has no subnet to allocate from",
                self.name
            )));
        };
        if let Some(address) = requested {
            if !subnet.is_host(address) || address == gateway {
                return Err(NetworkError::BadInput(format!(
                    "address {address} is not a usable address of {subnet} on network {}",
                    self.name
                )));
            }
            if let Some(holder) = self.leases.get(&address)
                && holder != container_id
            {
                return Err(NetworkError::Conflict(format!(
                    "Address already in use: {address} on network {}",
                    self.name
                )));
            }
            self.leases.insert(address, container_id.to_string());
            return Ok(address);
        }
        let start = self.last_allocated.map_or(0, u32::from);
        let free = |a: &Ipv4Addr| *a != gateway && !self.leases.contains_key(a);
        let address = subnet
            .hosts()
            .filter(|a| u32::from(*a) > start)
            .find(free)
            .or_else(|| subnet.hosts().find(free))
            .ok_or_else(|| {
                NetworkError::Exhausted(format!(
                    "no available addresses left on network {} ({subnet})",
                    self.name
                ))
            })?;
        self.leases.insert(address, container_id.to_string());
        self.last_allocated = Some(address);
        Ok(address)
    }

    /// Frees every address `container_id` holds; whether any was held.
    pub fn release(&mut self, container_id: &str) -> bool {
        let before = self.leases.len();
        self.leases.retain(|_, holder| holder != container_id);
        before != self.leases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(subnet: &str) -> NetworkRecord {
        let subnet: Subnet = subnet.parse().unwrap();
        NetworkRecord {
            id: "n".repeat(64),
            name: "test".into(),
            driver: BRIDGE.into(),
            created: String::new(),
            builtin: false,
            bridge: Some("bt0".into()),
            subnet: Some(subnet),
            gateway: Some(subnet.first_host()),
            internal: false,
            attachable: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            leases: BTreeMap::new(),
            last_allocated: None,
        }
    }

    #[test]
    fn allocates_in_turn_and_wraps() {
        let mut r = record("10.9.0.0/29");
        let a = r.allocate("a", None).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 9, 0, 2));
        r.release("a");
        // The freed address is not handed out again at once.
        assert_eq!(r.allocate("b", None).unwrap(), Ipv4Addr::new(10, 9, 0, 3));
        for id in ["c", "d", "e", "f"] {
            r.allocate(id, None).unwrap();
        }
        // .2 is the only one left (wrapped around).
        assert_eq!(r.leases.len(), 5);
        assert!(matches!(
            r.allocate("g", None),
            Err(NetworkError::Exhausted(_))
        ));
        r.release("c");
        assert_eq!(r.allocate("g", None).unwrap(), Ipv4Addr::new(10, 9, 0, 4));
    }

    #[test]
    fn requested_addresses_are_checked() {
        let mut r = record("10.9.0.0/24");
        assert!(r.allocate("a", Some(Ipv4Addr::new(10, 9, 0, 1))).is_err());
        assert!(r.allocate("a", Some(Ipv4Addr::new(10, 9, 1, 5))).is_err());
        assert!(r.allocate("a", Some(Ipv4Addr::new(10, 9, 0, 255))).is_err());
        let want = Ipv4Addr::new(10, 9, 0, 50);
        assert_eq!(r.allocate("a", Some(want)).unwrap(), want);
        assert!(matches!(
            r.allocate("b", Some(want)),
            Err(NetworkError::Conflict(_))
        ));
        assert!(r.release("a"));
        assert!(!r.release("a"));
    }
}
