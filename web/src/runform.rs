//! The Run dialog without the DOM: what the form holds, checked in plain words, turned into
//! Docker's create body and into the equivalent `docker run` command line. Pure, so it is
//! unit-tested on the host.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortRow {
    /// Empty: a port the host picks.
    pub host: String,
    pub container: String,
    /// `tcp` or `udp`.
    pub protocol: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct VolumeRow {
    /// A host path (`/srv/www`) or a volume's name.
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunForm {
    pub image: String,
    pub name: String,
    pub command: String,
    pub entrypoint: String,
    pub env: Vec<(String, String)>,
    pub ports: Vec<PortRow>,
    pub volumes: Vec<VolumeRow>,
    pub network: String,
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    pub restart: String,
    pub retries: String,
    /// `256m`, `1g`, bytes; empty for no limit.
    pub memory: String,
    /// `0.5`; empty for no limit.
    pub cpus: String,
    pub remove: bool,
    /// Open the container's logs after starting (else stay detached).
    pub attach: bool,
}

impl Default for RunForm {
    fn default() -> Self {
        RunForm {
            image: String::new(),
            name: String::new(),
            command: String::new(),
            entrypoint: String::new(),
            env: Vec::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            network: "bridge".into(),
            restart: "no".into(),
            retries: String::new(),
            memory: String::new(),
            cpus: String::new(),
            remove: false,
            attach: false,
        }
    }
}

/// Splits a command line as a POSIX shell would (quotes and backslashes; no expansion).
pub fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a ' quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a \" quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a \" quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A word quoted for a shell when it needs it.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `256m`, `1.5g`, `1048576` → bytes; Docker's suffixes b, k, m, g (binary).
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').filter(|r| !r.is_empty()).unwrap_or(&t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c @ ('k' | 'm' | 'g' | 't'))) => (&t[..i], c),
        _ => (t, 'b'),
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("memory {text:?} is not a size like 256m or 1g"))?;
    let scale = match unit {
        'k' => 1u64 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        't' => 1 << 40,
        _ => 1,
    };
    let bytes = value * scale as f64;
    if bytes < 6.0 * 1024.0 * 1024.0 {
        return Err("the memory limit must be at least 6m".into());
    }
    Ok(bytes as i64)
}

fn port(text: &str, what: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{what} {text:?} is not a port number (1–65535)"))
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RestartPolicy {
    name: String,
    maximum_retry_count: i64,
}

#[derive(Serialize)]
struct Binding {
    #[serde(rename = "HostIp")]
    host_ip: &'static str,
    #[serde(rename = "HostPort")]
    host_port: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct HostConfig {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    port_bindings: BTreeMap<String, Vec<Binding>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    binds: Vec<String>,
    network_mode: String,
    restart_policy: RestartPolicy,
    #[serde(skip_serializing_if = "is_zero")]
    memory: i64,
    #[serde(skip_serializing_if = "is_zero")]
    nano_cpus: i64,
    auto_remove: bool,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<String, BTreeMap<(), ()>>,
    host_config: HostConfig,
}

impl RunForm {
    fn env_lines(&self) -> Result<Vec<String>, String> {
        self.env
            .iter()
            .filter(|(k, v)| !(k.trim().is_empty() && v.is_empty()))
            .map(|(k, v)| {
                let k = k.trim();
                if k.is_empty() || k.contains('=') || k.contains(char::is_whitespace) {
                    Err(format!("environment name {k:?} must be one word without ="))
                } else {
                    Ok(format!("{k}={v}"))
                }
            })
            .collect()
    }

    /// (`80/tcp`, host port or "") of the filled port rows.
    fn port_pairs(&self) -> Result<Vec<(String, String)>, String> {
        self.ports
            .iter()
            .filter(|p| !(p.host.trim().is_empty() && p.container.trim().is_empty()))
            .map(|p| {
                let inner = port(&p.container, "container port")?;
                let host = match p.host.trim() {
                    "" => String::new(),
                    h => port(h, "host port")?.to_string(),
                };
                let proto = if p.protocol == "udp" { "udp" } else { "tcp" };
                Ok((format!("{inner}/{proto}"), host))
            })
            .collect()
    }

    fn binds(&self) -> Result<Vec<String>, String> {
        self.volumes
            .iter()
            .filter(|v| !(v.source.trim().is_empty() && v.target.trim().is_empty()))
            .map(|v| {
                let (source, target) = (v.source.trim(), v.target.trim());
                if source.is_empty() || !target.starts_with('/') {
                    return Err(format!(
                        "volume {source:?} → {target:?}: give a host path or volume name, and an absolute path in the container"
                    ));
                }
                Ok(if v.read_only {
                    format!("{source}:{target}:ro")
                } else {
                    format!("{source}:{target}")
                })
            })
            .collect()
    }

    fn words(text: &str, what: &str) -> Result<Option<Vec<String>>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        shell_words(text)
            .map(Some)
            .map_err(|e| format!("{what}: {e}"))
    }

    fn memory_bytes(&self) -> Result<i64, String> {
        if self.memory.trim().is_empty() {
            Ok(0)
        } else {
            parse_memory(&self.memory)
        }
    }

    fn nano_cpus(&self) -> Result<i64, String> {
        if self.cpus.trim().is_empty() {
            return Ok(0);
        }
        self.cpus
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c > 0.0)
            .map(|c| (c * 1e9) as i64)
            .ok_or_else(|| format!("CPUs {:?} is not a number like 0.5 or 2", self.cpus))
    }

    fn restart_policy(&self) -> Result<RestartPolicy, String> {
        let retries = match (self.restart.as_str(), self.retries.trim()) {
            ("on-failure", r) if !r.is_empty() => r
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("retries {r:?} is not a count"))?,
            _ => 0,
        };
        Ok(RestartPolicy {
            name: self.restart.clone(),
            maximum_retry_count: retries,
        })
    }

    /// Docker's `POST /containers/create` body, or what is wrong with the form.
    pub fn create_body(&self) -> Result<String, String> {
        if self.image.trim().is_empty() {
            return Err("Choose an image to run.".into());
        }
        if self.remove && self.restart != "no" {
            return Err("A container removed on exit cannot have a restart policy.".into());
        }
        let mut bindings: BTreeMap<String, Vec<Binding>> = BTreeMap::new();
        let mut exposed = BTreeMap::new();
        for (inner, host) in self.port_pairs()? {
            exposed.insert(inner.clone(), BTreeMap::new());
            bindings.entry(inner).or_default().push(Binding {
                host_ip: "",
                host_port: host,
            });
        }
        let body = CreateBody {
            image: self.image.trim().to_string(),
            cmd: Self::words(&self.command, "command")?,
            entrypoint: Self::words(&self.entrypoint, "entrypoint")?,
            env: self.env_lines()?,
            exposed_ports: exposed,
            host_config: HostConfig {
                port_bindings: bindings,
                binds: self.binds()?,
                network_mode: self.network.clone(),
                restart_policy: self.restart_policy()?,
                memory: self.memory_bytes()?,
                nano_cpus: self.nano_cpus()?,
                auto_remove: self.remove,
            },
        };
        serde_json::to_string(&body).map_err(|e| e.to_string())
    }

    /// The same as a `docker run` command line (as far as the form is valid).
    pub fn docker_command(&self) -> String {
        let mut out = vec!["docker".to_string(), "run".into()];
        out.push(if self.attach { "-it" } else { "-d" }.into());
        if self.remove {
            out.push("--rm".into());
        }
        if !self.name.trim().is_empty() {
            out.extend(["--name".into(), quote(self.name.trim())]);
        }
        for (inner, host) in self.port_pairs().unwrap_or_default() {
            let inner = inner.strip_suffix("/tcp").unwrap_or(&inner).to_string();
            let spec = if host.is_empty() {
                inner
            } else {
                format!("{host}:{inner}")
            };
            out.extend(["-p".into(), spec]);
        }
        for line in self.env_lines().unwrap_or_default() {
            out.extend(["-e".into(), quote(&line)]);
        }
        for bind in self.binds().unwrap_or_default() {
            out.extend(["-v".into(), quote(&bind)]);
        }
        if !self.network.is_empty() && self.network != "bridge" {
            out.extend(["--network".into(), quote(&self.network)]);
        }
        if self.restart != "no" && !self.restart.is_empty() {
            let policy = match (self.restart.as_str(), self.retries.trim()) {
                ("on-failure", r) if !r.is_empty() => format!("on-failure:{r}"),
                (p, _) => p.to_string(),
            };
            out.extend(["--restart".into(), policy]);
        }
        if !self.memory.trim().is_empty() {
            out.extend(["-m".into(), quote(self.memory.trim())]);
        }
        if !self.cpus.trim().is_empty() {
            out.extend(["--cpus".into(), quote(self.cpus.trim())]);
        }
        if let Ok(Some(entry)) = Self::words(&self.entrypoint, "") {
            out.extend(["--entrypoint".into(), quote(&entry.join(" "))]);
        }
        out.push(quote(self.image.trim()));
        if let Ok(Some(cmd)) = Self::words(&self.command, "") {
            out.extend(cmd.iter().map(|w| quote(w)));
        }
        out.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"sh -c "echo \"hi\" there" 'a b' c\ d"#).unwrap(),
            ["sh", "-c", "echo \"hi\" there", "a b", "c d"]
        );
        assert_eq!(shell_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(shell_words("''").unwrap(), [""]);
        assert!(shell_words("echo 'open").is_err());
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("KEY=v"), "KEY=v");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("256m").unwrap(), 256 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        assert!(parse_memory("1k").is_err());
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("-5m").is_err());
    }

    fn web() -> RunForm {
        RunForm {
            image: "busybox".into(),
            name: "web".into(),
            command: "httpd -f -p 80 -h /www".into(),
            env: vec![
                ("MODE".into(), "a b".into()),
                (String::new(), String::new()),
            ],
            ports: vec![
                PortRow {
                    host: "8080".into(),
                    container: "80".into(),
                    protocol: "tcp".into(),
                },
                PortRow {
                    host: String::new(),
                    container: "53".into(),
                    protocol: "udp".into(),
                },
            ],
            volumes: vec![VolumeRow {
                source: "/srv".into(),
                target: "/www".into(),
                read_only: true,
            }],
            restart: "on-failure".into(),
            retries: "3".into(),
            memory: "64m".into(),
            cpus: "0.5".into(),
            ..Default::default()
        }
    }

    #[test]
    fn bodies_follow_docker() {
        let body: serde_json::Value = serde_json::from_str(&web().create_body().unwrap()).unwrap();
        assert_eq!(body["Image"], "busybox");
        assert_eq!(body["Cmd"][0], "httpd");
        assert!(body.get("Entrypoint").is_none());
        assert_eq!(body["Env"], serde_json::json!(["MODE=a b"]));
        assert_eq!(body["ExposedPorts"]["80/tcp"], serde_json::json!({}));
        let host = &body["HostConfig"];
        assert_eq!(host["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(host["PortBindings"]["53/udp"][0]["HostPort"], "");
        assert_eq!(host["Binds"][0], "/srv:/www:ro");
        assert_eq!(host["RestartPolicy"]["Name"], "on-failure");
        assert_eq!(host["RestartPolicy"]["MaximumRetryCount"], 3);
        assert_eq!(host["Memory"], 64 << 20);
        assert_eq!(host["NanoCpus"], 500_000_000);
        assert_eq!(host["NetworkMode"], "bridge");
        assert_eq!(host["AutoRemove"], false);
    }

    #[test]
    fn bad_forms_say_why() {
        let mut f = web();
        f.ports[0].container = "http".into();
        assert!(f.create_body().unwrap_err().contains("container port"));
        let mut f = web();
        f.ports[0].host = "70000".into();
        assert!(f.create_body().unwrap_err().contains("host port"));
        let mut f = web();
        f.env[0].0 = "A B".into();
        assert!(f.create_body().unwrap_err().contains("environment"));
        let mut f = web();
        f.volumes[0].target = "www".into();
        assert!(f.create_body().unwrap_err().contains("absolute"));
        let mut f = web();
        f.remove = true;
        assert!(f.create_body().unwrap_err().contains("restart"));
        let mut f = web();
        f.command = "sh -c 'oops".into();
        assert!(f.create_body().unwrap_err().contains("command"));
        assert!(RunForm::default().create_body().is_err());
    }

    #[test]
    fn the_docker_command_line() {
        assert_eq!(
            web().docker_command(),
            "docker run -d --name web -p 8080:80 -p 53/udp -e 'MODE=a b' -v /srv:/www:ro \
             --restart on-failure:3 -m 64m --cpus 0.5 busybox httpd -f -p 80 -h /www"
        );
        let simple = RunForm {
            image: "busybox".into(),
            remove: true,
            attach: true,
            network: "none".into(),
            ..Default::default()
        };
        assert_eq!(
            simple.docker_command(),
            "docker run -it --rm --network none busybox"
        );
    }
}
