//! A container as the Docker API shows it: `ps` summaries and `inspect`.

use super::networking::exposed_ports;
use super::record::{ContainerRecord, Status};
use crate::network::ports;
use serde_json::{Map, Value, json};
use shared::units::human_duration;
use std::time::{Duration, SystemTime};

fn since(time: &str) -> Duration {
    humantime::parse_rfc3339_weak(time)
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

/// `Status` column of `docker ps`.
pub fn status_text(record: &ContainerRecord) -> String {
    let state = &record.state;
    match state.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", human_duration(since(&state.started_at).as_secs())),
        Status::Paused => format!(
            "Up {} (Paused)",
            human_duration(since(&state.started_at).as_secs())
        ),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code,
            human_duration(since(&state.finished_at).as_secs())
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            state.exit_code,
            human_duration(since(&state.finished_at).as_secs())
        ),
        Status::Dead => "Dead".into(),
    }
}

fn unix(time: &str) -> i64 {
    humantime::parse_rfc3339_weak(time)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Shell-ish quoting of argv for `ps`'s COMMAND column.
fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$\\".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn network_mode(record: &ContainerRecord) -> String {
    record
        .host_config
        .get("NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("bridge")
        .to_string()
}

/// One entry of `GET /containers/json`.
pub fn summary(record: &ContainerRecord) -> Value {
    json!({
        "Id": record.id,
        "Names": [format!("/{}", record.name)],
        "Image": record.image_name,
        "ImageID": record.image_id,
        "Command": command_line(&record.argv),
        "Created": unix(&record.created),
        "Ports": ports::summary_ports(&exposed_ports(record), &record.sandbox.ports),
        "Labels": record.labels(),
        "State": record.state.status.as_str(),
        "Status": status_text(record),
        // Berth's additions (clients that do not know them ignore them): the times behind
        // Status, so a dashboard can keep "Up 5 minutes" current without asking again.
        "StartedAt": unix(&record.state.started_at),
        "FinishedAt": unix(&record.state.finished_at),
        "ExitCode": record.state.exit_code,
        "HostConfig": { "NetworkMode": network_mode(record) },
        "NetworkSettings": { "Networks": endpoints(record) },
        "Mounts": mounts(record),
    })
}

/// `Mounts` of inspect and ps: binds, volumes and tmpfs from the HostConfig.
fn mounts(record: &ContainerRecord) -> Vec<Value> {
    let host = record.host_config_typed();
    let mut out = Vec::new();
    for bind in host.binds.iter().flatten() {
        let parts: Vec<&str> = bind.split(':').collect();
        if parts.len() < 2 {
            continue;
        }
        let rw = !parts
            .get(2)
            .is_some_and(|o| o.split(',').any(|x| x == "ro"));
        let named = !parts[0].starts_with('/');
        out.push(json!({
            "Type": if named { "volume" } else { "bind" },
            "Name": if named { parts[0] } else { "" },
            "Source": parts[0],
            "Destination": parts[1],
            "Mode": parts.get(2).copied().unwrap_or(""),
            "RW": rw,
            "Propagation": if named { "" } else { "rprivate" },
        }));
    }
    for m in host.mounts.iter().flatten() {
        out.push(json!({
            "Type": m.kind, "Source": m.source, "Destination": m.target,
            "Mode": "", "RW": !m.read_only, "Propagation": "",
        }));
    }
    out
}

/// `GET /containers/{id}/json`.
pub fn inspect(record: &ContainerRecord, dir: &std::path::Path, driver: &str) -> Value {
    let state = &record.state;
    let path = record.argv.first().cloned().unwrap_or_default();
    let args: Vec<String> = record.argv.iter().skip(1).cloned().collect();
    let mut host_config = record.host_config.clone();
    host_config.entry("Binds").or_insert(Value::Null);
    json!({
        "Id": record.id,
        "Created": record.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": state.status.as_str(),
            "Running": state.status.is_live(),
            "Paused": state.status == Status::Paused,
            "Restarting": state.status == Status::Restarting,
            "OOMKilled": state.oom_killed,
            "Dead": state.status == Status::Dead,
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
        },
        "Image": record.image_id,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": dir.join(format!("{}-json.log", record.id)),
        "Name": format!("/{}", record.name),
        "RestartCount": record.restart_count,
        "Driver": driver,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": host_config,
        "GraphDriver": {
            "Name": driver,
            "Data": {
                "UpperDir": dir.join("upper"),
                "WorkDir": dir.join("work"),
                "MergedDir": dir.join("rootfs"),
            }
        },
        "Mounts": mounts(record),
        "Config": record.config,
        "NetworkSettings": network_settings(record),
    })
}

/// `NetworkSettings.Networks`: each network the container is on, with its address there
/// while it runs (empty fields while it is stopped, as Docker shows).
fn endpoints(record: &ContainerRecord) -> Map<String, Value> {
    let mut out = Map::new();
    for name in super::networking::configured_networks(record) {
        let aliases = super::networking::aliases(record, &name);
        out.insert(
            name,
            json!({
                "IPAMConfig": null, "Links": null, "Aliases": aliases, "MacAddress": "",
                "DriverOpts": null, "NetworkID": "", "EndpointID": "", "Gateway": "",
                "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0, "DNSNames": null,
            }),
        );
    }
    for e in &record.sandbox.endpoints {
        let gateway = e.gateway.map(|g| g.to_string()).unwrap_or_default();
        let mut names = vec![record.name.clone()];
        names.extend(e.aliases.iter().cloned());
        names.push(record.short_id().to_string());
        out.insert(
            e.network_name.clone(),
            json!({
                "IPAMConfig": null, "Links": null, "Aliases": e.aliases, "MacAddress": e.mac,
                "DriverOpts": null, "NetworkID": e.network_id, "EndpointID": e.endpoint_id,
                "Gateway": gateway, "IPAddress": e.address.to_string(),
                "IPPrefixLen": e.prefix_len, "IPv6Gateway": "", "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0, "DNSNames": names,
            }),
        );
    }
    out
}

fn network_settings(record: &ContainerRecord) -> Value {
    let sandbox = &record.sandbox;
    let primary = sandbox.primary();
    let text = |f: &dyn Fn(&crate::network::sandbox::Endpoint) -> String| {
        primary.map(f).unwrap_or_default()
    };
    json!({
        "Bridge": "",
        "SandboxID": sandbox.netns.as_ref().map(|_| record.id.clone()).unwrap_or_default(),
        "SandboxKey": sandbox.netns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports::settings_ports(&exposed_ports(record), &sandbox.ports),
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": text(&|e| e.endpoint_id.clone()),
        "Gateway": text(&|e| e.gateway.map(|g| g.to_string()).unwrap_or_default()),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": text(&|e| e.address.to_string()),
        "IPPrefixLen": primary.map_or(0, |e| e.prefix_len),
        "IPv6Gateway": "",
        "MacAddress": text(&|e| e.mac.clone()),
        "Networks": endpoints(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_quotes_words_with_spaces() {
        let argv = vec!["sh".to_string(), "-c".into(), "echo $$".into()];
        assert_eq!(command_line(&argv), "sh -c 'echo $$'");
    }
}
