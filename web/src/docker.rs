//! The Docker Engine API's image, container and network answers, as far as the dashboard reads them. Docker writes
//! `null` for many empty lists and maps, so every field reads `null` as its default.

use crate::json::{self, Json};
use shared::units::human_duration;
use std::collections::BTreeMap;

/// One entry of `GET /images/json` (Docker's `ImageSummary`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    pub size: i64,
    pub labels: BTreeMap<String, String>,
    /// Where it is, set by the page rather than read: the peer its calls go to (`None`:
    /// this agent), and the host's name for the Host column ("All hosts"; else empty).
    pub peer: Option<String>,
    pub host: String,
}

impl ImageSummary {
    pub fn read(j: &Json) -> Self {
        ImageSummary {
            id: j.at("Id").str(),
            repo_tags: j.at("RepoTags").strings(),
            repo_digests: j.at("RepoDigests").strings(),
            created: j.at("Created").int(),
            size: j.at("Size").int(),
            labels: j.at("Labels").string_map().into_iter().collect(),
            peer: None,
            host: String::new(),
        }
    }
}

/// The runnable part of an image (`Config` in `GET /images/{id}/json`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunConfig {
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    /// `80/tcp`, sorted.
    pub exposed_ports: Vec<String>,
}

impl RunConfig {
    pub fn read(j: &Json) -> Self {
        let mut exposed_ports: Vec<String> = j
            .at("ExposedPorts")
            .entries()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        exposed_ports.sort();
        RunConfig {
            cmd: j.at("Cmd").strings(),
            entrypoint: j.at("Entrypoint").strings(),
            env: j.at("Env").strings(),
            working_dir: j.at("WorkingDir").str(),
            user: j.at("User").str(),
            labels: j.at("Labels").string_map().into_iter().collect(),
            exposed_ports,
        }
    }
}

/// `GET /images/{id}/json` (Docker's `ImageInspect`), the parts the detail page shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// RFC 3339.
    pub created: String,
    pub author: String,
    pub comment: String,
    pub architecture: String,
    pub variant: String,
    pub os: String,
    pub size: i64,
    pub config: RunConfig,
    /// The diff IDs of `RootFS.Layers`, bottom layer first.
    pub layers: Vec<String>,
}

impl ImageInspect {
    pub fn read(j: &Json) -> Self {
        ImageInspect {
            id: j.at("Id").str(),
            repo_tags: j.at("RepoTags").strings(),
            repo_digests: j.at("RepoDigests").strings(),
            created: j.at("Created").str(),
            author: j.at("Author").str(),
            comment: j.at("Comment").str(),
            architecture: j.at("Architecture").str(),
            variant: j.at("Variant").str(),
            os: j.at("Os").str(),
            size: j.at("Size").int(),
            config: RunConfig::read(&j.at("Config")),
            layers: j.at("RootFS.Layers").strings(),
        }
    }

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
    /// Where it is, set by the page rather than read: the peer its calls go to (`None`:
    /// this agent), and the host's name for the Host column ("All hosts"; else empty).
    pub peer: Option<String>,
    pub host: String,
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

/// A container's name without Docker's leading `/`; the short ID when it has none.
pub fn container_name<'a>(name: &'a str, id: &'a str) -> &'a str {
    match name.trim_start_matches('/') {
        "" => crate::format::short_id(id),
        n => n,
    }
}

impl ContainerSummary {
    /// One entry of the list (Docker writes `null` for empty lists).
    pub fn read(j: &Json) -> Self {
        ContainerSummary {
            id: j.at("Id").str(),
            names: j.at("Names").strings(),
            image: j.at("Image").str(),
            image_id: j.at("ImageID").str(),
            command: j.at("Command").str(),
            created: j.at("Created").int(),
            state: j.at("State").str(),
            status: j.at("Status").str(),
            ports: j
                .at("Ports")
                .list()
                .iter()
                .map(|p| PortSummary {
                    ip: p.at("IP").str(),
                    private: p.at("PrivatePort").uint() as u16,
                    public: p.at("PublicPort").uint() as u16,
                    kind: p.at("Type").str(),
                })
                .collect(),
            started_at: j.at("StartedAt").int(),
            finished_at: j.at("FinishedAt").int(),
            exit_code: j.at("ExitCode").int(),
            peer: None,
            host: String::new(),
        }
    }

    pub fn name(&self) -> &str {
        container_name(self.names.first().map_or("", String::as_str), &self.id)
    }

    /// `docker ps`'s Status at `now` (Unix seconds), from the times Berth sends; the agent's
    /// own text when it sent none (another engine).
    pub fn status_at(&self, now: i64) -> String {
        // A time ahead of the browser's clock reads as "Less than a second".
        let since = |t: i64| human_duration(u64::try_from(now - t).unwrap_or(0));
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl Top {
    pub fn read(j: &Json) -> Self {
        Top {
            titles: j.at("Titles").strings(),
            processes: j.at("Processes").list().iter().map(Json::strings).collect(),
        }
    }
}

/// One entry of `GET /networks` (Docker's `Network`), the parts the Networks page shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// The first `IPAM.Config` entry's subnet and gateway.
    pub subnet: String,
    pub gateway: String,
    pub internal: bool,
    /// The containers attached now, by ID.
    pub containers: BTreeMap<String, NetworkMember>,
    pub options: BTreeMap<String, String>,
}

/// A container in a network's `Containers`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkMember {
    pub name: String,
    /// `172.18.0.2/16`.
    pub ipv4_address: String,
    pub mac_address: String,
}

impl Network {
    pub fn read(j: &Json) -> Self {
        let ipam = j.at("IPAM.Config").list();
        let first = |k: &str| ipam.first().map(|c| c.at(k).str()).unwrap_or_default();
        Network {
            id: j.at("Id").str(),
            name: j.at("Name").str(),
            driver: j.at("Driver").str(),
            subnet: first("Subnet"),
            gateway: first("Gateway"),
            internal: j.at("Internal").bool(),
            containers: j
                .at("Containers")
                .entries()
                .into_iter()
                .map(|(id, m)| {
                    let member = NetworkMember {
                        name: m.at("Name").str(),
                        ipv4_address: m.at("IPv4Address").str(),
                        mac_address: m.at("MacAddress").str(),
                    };
                    (id, member)
                })
                .collect(),
            options: j.at("Options").string_map().into_iter().collect(),
        }
    }
}

impl NetworkMember {
    /// The address without its prefix length: `172.18.0.2`.
    pub fn ip(&self) -> &str {
        self.ipv4_address.split('/').next().unwrap_or_default()
    }
}

impl Network {
    pub fn subnet(&self) -> &str {
        &self.subnet
    }

    pub fn gateway(&self) -> &str {
        &self.gateway
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

/// The body of `POST /networks/create` from the form: both trimmed, `IPAM` only when a
/// subnet is given (an empty one leaves the choice to the agent).
pub fn create_network_body(name: &str, subnet: &str) -> String {
    let name = json::string(name.trim());
    match subnet.trim() {
        "" => format!("{{\"Name\":{name}}}"),
        subnet => format!(
            "{{\"Name\":{name},\"IPAM\":{{\"Config\":[{}]}}}}",
            json::object(&[("Subnet", subnet)])
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Json {
        Json::parse(text).unwrap()
    }

    #[test]
    fn summaries_read_docker_nulls() {
        let list: Vec<ImageSummary> = read(
            r#"[{"Id":"sha256:ab","ParentId":"","RepoTags":null,"RepoDigests":["b@sha256:cd"],
                "Created":946684800,"Size":4096,"SharedSize":-1,"Labels":null,"Containers":-1}]"#,
        )
        .list()
        .iter()
        .map(ImageSummary::read)
        .collect();
        assert_eq!(list[0].id, "sha256:ab");
        assert!(list[0].repo_tags.is_empty());
        assert_eq!(list[0].repo_digests, ["b@sha256:cd"]);
        assert_eq!((list[0].created, list[0].size), (946_684_800, 4096));
        assert!(list[0].labels.is_empty());
    }

    #[test]
    fn inspect_reads_config_and_rootfs() {
        let i = ImageInspect::read(&read(
            r#"{"Id":"sha256:ab","RepoTags":["busybox:latest"],"Created":"2000-01-01T00:00:00Z",
                "Config":{"Cmd":["sh"],"Entrypoint":null,"Env":["PATH=/bin"],"WorkingDir":"",
                          "User":"","Labels":null,"ExposedPorts":{"80/tcp":{}}},
                "Architecture":"amd64","Variant":null,"Os":"linux","Size":10,
                "RootFS":{"Type":"layers","Layers":["sha256:11"]}}"#,
        ));
        assert_eq!(i.config.cmd, ["sh"]);
        assert!(i.config.entrypoint.is_empty());
        assert_eq!(i.config.exposed_ports, ["80/tcp"]);
        assert_eq!(i.layers, ["sha256:11"]);
        assert_eq!(i.platform(), "linux/amd64");
        let bare = ImageInspect::read(&read(r#"{"Id":"x","Config":null}"#));
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
        // A start ahead of the browser's clock reads as just started.
        assert_eq!(
            c("running", 1005, 0, 0).status_at(1000),
            "Up Less than a second"
        );
        assert_eq!(
            c("running", 1000, 0, 0).status_at(1090),
            "Up About a minute"
        );
    }

    #[test]
    fn top_reads_processes() {
        let t = Top::read(&read(
            r#"{"Titles":["PID","CMD"],"Processes":[["1","sh"]]}"#,
        ));
        assert_eq!(t.processes[0][1], "sh");
    }

    #[test]
    fn networks_read_docker_answers() {
        let list: Vec<Network> = read(
            r#"[{"Name":"testnet","Id":"n1","Driver":"bridge","Internal":false,
                "IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},
                "Containers":{"c2":{"Name":"web","IPv4Address":"172.18.0.2/16","MacAddress":"02:42:ac:12:00:02"},
                              "c1":{"Name":"api","IPv4Address":"172.18.0.3/16","MacAddress":""}},
                "Options":{"com.docker.network.bridge.name":"br-n1"},"Labels":{}},
               {"Name":"none","Id":"n2","Driver":"null","IPAM":{"Config":[]},"Containers":null,"Options":null}]"#,
        )
        .list()
        .iter()
        .map(Network::read)
        .collect();
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
        let plain = create_network_body(" fromui ", " ");
        assert_eq!(plain, r#"{"Name":"fromui"}"#);
        let with = create_network_body("n", "10.9.0.0/24");
        assert_eq!(
            with,
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.9.0.0/24"}]}}"#
        );
    }
}
