//! Published ports: what a container asks for (`-p`, `-P`), and how Docker shows what it got
//! (`NetworkSettings.Ports` for inspect and `docker port`, `Ports` for `docker ps`).

use super::NetworkError;
use super::proxy::Protocol;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One container port to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortRequest {
    pub container_port: u16,
    pub protocol: Protocol,
    /// `None`: every address (0.0.0.0 and ::).
    pub host_ip: Option<IpAddr>,
    /// Host ports to try, in order; `(0, 0)` lets the kernel pick.
    pub host_ports: (u16, u16),
}

impl PortRequest {
    pub fn is_fixed(&self) -> bool {
        self.host_ports.0 != 0 && self.host_ports.0 == self.host_ports.1
    }
}

/// A published port as served: the host side the proxy listens on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BoundPort {
    pub container_port: u16,
    pub protocol: Protocol,
    pub host_ip: IpAddr,
    pub host_port: u16,
}

/// `80/tcp`, `53/udp`, `8080` (tcp).
pub fn parse_port_key(key: &str) -> Result<(u16, Protocol), NetworkError> {
    let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
    let protocol: Protocol = protocol.parse().map_err(|_| {
        NetworkError::BadInput(format!(
            "invalid port {key:?}: only tcp and udp ports can be published"
        ))
    })?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| NetworkError::BadInput(format!("invalid container port {key:?}")))?;
    Ok((port, protocol))
}

fn parse_host_ports(text: &str) -> Result<(u16, u16), NetworkError> {
    let bad = || NetworkError::BadInput(format!("invalid host port {text:?}"));
    if text.is_empty() {
        return Ok((0, 0));
    }
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let low: u16 = low.parse().map_err(|_| bad())?;
    let high: u16 = high.parse().map_err(|_| bad())?;
    if low > high {
        return Err(bad());
    }
    Ok((low, high))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HostBinding {
    host_ip: String,
    host_port: String,
}

/// What to publish, from `HostConfig.PortBindings`, `ExposedPorts` and `PublishAllPorts`.
pub fn requests(
    bindings: Option<&BTreeMap<String, Value>>,
    exposed: &[String],
    publish_all: bool,
) -> Result<Vec<PortRequest>, NetworkError> {
    let mut out = Vec::new();
    let mut bound_keys = Vec::new();
    for (key, list) in bindings.into_iter().flatten() {
        let (container_port, protocol) = parse_port_key(key)?;
        bound_keys.push((container_port, protocol));
        let list: Vec<HostBinding> = match list {
            Value::Null => vec![HostBinding::default()],
            other => serde_json::from_value(other.clone()).map_err(|e| {
                NetworkError::BadInput(format!("invalid PortBindings for {key}: {e}"))
            })?,
        };
        for binding in list {
            let host_ip = match binding.host_ip.trim_matches(['[', ']']) {
                "" => None,
                ip => Some(ip.parse::<IpAddr>().map_err(|_| {
                    NetworkError::BadInput(format!(
                        "invalid host address {:?} for port {key}",
                        binding.host_ip
                    ))
                })?),
            };
            out.push(PortRequest {
                container_port,
                protocol,
                host_ip,
                host_ports: parse_host_ports(&binding.host_port)?,
            });
        }
    }
    if publish_all {
        for key in exposed {
            let (container_port, protocol) = parse_port_key(key)?;
            if !bound_keys.contains(&(container_port, protocol)) {
                out.push(PortRequest {
                    container_port,
                    protocol,
                    host_ip: None,
                    host_ports: (0, 0),
                });
            }
        }
    }
    Ok(out)
}

/// `NetworkSettings.Ports`: every exposed or published port, with the host sides it is
/// published on (`null` when only exposed).
pub fn settings_ports(exposed: &[String], bound: &[BoundPort]) -> Value {
    let mut map = Map::new();
    for key in exposed {
        if let Ok((port, protocol)) = parse_port_key(key) {
            map.insert(format!("{port}/{protocol}"), Value::Null);
        }
    }
    for port in bound {
        let key = format!("{}/{}", port.container_port, port.protocol);
        let entry = map.entry(key).or_insert(Value::Null);
        if entry.is_null() {
            *entry = Value::Array(Vec::new());
        }
        if let Value::Array(list) = entry {
            list.push(
                json!({"HostIp": port.host_ip.to_string(), "HostPort": port.host_port.to_string()}),
            );
        }
    }
    Value::Object(map)
}

/// `Ports` in `docker ps`'s list: one entry per host side, and one per port only exposed.
pub fn summary_ports(exposed: &[String], bound: &[BoundPort]) -> Vec<Value> {
    let mut out: Vec<Value> = bound
        .iter()
        .map(|p| {
            json!({"IP": p.host_ip.to_string(), "PrivatePort": p.container_port,
                   "PublicPort": p.host_port, "Type": p.protocol.to_string()})
        })
        .collect();
    for key in exposed {
        if let Ok((port, protocol)) = parse_port_key(key)
            && !bound
                .iter()
                .any(|b| b.container_port == port && b.protocol == protocol)
        {
            out.push(json!({"PrivatePort": port, "Type": protocol.to_string()}));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_from_bindings_and_publish_all() {
        let bindings: BTreeMap<String, Value> = serde_json::from_value(json!({
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "", "HostPort": ""}],
            "81": [{"HostIp": "", "HostPort": "9000-9010"}],
        }))
        .unwrap();
        let exposed = vec!["80/tcp".to_string(), "443/tcp".to_string()];
        let mut got = requests(Some(&bindings), &exposed, true).unwrap();
        got.sort_by_key(|r| r.container_port);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].protocol, Protocol::Udp);
        assert_eq!(got[0].host_ports, (0, 0));
        assert_eq!(got[1].host_ip, Some("127.0.0.1".parse().unwrap()));
        assert!(got[1].is_fixed());
        assert_eq!(got[2].host_ports, (9000, 9010));
        assert_eq!(got[3].container_port, 443);
        assert_eq!(requests(Some(&bindings), &exposed, false).unwrap().len(), 3);
    }

    #[test]
    fn bad_ports_are_refused() {
        for bad in [
            json!({"80/sctp": [{"HostPort": "1"}]}),
            json!({"0/tcp": [{"HostPort": "1"}]}),
            json!({"80/tcp": [{"HostPort": "99999"}]}),
            json!({"80/tcp": [{"HostPort": "9-1"}]}),
            json!({"80/tcp": [{"HostIp": "nowhere", "HostPort": "1"}]}),
        ] {
            let b: BTreeMap<String, Value> = serde_json::from_value(bad.clone()).unwrap();
            assert!(requests(Some(&b), &[], false).is_err(), "{bad}");
        }
    }

    #[test]
    fn views_show_exposed_and_bound() {
        let bound = vec![BoundPort {
            container_port: 80,
            protocol: Protocol::Tcp,
            host_ip: "0.0.0.0".parse().unwrap(),
            host_port: 8080,
        }];
        let exposed = vec!["80/tcp".to_string(), "443/tcp".to_string()];
        assert_eq!(
            settings_ports(&exposed, &bound),
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null})
        );
        let summary = summary_ports(&exposed, &bound);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0]["PublicPort"], 8080);
    }
}
