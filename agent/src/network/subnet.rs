//! IPv4 subnets: parsing, overlap, and picking a free one for a new bridge.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network in CIDR form, stored with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet {
    network: Ipv4Addr,
    prefix_len: u8,
}

impl Subnet {
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Result<Self, String> {
        if prefix_len > 30 {
            return Err(format!(
                "subnet /{prefix_len} is too small: a bridge network needs a gateway and at least one container address (/30 or larger)"
            ));
        }
        Ok(Subnet {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix_len)),
            prefix_len,
        })
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    fn first(&self) -> u32 {
        u32::from(self.network)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix_len)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix_len) == self.first()
    }

    /// Whether the two share any address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The conventional gateway: the first host address.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }

    /// Usable host addresses (not the network or broadcast address), in order.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        (self.first() + 1..self.last()).map(Ipv4Addr::from)
    }

    /// Whether `address` is a usable host address of this subnet.
    pub fn is_host(&self, address: Ipv4Addr) -> bool {
        let a = u32::from(address);
        self.contains(address) && a != self.first() && a != self.last()
    }
}

fn mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl FromStr for Subnet {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = text.split_once('/').ok_or_else(|| {
            format!("invalid subnet {text:?}: expected CIDR such as 172.20.0.0/16")
        })?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("invalid subnet {text:?}: {address:?} is not an IPv4 address"))?;
        let prefix_len: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("invalid subnet {text:?}: bad prefix length"))?;
        Subnet::new(address, prefix_len)
    }
}

impl TryFrom<String> for Subnet {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<Subnet> for String {
    fn from(subnet: Subnet) -> String {
        subnet.to_string()
    }
}

/// Where new bridge networks come from, as Docker's default pools: 172.17–31.0.0/16, then
/// 192.168.0.0/16 cut into /20s.
pub fn candidates() -> impl Iterator<Item = Subnet> {
    let wide = (17u8..=31).map(|b| Subnet {
        network: Ipv4Addr::new(172, b, 0, 0),
        prefix_len: 16,
    });
    let narrow = (0u8..16).map(|i| Subnet {
        network: Ipv4Addr::new(192, 168, i * 16, 0),
        prefix_len: 20,
    });
    wide.chain(narrow)
}

/// The first candidate that overlaps nothing in `used` (the host's routes and addresses,
/// and the subnets of networks Berth already has).
pub fn pick_free(used: &[Subnet]) -> Option<Subnet> {
    candidates().find(|c| !used.iter().any(|u| u.overlaps(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_normalise() {
        let s: Subnet = "172.20.5.9/16".parse().unwrap();
        assert_eq!(s.to_string(), "172.20.0.0/16");
        assert_eq!(s.first_host(), Ipv4Addr::new(172, 20, 0, 1));
        assert!(s.contains(Ipv4Addr::new(172, 20, 255, 255)));
        assert!(!s.is_host(Ipv4Addr::new(172, 20, 255, 255)));
        assert!(!s.contains(Ipv4Addr::new(172, 21, 0, 1)));
        for bad in ["172.20.0.0", "x/16", "10.0.0.0/33", "10.0.0.0/31", "::1/64"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_and_pick() {
        let a: Subnet = "172.17.0.0/16".parse().unwrap();
        let b: Subnet = "172.17.3.0/24".parse().unwrap();
        let c: Subnet = "172.18.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        let default_route: Subnet = "0.0.0.0/0".parse().unwrap();
        // A default route is not a clash: it is skipped by the caller, not here.
        assert!(default_route.overlaps(&a));
        assert_eq!(pick_free(&[a, b]), Some(c));
        let all: Vec<Subnet> = candidates().collect();
        assert_eq!(pick_free(&all), None);
    }

    #[test]
    fn hosts_skip_network_and_broadcast() {
        let s: Subnet = "10.1.2.0/30".parse().unwrap();
        let hosts: Vec<Ipv4Addr> = s.hosts().collect();
        assert_eq!(
            hosts,
            vec![Ipv4Addr::new(10, 1, 2, 1), Ipv4Addr::new(10, 1, 2, 2)]
        );
    }
}
