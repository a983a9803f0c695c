//! The agent's own answers (the `shared` types) read through [`Json`]: one plain function per
//! type instead of a serde deserializer instantiated per shape, which keeps the wasm small.
//! Forgiving like [`Json`]: a missing field reads as its empty value.

use crate::json::Json;
use shared::auth::{Role, TokenInfo, WhoAmI};
use shared::event::{Actor, Event};
use shared::host::HostFacts;
use shared::hosts::{HostState, HostStatus};
use shared::layers::{ContainerRef, HistoryStep, ImageNode, LayerGraph, LayerNode};
use shared::ports::{PortConflict, PortMapping, PortUsage};
use std::str::FromStr;

/// A role by name; an unknown one reads as the least.
pub fn role(j: &Json) -> Role {
    Role::from_str(&j.str()).unwrap_or(Role::Viewer)
}

pub fn who_am_i(j: &Json) -> WhoAmI {
    WhoAmI {
        role: role(&j.at("role")),
        token_id: j.opt("token_id"),
        host: j.at("host").str(),
    }
}

pub fn token_info(j: &Json) -> TokenInfo {
    TokenInfo {
        id: j.at("id").str(),
        name: j.at("name").str(),
        role: role(&j.at("role")),
        created: j.at("created").int(),
    }
}

pub fn host_facts(j: &Json) -> HostFacts {
    let load = j.at("load").list();
    let load_at = |i: usize| load.get(i).map_or(0.0, Json::num);
    let n = |k: &str| j.at(k).uint();
    HostFacts {
        name: j.at("name").str(),
        agent_version: j.at("agent_version").str(),
        api_version: j.at("api_version").str(),
        kernel: j.at("kernel").str(),
        operating_system: j.at("operating_system").str(),
        arch: j.at("arch").str(),
        cpus: n("cpus") as u32,
        mem_total: n("mem_total"),
        mem_available: n("mem_available"),
        cgroup_version: j.at("cgroup_version").str(),
        cgroup_driver: j.at("cgroup_driver").str(),
        storage_driver: j.at("storage_driver").str(),
        data_root: j.at("data_root").str(),
        containers: n("containers"),
        containers_running: n("containers_running"),
        images: n("images"),
        uptime_secs: n("uptime_secs"),
        load: [load_at(0), load_at(1), load_at(2)],
        cpu_percent: j.at("cpu_percent").num(),
        images_size: n("images_size"),
        containers_size: n("containers_size"),
        time: j.at("time").int(),
    }
}

pub fn host_state(j: &Json) -> HostState {
    match j.str().as_str() {
        "up" => HostState::Up,
        "unreachable" => HostState::Unreachable,
        _ => HostState::Connecting,
    }
}

pub fn host_status(j: &Json) -> HostStatus {
    let facts = j.at("facts");
    HostStatus {
        name: j.at("name").str(),
        local: j.at("local").bool(),
        url: j.at("url").str(),
        state: host_state(&j.at("state")),
        since: j.at("since").int(),
        error: j.opt("error"),
        fingerprint: j.opt("fingerprint"),
        facts: (!facts.is_empty()).then(|| host_facts(&facts)),
    }
}

pub fn host_list(j: &Json) -> Vec<HostStatus> {
    j.list().iter().map(host_status).collect()
}

pub fn event(j: &Json) -> Event {
    Event {
        kind: j.at("Type").str(),
        action: j.at("Action").str(),
        actor: Actor {
            id: j.at("Actor.ID").str(),
            attributes: j.at("Actor.Attributes").string_map().into_iter().collect(),
        },
        scope: j.at("scope").str(),
        time: j.at("time").int(),
        time_nano: j.at("timeNano").int(),
        host: j.opt("Host"),
    }
}

fn layer_node(j: &Json) -> LayerNode {
    LayerNode {
        chain_id: j.at("chain_id").str(),
        diff_id: j.at("diff_id").str(),
        parent: j.opt("parent"),
        size: j.at("size").uint(),
        blob_digest: j.opt("blob_digest"),
        blob_size: (!j.at("blob_size").is_empty()).then(|| j.at("blob_size").uint()),
        images: j.at("images").strings(),
        containers: j.at("containers").strings(),
    }
}

fn history_step(j: &Json) -> HistoryStep {
    HistoryStep {
        created: j.at("created").int(),
        created_by: j.at("created_by").str(),
        comment: j.at("comment").str(),
        layer: j.opt("layer"),
    }
}

fn image_node(j: &Json) -> ImageNode {
    ImageNode {
        id: j.at("id").str(),
        tags: j.at("tags").strings(),
        layers: j.at("layers").strings(),
        size: j.at("size").uint(),
        created: j.at("created").int(),
        containers: j.at("containers").strings(),
        history: j.at("history").list().iter().map(history_step).collect(),
    }
}

fn container_ref(j: &Json) -> ContainerRef {
    ContainerRef {
        id: j.at("id").str(),
        name: j.at("name").str(),
        image: j.at("image").str(),
        state: j.at("state").str(),
    }
}

pub fn layer_graph(j: &Json) -> LayerGraph {
    LayerGraph {
        layers: j.at("layers").list().iter().map(layer_node).collect(),
        images: j.at("images").list().iter().map(image_node).collect(),
        total_size: j.at("total_size").uint(),
        unshared_size: j.at("unshared_size").uint(),
        containers: j
            .at("containers")
            .list()
            .iter()
            .map(container_ref)
            .collect(),
    }
}

fn port_mapping(j: &Json) -> PortMapping {
    PortMapping {
        host_ip: j.at("host_ip").str(),
        host_port: j.at("host_port").uint() as u16,
        protocol: j.at("protocol").str(),
        container_id: j.at("container_id").str(),
        container_name: j.at("container_name").str(),
        container_port: j.at("container_port").uint() as u16,
        container_ip: j.at("container_ip").str(),
        network: j.at("network").str(),
        served: j.at("served").bool(),
        state: j.at("state").str(),
    }
}

fn port_conflict(j: &Json) -> PortConflict {
    PortConflict {
        host_port: j.at("host_port").uint() as u16,
        protocol: j.at("protocol").str(),
        containers: j.at("containers").strings(),
        message: j.at("message").str(),
    }
}

pub fn port_usage(j: &Json) -> PortUsage {
    PortUsage {
        mappings: j.at("mappings").list().iter().map(port_mapping).collect(),
        conflicts: j.at("conflicts").list().iter().map(port_conflict).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each reader gives back what serde wrote: the agent's side of the wire.
    fn round_trip<T: serde::Serialize + PartialEq + std::fmt::Debug>(
        value: &T,
        read: fn(&Json) -> T,
    ) {
        let text = serde_json::to_string(value).unwrap();
        assert_eq!(&read(&Json::parse(&text).unwrap()), value, "{text}");
    }

    #[test]
    fn readers_match_the_agents_serde_forms() {
        let facts = HostFacts {
            name: "vm".into(),
            cpus: 2,
            mem_total: 1 << 33,
            load: [0.5, 1.25, 2.0],
            cpu_percent: 12.5,
            time: 1_700_000_000,
            ..Default::default()
        };
        round_trip(&facts, host_facts);
        round_trip(
            &HostStatus {
                name: "b".into(),
                local: false,
                url: "https://b:7070".into(),
                state: HostState::Unreachable,
                since: 5,
                error: Some("refused".into()),
                fingerprint: None,
                facts: Some(facts),
            },
            host_status,
        );
        round_trip(
            &WhoAmI {
                role: Role::Operator,
                token_id: None,
                host: "vm".into(),
            },
            who_am_i,
        );
        round_trip(
            &TokenInfo {
                id: "t1".into(),
                name: "ci".into(),
                role: Role::Admin,
                created: 9,
            },
            token_info,
        );
        let mut event = Event::at(
            1_500_000_000_123,
            "container",
            "start",
            Actor {
                id: "abc".into(),
                attributes: [("name".to_string(), "web".to_string())].into(),
            },
        );
        event.host = Some("b".into());
        round_trip(&event, super::event);
        round_trip(
            &LayerGraph {
                layers: vec![LayerNode {
                    chain_id: "sha256:c".into(),
                    diff_id: "sha256:d".into(),
                    parent: None,
                    size: 10,
                    blob_digest: Some("sha256:b".into()),
                    blob_size: Some(4),
                    images: vec!["sha256:i".into()],
                    containers: vec![],
                }],
                images: vec![ImageNode {
                    id: "sha256:i".into(),
                    tags: vec!["a:1".into()],
                    layers: vec!["sha256:c".into()],
                    size: 10,
                    created: 3,
                    containers: vec!["x".into()],
                    history: vec![HistoryStep {
                        created: 3,
                        created_by: "RUN x".into(),
                        comment: String::new(),
                        layer: Some("sha256:c".into()),
                    }],
                }],
                total_size: 10,
                unshared_size: 10,
                containers: vec![ContainerRef {
                    id: "x".into(),
                    name: "web".into(),
                    image: "sha256:i".into(),
                    state: "running".into(),
                }],
            },
            layer_graph,
        );
        round_trip(
            &PortUsage {
                mappings: vec![PortMapping {
                    host_ip: "0.0.0.0".into(),
                    host_port: 8080,
                    protocol: "tcp".into(),
                    container_id: "x".into(),
                    container_name: "web".into(),
                    container_port: 80,
                    container_ip: "172.18.0.2".into(),
                    network: "bridge".into(),
                    served: true,
                    state: "running".into(),
                }],
                conflicts: vec![PortConflict {
                    host_port: 8080,
                    protocol: "tcp".into(),
                    containers: vec!["a".into(), "b".into()],
                    message: "twice".into(),
                }],
            },
            port_usage,
        );
    }

    #[test]
    fn unknown_values_read_as_the_least() {
        let j = Json::parse(r#"{"role":"root","state":"weird"}"#).unwrap();
        assert_eq!(role(&j.at("role")), Role::Viewer);
        assert_eq!(host_state(&j.at("state")), HostState::Connecting);
        assert_eq!(host_list(&Json::parse("{}").unwrap()), vec![]);
    }
}
