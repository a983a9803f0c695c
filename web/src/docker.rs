//! The Docker Engine API's image, container and network answers, as far as the dashboard reads them. Docker writes
//! `null` for many empty lists and maps, so every field reads `null` as its default.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// `null` (or a missing field) as `T::default()`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One entry of `GET /images/json` (Docker's `ImageSummary`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "nullable")]
    pub created: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

/// The runnable part of an image (`Config` in `GET /images/{id}/json`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub cmd: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub exposed_ports: BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    /// Diff IDs, bottom layer first.
    #[serde(default, deserialize_with = "nullable")]
    pub layers: Vec<String>,
}

/// `GET /images/{id}/json` (Docker's `ImageInspect`), the parts the detail page shows.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_digests: Vec<String>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "nullable")]
    pub created: String,
    #[serde(default, deserialize_with = "nullable")]
    pub author: String,
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    pub variant: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub config: RunConfig,
    #[serde(rename = "RootFS", default, deserialize_with = "nullable")]
    pub root_fs: RootFs,
}

impl ImageInspect {
    /// `"linux/amd64"`, `"linux/arm64/v8"`.
    pub fn platform(&self) -> String {
        [&self.os, &self.architecture, &self.variant]
            .into_iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// One entry of `GET /containers/json?all=1` (Docker's `ContainerSummary`), as the
/// Containers page reads it (through [`crate::json`], in `api::containers`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSummary {
    pub id: String,
    pub names: Vec<String>,
    pub image: String,
    pub image_id: String,
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    /// `running`, `exited`, `paused`, `created`, `restarting`, `dead`.
    pub state: String,
    /// `"Up 5 seconds"`, `"Exited (137) 2 minutes ago"`.
    pub status: String,
    pub ports: Vec<PortSummary>,
    /// Berth's additions: Unix seconds (0 = never) and the last exit code, so the status
    /// text stays current without asking again.
    pub started_at: i64,
    pub finished_at: i64,
    pub exit_code: i64,
}

/// One entry of a container summary's `Ports`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortSummary {
    pub ip: String,
    pub private: u16,
    /// 0 when the port is exposed but not published.
    pub public: u16,
    /// `tcp` or `udp`.
    pub kind: String,
}

/// Docker's `units.HumanDuration`: `"5 seconds"`, `"About a minute"`, `"3 hours"`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..60 => format!("{s} seconds"),
        60..120 => "About a minute".into(),
        120..3600 => format!("{} minutes", s / 60),
        3600..7200 => "About an hour".into(),
        7200..172_800 => format!("{} hours", s / 3600),
        172_800..1_209_600 => format!("{} days", s / 86_400),
        1_209_600..5_259_600 => format!("{} weeks", s / 604_800),
        5_259_600..63_115_200 => format!("{} months", s / 2_629_800),
        _ => format!("{} years", s / 31_557_600),
    }
}

/// A container's name without Docker's leading `/`; the short ID when it has none.
pub fn container_name<'a>(name: &'a str, id: &'a str) -> &'a str {
    match name.trim_start_matches('/') {
        "" => crate::format::short_id(id),
        n => n,
    }
}

impl ContainerSummary {
    pub fn name(&self) -> &str {
        container_name(self.names.first().map_or("", String::as_str), &self.id)
    }

    /// `docker ps`'s Status at `now` (Unix seconds), from the times Berth sends; the agent's
    /// own text when it sent none (another engine).
    pub fn status_at(&self, now: i64) -> String {
        let since = |t: i64| human_duration(now - t);
        match (self.state.as_str(), self.started_at, self.finished_at) {
            ("running", s, _) if s > 0 => format!("Up {}", since(s)),
            ("paused", s, _) if s > 0 => format!("Up {} (Paused)", since(s)),
            ("exited", _, f) if f > 0 => format!("Exited ({}) {} ago", self.exit_code, since(f)),
            ("restarting", _, f) if f > 0 => {
                format!("Restarting ({}) {} ago", self.exit_code, since(f))
            }
            _ => self.status.clone(),
        }
    }

    /// Published ports as (host port, container port/protocol), one per host port (the
    /// IPv4 and IPv6 bindings of one port are one entry).
    pub fn published(&self) -> Vec<(u16, String)> {
        let mut out: Vec<(u16, String)> = self
            .ports
            .iter()
            .filter(|p| p.public > 0)
            .map(|p| (p.public, format!("{}/{}", p.private, p.kind)))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// `GET /containers/{id}/top`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Top {
    #[serde(default, deserialize_with = "nullable")]
    pub titles: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub processes: Vec<Vec<String>>,
}

/// One entry of `GET /networks` (Docker's `Network`), the parts the Networks page shows.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub driver: String,
    #[serde(rename = "IPAM", default, deserialize_with = "nullable")]
    pub ipam: Ipam,
    #[serde(default, deserialize_with = "nullable")]
    pub internal: bool,
    /// The containers attached now, by ID.
    #[serde(default, deserialize_with = "nullable")]
    pub containers: BTreeMap<String, NetworkMember>,
    #[serde(default, deserialize_with = "nullable")]
    pub options: BTreeMap<String, String>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    #[serde(default, deserialize_with = "nullable")]
    pub config: Vec<IpamConfig>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub subnet: String,
    #[serde(default, deserialize_with = "nullable")]
    pub gateway: String,
}

/// A container in a network's `Containers`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkMember {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `172.18.0.2/16`.
    #[serde(rename = "IPv4Address", default, deserialize_with = "nullable")]
    pub ipv4_address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mac_address: String,
}

impl NetworkMember {
    /// The address without its prefix length: `172.18.0.2`.
    pub fn ip(&self) -> &str {
        self.ipv4_address.split('/').next().unwrap_or_default()
    }
}

impl Network {
    fn ipam_config(&self) -> Option<&IpamConfig> {
        self.ipam.config.first()
    }

    pub fn subnet(&self) -> &str {
        self.ipam_config().map_or("", |c| c.subnet.as_str())
    }

    pub fn gateway(&self) -> &str {
        self.ipam_config().map_or("", |c| c.gateway.as_str())
    }

    /// The host's bridge interface (`berth0`, `br-<id>`); empty for `host` and `none`.
    pub fn bridge(&self) -> &str {
        self.options
            .get("com.docker.network.bridge.name")
            .map_or("", String::as_str)
    }

    /// `"bridge · subnet 172.18.0.0/16 · gateway 172.18.0.1 · interface br-1a2b"`: the driver,
    /// then what the network has of the rest.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.driver.clone()];
        for (label, value) in [
            ("subnet", self.subnet()),
            ("gateway", self.gateway()),
            ("interface", self.bridge()),
        ] {
            if !value.is_empty() {
                parts.push(format!("{label} {value}"));
            }
        }
        if self.internal {
            parts.push("internal".into());
        }
        parts.join(" · ")
    }

    /// Docker's pre-defined networks, which cannot be removed.
    pub fn is_predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }

    /// The attached containers as (ID, member), by name.
    pub fn members(&self) -> Vec<(&str, &NetworkMember)> {
        let mut list: Vec<_> = self
            .containers
            .iter()
            .map(|(id, m)| (id.as_str(), m))
            .collect();
        list.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(b.0)));
        list
    }
}

/// The body of `POST /networks/create`: `IPAM` only when a subnet is given.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNetwork {
    pub name: String,
    #[serde(rename = "IPAM", skip_serializing_if = "Option::is_none")]
    pub ipam: Option<CreateIpam>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CreateIpam {
    pub config: Vec<CreateSubnet>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSubnet {
    pub subnet: String,
}

impl CreateNetwork {
    /// From the form: both trimmed, an empty subnet leaves the choice to the agent.
    pub fn new(name: &str, subnet: &str) -> Self {
        let subnet = subnet.trim();
        CreateNetwork {
            name: name.trim().to_string(),
            ipam: (!subnet.is_empty()).then(|| CreateIpam {
                config: vec![CreateSubnet {
                    subnet: subnet.to_string(),
                }],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_docker_nulls() {
        let list: Vec<ImageSummary> = serde_json::from_str(
            r#"[{"Id":"sha256:ab","ParentId":"","RepoTags":null,"RepoDigests":["b@sha256:cd"],
                "Created":946684800,"Size":4096,"SharedSize":-1,"Labels":null,"Containers":-1}]"#,
        )
        .unwrap();
        assert_eq!(list[0].id, "sha256:ab");
        assert!(list[0].repo_tags.is_empty());
        assert_eq!(list[0].repo_digests, ["b@sha256:cd"]);
        assert_eq!((list[0].created, list[0].size), (946_684_800, 4096));
        assert!(list[0].labels.is_empty());
    }

    #[test]
    fn inspect_reads_config_and_rootfs() {
        let i: ImageInspect = serde_json::from_str(
            r#"{"Id":"sha256:ab","RepoTags":["busybox:latest"],"Created":"2000-01-01T00:00:00Z",
                "Config":{"Cmd":["sh"],"Entrypoint":null,"Env":["PATH=/bin"],"WorkingDir":"",
                          "User":"","Labels":null,"ExposedPorts":{"80/tcp":{}}},
                "Architecture":"amd64","Variant":null,"Os":"linux","Size":10,
                "RootFS":{"Type":"layers","Layers":["sha256:11"]}}"#,
        )
        .unwrap();
        assert_eq!(i.config.cmd, ["sh"]);
        assert!(i.config.entrypoint.is_empty());
        assert_eq!(i.config.exposed_ports.len(), 1);
        assert_eq!(i.root_fs.layers, ["sha256:11"]);
        assert_eq!(i.platform(), "linux/amd64");
        let bare: ImageInspect = serde_json::from_str(r#"{"Id":"x","Config":null}"#).unwrap();
        assert_eq!(bare.platform(), "");
    }

    #[test]
    fn container_status_texts_and_ports() {
        let c = |state: &str, started_at, finished_at, exit_code| ContainerSummary {
            id: "abc".into(),
            state: state.into(),
            status: "Up 5 seconds".into(),
            started_at,
            finished_at,
            exit_code,
            ..Default::default()
        };
        assert_eq!(c("running", 0, 0, 0).status_at(99), "Up 5 seconds");
        assert_eq!(c("running", 1000, 0, 0).status_at(1300), "Up 5 minutes");
        assert_eq!(
            c("paused", 1000, 0, 0).status_at(1001),
            "Up 1 second (Paused)"
        );
        assert_eq!(
            c("exited", 1000, 2000, 137).status_at(2000 + 7200),
            "Exited (137) 2 hours ago"
        );
        assert_eq!(c("exited", 0, 0, 0).name(), "abc");
        let port = |ip: &str, private, public| PortSummary {
            ip: ip.into(),
            private,
            public,
            kind: "tcp".into(),
        };
        let mut web = c("running", 1, 0, 0);
        web.names = vec!["/web".into()];
        web.ports = vec![
            port("0.0.0.0", 80, 8080),
            port("::", 80, 8080),
            port("", 443, 0),
        ];
        assert_eq!(web.name(), "web");
        assert_eq!(web.published(), [(8080, "80/tcp".to_string())]);
        assert_eq!(human_duration(-5), "Less than a second");
        assert_eq!(human_duration(90), "About a minute");
    }

    #[test]
    fn top_reads_processes() {
        let t: Top =
            serde_json::from_str(r#"{"Titles":["PID","CMD"],"Processes":[["1","sh"]]}"#).unwrap();
        assert_eq!(t.processes[0][1], "sh");
    }

    #[test]
    fn networks_read_docker_answers() {
        let list: Vec<Network> = serde_json::from_str(
            r#"[{"Name":"testnet","Id":"n1","Driver":"bridge","Internal":false,
                "IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},
                "Containers":{"c2":{"Name":"web","IPv4Address":"172.18.0.2/16","MacAddress":"02:42:ac:12:00:02"},
                              "c1":{"Name":"api","IPv4Address":"172.18.0.3/16","MacAddress":""}},
                "Options":{"com.docker.network.bridge.name":"br-n1"},"Labels":{}},
               {"Name":"none","Id":"n2","Driver":"null","IPAM":{"Config":[]},"Containers":null,"Options":null}]"#,
        )
        .unwrap();
        let (net, none) = (&list[0], &list[1]);
        assert_eq!(
            (net.subnet(), net.gateway()),
            ("172.18.0.0/16", "172.18.0.1")
        );
        assert_eq!(net.bridge(), "br-n1");
        assert!(!net.is_predefined());
        assert_eq!(
            net.summary(),
            "bridge · subnet 172.18.0.0/16 · gateway 172.18.0.1 · interface br-n1"
        );
        let members: Vec<(&str, &str)> =
            net.members().iter().map(|(id, m)| (*id, m.ip())).collect();
        assert_eq!(members, [("c1", "172.18.0.3"), ("c2", "172.18.0.2")]);
        assert_eq!((none.subnet(), none.bridge()), ("", ""));
        assert!(none.is_predefined());
        assert_eq!(none.summary(), "null");
        assert!(none.members().is_empty());
    }

    #[test]
    fn network_create_bodies() {
        let plain = serde_json::to_string(&CreateNetwork::new(" fromui ", " ")).unwrap();
        assert_eq!(plain, r#"{"Name":"fromui"}"#);
        let with = serde_json::to_string(&CreateNetwork::new("n", "10.9.0.0/24")).unwrap();
        assert_eq!(
            with,
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.9.0.0/24"}]}}"#
        );
    }
}
