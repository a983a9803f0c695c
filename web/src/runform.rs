//! The Run dialog without the DOM: what the form holds, checked in plain words, turned into
//! Docker's create body and into the equivalent `docker run` command line. Pure, so it is
//! unit-tested on the host.

use crate::json;
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
        .ok_or_else(|| format!("memory \"{text}\" is not a size like 256m or 1g"))?;
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
        .ok_or_else(|| format!("{what} \"{text}\" is not a port number (1–65535)"))
}

impl RunForm {
    fn env_lines(&self) -> Result<Vec<String>, String> {
        self.env
            .iter()
            .filter(|(k, v)| !(k.trim().is_empty() && v.is_empty()))
            .map(|(k, v)| {
                let k = k.trim();
                if k.is_empty() || k.contains('=') || k.contains(char::is_whitespace) {
                    Err(format!(
                        "environment name \"{k}\" must be one word without ="
                    ))
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
                        "volume \"{source}\" → \"{target}\": give a host path or volume name, and an absolute path in the container"
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
            .ok_or_else(|| format!("CPUs \"{}\" is not a number like 0.5 or 2", self.cpus))
    }

    /// (name, maximum retry count).
    fn restart_policy(&self) -> Result<(String, i64), String> {
        let retries = match (self.restart.as_str(), self.retries.trim()) {
            ("on-failure", r) if !r.is_empty() => r
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("retries \"{r}\" is not a count"))?,
            _ => 0,
        };
        Ok((self.restart.clone(), retries))
    }

    /// Docker's `POST /containers/create` body, or what is wrong with the form.
    pub fn create_body(&self) -> Result<String, String> {
        if self.image.trim().is_empty() {
            return Err("Choose an image to run.".into());
        }
        if self.remove && self.restart != "no" {
            return Err("A container removed on exit cannot have a restart policy.".into());
        }
        let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (inner, host) in self.port_pairs()? {
            bindings.entry(inner).or_default().push(format!(
                "{{\"HostIp\":\"\",\"HostPort\":{}}}",
                json::string(&host)
            ));
        }
        let mut out = format!("{{\"Image\":{}", json::string(self.image.trim()));
        for (key, text, what) in [
            ("Cmd", &self.command, "command"),
            ("Entrypoint", &self.entrypoint, "entrypoint"),
        ] {
            if let Some(words) = Self::words(text, what)? {
                out.push_str(&format!(",\"{key}\":{}", json::list(&words)));
            }
        }
        let env = self.env_lines()?;
        if !env.is_empty() {
            out.push_str(&format!(",\"Env\":{}", json::list(&env)));
        }
        let exposed: Vec<String> = bindings
            .keys()
            .map(|k| format!("{}:{{}}", json::string(k)))
            .collect();
        let published: Vec<String> = bindings
            .iter()
            .map(|(k, v)| format!("{}:[{}]", json::string(k), v.join(",")))
            .collect();
        let policy = self.restart_policy()?;
        out.push_str(&format!(
            ",\"ExposedPorts\":{{{}}},\"HostConfig\":{{\"PortBindings\":{{{}}},\"Binds\":{},\
             \"NetworkMode\":{},\"RestartPolicy\":{{\"Name\":{},\"MaximumRetryCount\":{}}},\
             \"Memory\":{},\"NanoCpus\":{},\"AutoRemove\":{}}}}}",
            exposed.join(","),
            published.join(","),
            json::list(&self.binds()?),
            json::string(&self.network),
            json::string(&policy.0),
            policy.1,
            self.memory_bytes()?,
            self.nano_cpus()?,
            self.remove
        ));
        Ok(out)
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

/// A port row of the form; `n` tells its check's answer where to go.
pub fn port_row_html(n: u64) -> String {
    format!(
        "<div class=\"row port-row\" data-row=\"{n}\">\
         <input class=\"port-host\" inputmode=\"numeric\" placeholder=\"host port\"> → \
         <input class=\"port-container\" inputmode=\"numeric\" placeholder=\"container port\">\
         <select class=\"port-proto\"><option>tcp</option><option>udp</option></select>\
         <button type=\"button\" class=\"ghost row-remove\" title=\"Remove\">×</button>\
         <span class=\"port-check\"></span></div>"
    )
}

pub const ENV_ROW: &str = "<div class=\"row env-row\"><input class=\"env-key\" placeholder=\"NAME\"> = \
     <input class=\"env-value\" placeholder=\"value\">\
     <button type=\"button\" class=\"ghost row-remove\" title=\"Remove\">×</button></div>";

pub const VOLUME_ROW: &str = "<div class=\"row volume-row\">\
     <input class=\"vol-source\" placeholder=\"host path or volume name\"> → \
     <input class=\"vol-target\" placeholder=\"/path/in/container\">\
     <label class=\"check\"><input type=\"checkbox\" class=\"vol-ro\"> read-only</label>\
     <button type=\"button\" class=\"ghost row-remove\" title=\"Remove\">×</button></div>";

/// The form's fields as markup (the dialog reads them back when it needs the form).
pub fn form_html(image: &str) -> String {
    let field = |id: &str, label: &str, placeholder: &str, value: &str| {
        format!(
            "<label>{label}<input id=\"{id}\" placeholder=\"{placeholder}\" spellcheck=\"false\" value=\"{}\"></label>",
            crate::html::esc(value)
        )
    };
    format!(
        "<div class=\"grid2\">{}{}{}{}</div>\
         <fieldset><legend>Ports</legend><div class=\"rows\" id=\"run-ports\">{}</div>\
         <button type=\"button\" class=\"ghost\" id=\"run-add-port\" data-add=\"port\">+ port</button></fieldset>\
         <fieldset><legend>Environment</legend><div class=\"rows\" id=\"run-env\">{ENV_ROW}</div>\
         <button type=\"button\" class=\"ghost\" id=\"run-add-env\" data-add=\"env\">+ variable</button></fieldset>\
         <fieldset><legend>Volumes and binds</legend><div class=\"rows\" id=\"run-volumes\">{VOLUME_ROW}</div>\
         <button type=\"button\" class=\"ghost\" id=\"run-add-volume\" data-add=\"volume\">+ volume</button></fieldset>\
         <div class=\"grid2\">\
         <label>Network<select id=\"run-network\"><option>bridge</option><option>host</option><option>none</option></select></label>\
         <label>Restart policy<span class=\"row\"><select id=\"run-restart\"><option>no</option><option>always</option>\
         <option>unless-stopped</option><option>on-failure</option></select>\
         <input id=\"run-retries\" inputmode=\"numeric\" placeholder=\"max retries (on-failure)\"></span></label>\
         {}{}</div>\
         <div class=\"row\"><label class=\"check\"><input id=\"run-rm\" type=\"checkbox\"> Remove when it exits (--rm)</label>\
         <label class=\"check\"><input type=\"radio\" name=\"run-mode\" id=\"run-detach\" checked> Detach</label>\
         <label class=\"check\"><input type=\"radio\" name=\"run-mode\" id=\"run-attach\"> Attach (open its logs)</label></div>",
        field("run-image", "Image", "busybox:latest", image),
        field("run-name", "Name", "(generated)", ""),
        field("run-cmd", "Command", "(the image's)", ""),
        field("run-entrypoint", "Entrypoint", "(the image's)", ""),
        port_row_html(0),
        field("run-memory", "Memory limit", "e.g. 256m", ""),
        field("run-cpus", "CPUs", "e.g. 0.5", ""),
    )
}

/// What a host-port check says, as the port row shows it (with a button to take the
/// suggested port when the asked one is taken).
pub fn check_html(check: &shared::live::PortCheck) -> String {
    if check.free {
        return "<span class=\"port-ok\">free</span>".into();
    }
    let mut out = format!(
        "<span class=\"port-taken\">taken: {}</span>",
        crate::html::esc(check.reason.as_deref().unwrap_or("in use"))
    );
    if let Some(p) = check.suggestion {
        out.push_str(&format!(
            " <button type=\"button\" class=\"ghost port-use\" data-port=\"{p}\">use {p}</button>"
        ));
    }
    out
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
        let bare: serde_json::Value = serde_json::from_str(
            &RunForm {
                image: "x".into(),
                ..Default::default()
            }
            .create_body()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(bare["HostConfig"]["Memory"], 0);
        assert!(bare.get("Cmd").is_none());
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
    fn markup() {
        let form = form_html("a\"b");
        assert!(form.contains("id=\"run-image\" placeholder=\"busybox:latest\" spellcheck=\"false\" value=\"a&quot;b\""));
        assert!(form.contains("data-row=\"0\""));
        let taken = shared::live::PortCheck {
            port: 80,
            protocol: "tcp".into(),
            free: false,
            reason: Some("published by <web>".into()),
            suggestion: Some(81),
        };
        assert_eq!(
            check_html(&taken),
            "<span class=\"port-taken\">taken: published by &lt;web&gt;</span> \
             <button type=\"button\" class=\"ghost port-use\" data-port=\"81\">use 81</button>"
        );
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
