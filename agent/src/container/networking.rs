//! How a container's record maps onto the network service: which networks it is on (from
//! `HostConfig.NetworkMode` and `NetworkingConfig.EndpointsConfig`), what to publish, and
//! what it joins at start.

use super::ContainerError;
use super::record::ContainerRecord;
use crate::network::{EndpointRequest, ports};
use serde_json::{Map, Value, json};

/// How a container gets its network namespace.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// `--network host`.
    Host,
    /// `--network none`: loopback only.
    Loopback,
    /// `--network container:<name|id>`.
    Container(String),
    /// A namespace of its own, on these networks (the first is the primary one).
    Attach(Vec<EndpointRequest>),
}

fn mode(record: &ContainerRecord) -> String {
    record
        .host_config
        .get("NetworkMode")
        .and_then(Value::as_str)
        .map(normalise_mode)
        .unwrap_or_else(|| "bridge".into())
}

/// `default` and empty mean `bridge`, as in Docker.
pub fn normalise_mode(mode: &str) -> String {
    match mode {
        "" | "default" => "bridge".into(),
        other => other.to_string(),
    }
}

fn endpoints_config(record: &ContainerRecord) -> Map<String, Value> {
    record
        .networking
        .get("EndpointsConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The networks it is configured on, primary first (`host`/`none` are shown as networks
/// too, as Docker does; `container:` modes have none of their own).
pub fn configured_networks(record: &ContainerRecord) -> Vec<String> {
    let mode = mode(record);
    if mode.starts_with("container:") {
        return Vec::new();
    }
    let endpoints = endpoints_config(record);
    // Records without endpoints (made before networks existed) are on their mode's network.
    let mut out = if endpoints.contains_key(&mode) || endpoints.is_empty() {
        vec![mode]
    } else {
        Vec::new()
    };
    for name in endpoints.keys() {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

pub fn aliases(record: &ContainerRecord, network: &str) -> Vec<String> {
    endpoints_config(record)
        .get(network)
        .map(|e| endpoint_request(network, e).aliases)
        .unwrap_or_default()
}

/// What one `EndpointsConfig` entry (or a connect request's `EndpointConfig`) asks for:
/// its aliases and a fixed IPv4 address.
pub fn endpoint_request(network: &str, endpoint: &Value) -> EndpointRequest {
    EndpointRequest {
        network: network.to_string(),
        aliases: endpoint
            .get("Aliases")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        ipv4: endpoint
            .get("IPAMConfig")
            .and_then(|c| c.get("IPv4Address"))
            .and_then(Value::as_str)
            .and_then(|a| a.parse().ok()),
    }
}

pub fn plan(record: &ContainerRecord) -> Plan {
    let mode = mode(record);
    match mode.as_str() {
        "host" => Plan::Host,
        "none" => Plan::Loopback,
        m if m.starts_with("container:") => {
            Plan::Container(m.trim_start_matches("container:").to_string())
        }
        _ => {
            let config = endpoints_config(record);
            let endpoints: Vec<EndpointRequest> = configured_networks(record)
                .into_iter()
                .filter(|n| n != "host" && n != "none")
                .map(|network| {
                    endpoint_request(&network, config.get(&network).unwrap_or(&Value::Null))
                })
                .collect();
            if endpoints.is_empty() {
                // Disconnected from every network: loopback only, as Docker leaves it.
                Plan::Loopback
            } else {
                Plan::Attach(endpoints)
            }
        }
    }
}

/// The `NetworkingConfig` as kept: `default` renamed to `bridge`, and the primary network
/// always present.
pub fn normalise_networking(raw: &Value, mode: &str) -> Value {
    let mut endpoints = raw
        .get("EndpointsConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(default) = endpoints.remove("default") {
        endpoints.entry("bridge").or_insert(default);
    }
    let mode = normalise_mode(mode);
    if !mode.starts_with("container:") {
        endpoints.entry(mode).or_insert(json!({}));
    }
    json!({ "EndpointsConfig": endpoints })
}

/// The container ports its image or request exposes (`80/tcp`).
pub fn exposed_ports(record: &ContainerRecord) -> Vec<String> {
    record
        .config
        .get("ExposedPorts")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// What to publish for this record.
pub fn port_requests(record: &ContainerRecord) -> Result<Vec<ports::PortRequest>, ContainerError> {
    let host = record.host_config_typed();
    Ok(ports::requests(
        host.port_bindings.as_ref(),
        &exposed_ports(record),
        host.publish_all_ports,
    )?)
}

/// Adds `network` to a stopped container's configuration (`docker network connect`).
pub fn add_network(record: &mut ContainerRecord, network: &str, endpoint: Value) {
    let mut networking = record.networking.clone();
    if !networking.is_object() {
        networking = json!({});
    }
    if let Some(map) = networking.as_object_mut() {
        let endpoints = map.entry("EndpointsConfig").or_insert_with(|| json!({}));
        if let Some(endpoints) = endpoints.as_object_mut() {
            endpoints.insert(network.to_string(), endpoint);
        }
    }
    record.networking = networking;
}

/// Removes `network` from its configuration (`docker network disconnect`).
pub fn remove_network(record: &mut ContainerRecord, network: &str) {
    if let Some(endpoints) = record
        .networking
        .get_mut("EndpointsConfig")
        .and_then(Value::as_object_mut)
    {
        endpoints.remove(network);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn record(mode: &str, networking: Value) -> ContainerRecord {
        let mut host = Map::new();
        host.insert("NetworkMode".into(), json!(mode));
        ContainerRecord {
            id: "c".repeat(64),
            name: "web".into(),
            created: String::new(),
            image_id: String::new(),
            image_name: String::new(),
            config: Map::new(),
            host_config: host,
            networking: normalise_networking(&networking, mode),
            argv: vec![],
            state: Default::default(),
            restart_count: 0,
            stopped_by_user: false,
            driver: String::new(),
            sandbox: Default::default(),
        }
    }

    #[test]
    fn modes_become_plans() {
        assert_eq!(plan(&record("host", Value::Null)), Plan::Host);
        assert_eq!(plan(&record("none", Value::Null)), Plan::Loopback);
        assert_eq!(
            plan(&record("container:db", Value::Null)),
            Plan::Container("db".into())
        );
        let r = record(
            "default",
            json!({"EndpointsConfig": {"default": {"Aliases": null}, "back": {"Aliases": ["api"], "IPAMConfig": {"IPv4Address": "10.5.0.9"}}}}),
        );
        let Plan::Attach(endpoints) = plan(&r) else {
            panic!("not attach")
        };
        assert_eq!(endpoints[0].network, "bridge");
        assert_eq!(endpoints[1].network, "back");
        assert_eq!(endpoints[1].aliases, vec!["api"]);
        assert_eq!(endpoints[1].ipv4, Some(Ipv4Addr::new(10, 5, 0, 9)));
        assert_eq!(configured_networks(&r), vec!["bridge", "back"]);
    }
}
