//! The Overview tab: state, config (command, env, labels), networks and published ports
//! (host ports as links), mounts, restart policy and limits — read from the inspect answer
//! and written as markup ([`crate::html`]).

use crate::format;
use crate::html::{esc, lines_row};
use crate::json::Json;
use crate::pages::{command, now_secs, when};
use crate::route::image_href;
use std::fmt::Write as _;

/// `http://<host>:<port>/` for a published port, as the browser reaches this host: the page's
/// own host name when the port listens on every address or on loopback.
fn port_link(host_ip: &str, port: &str) -> String {
    let page_host = crate::dom::window()
        .location()
        .hostname()
        .unwrap_or_default();
    let host = match host_ip {
        "" | "0.0.0.0" | "::" | "127.0.0.1" | "::1" => page_host,
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{port}/")
}

fn limit(value: f64, show: impl Fn(f64) -> String) -> String {
    if value > 0.0 {
        show(value)
    } else {
        "no limit".to_string()
    }
}

/// A card: its title and facts rows (`(id, label, value)`, empty values left out) followed
/// by ready-made rows.
fn card(out: &mut String, title: &str, rows: &[(&str, &str, String)], extra: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><h2>{title}</h2><table class=\"facts\">"
    );
    for (id, label, value) in rows.iter().filter(|r| !r.2.is_empty()) {
        let _ = write!(
            out,
            "<tr><th>{label}</th><td id=\"{id}\">{}</td></tr>",
            esc(value)
        );
    }
    let _ = write!(out, "{extra}</table></div>");
}

pub(super) fn cards(i: &Json) -> String {
    let now = now_secs();
    let state = i.at("State");
    let status = state.at("Status").str();
    let exited = matches!(status.as_str(), "exited" | "dead");
    let mut argv = vec![i.at("Path").str()];
    argv.extend(i.at("Args").strings());
    let image_id = i.at("Image").str();
    let image = match i.at("Config.Image").str() {
        s if s.is_empty() => format::short_id(&image_id).to_string(),
        s => s,
    };
    let host = i.at("HostConfig");
    let policy = host.at("RestartPolicy");
    let restart = match (
        policy.at("Name").str(),
        policy.at("MaximumRetryCount").num(),
    ) {
        (n, _) if n.is_empty() || n == "no" => "no".to_string(),
        (n, r) if n == "on-failure" && r > 0.0 => format!("on-failure:{}", r as u64),
        (n, _) => n,
    };
    let entrypoint = i.at("Config.Entrypoint").strings();
    let when_if = |cond: bool, at: &str| if cond { when(at, now) } else { String::new() };
    let mut out = String::new();

    let image_row = format!(
        "<tr><th>Image</th><td><a id=\"container-image\" href=\"{}\" title=\"{}\">{}</a></td></tr>",
        esc(&image_href(&image_id)),
        esc(&image_id),
        esc(&image)
    );
    card(
        &mut out,
        "Container",
        &[
            ("container-id", "ID", i.at("Id").str()),
            ("container-cmd", "Command", command(&argv)),
            (
                "container-entrypoint",
                "Entrypoint",
                if entrypoint.is_empty() {
                    String::new()
                } else {
                    command(&entrypoint)
                },
            ),
            (
                "container-created",
                "Created",
                when(&i.at("Created").str(), now),
            ),
            (
                "container-started",
                "Started",
                when(&state.at("StartedAt").str(), now),
            ),
            (
                "container-finished",
                "Finished",
                when_if(exited, &state.at("FinishedAt").str()),
            ),
            (
                "container-exit",
                "Exit code",
                if exited {
                    state.at("ExitCode").str()
                } else {
                    String::new()
                },
            ),
            (
                "container-pid",
                "PID",
                if state.at("Pid").num() > 0.0 {
                    state.at("Pid").str()
                } else {
                    String::new()
                },
            ),
            (
                "container-oom",
                "OOM killed",
                if state.at("OOMKilled").bool() {
                    "yes".into()
                } else {
                    String::new()
                },
            ),
            ("container-restart", "Restart policy", restart),
            (
                "container-restarts",
                "Restart count",
                i.at("RestartCount").str(),
            ),
            ("container-state-error", "Error", state.at("Error").str()),
        ],
        &image_row,
    );

    let mut ports = String::new();
    for (inner, bound) in i.at("NetworkSettings.Ports").entries() {
        for b in bound.list() {
            let (ip, port) = (b.at("HostIp").str(), b.at("HostPort").str());
            let shown = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.clone()
            };
            let _ = write!(
                ports,
                "<div><a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}:{} → {}</a></div>",
                esc(&port_link(&ip, &port)),
                esc(&shown),
                esc(&port),
                esc(&inner)
            );
        }
    }
    if ports.is_empty() {
        ports.push('—');
    }
    let networks: Vec<String> = i
        .at("NetworkSettings.Networks")
        .entries()
        .into_iter()
        .map(|(name, n)| match n.at("IPAddress").str() {
            ip if ip.is_empty() => name,
            ip => format!("{name}: {ip}"),
        })
        .collect();
    let extra = format!(
        "{}<tr><th>Ports</th><td id=\"container-ports\" class=\"mono\">{ports}</td></tr>",
        lines_row("container-networks", "Networks", &networks)
    );
    card(
        &mut out,
        "Network",
        &[
            (
                "container-network-mode",
                "Mode",
                host.at("NetworkMode").str(),
            ),
            (
                "container-hostname",
                "Hostname",
                i.at("Config.Hostname").str(),
            ),
        ],
        &extra,
    );

    let labels: Vec<String> = i
        .at("Config.Labels")
        .entries()
        .into_iter()
        .map(|(k, v)| format!("{k}={}", v.str()))
        .collect();
    let extra = format!(
        "{}{}",
        lines_row(
            "container-env",
            "Environment",
            &i.at("Config.Env").strings()
        ),
        lines_row("container-labels", "Labels", &labels)
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    card(
        &mut out,
        "Config",
        &[
            (
                "container-workdir",
                "Working dir",
                i.at("Config.WorkingDir").str(),
            ),
            ("container-user", "User", i.at("Config.User").str()),
            ("container-tty", "TTY", yes_no(i.at("Config.Tty").bool())),
        ],
        &extra,
    );

    let mounts: Vec<String> = i
        .at("Mounts")
        .list()
        .iter()
        .map(|m| {
            let ro = if m.at("RW").bool() {
                ""
            } else {
                " (read-only)"
            };
            format!(
                "{} {} → {}{ro}",
                m.at("Type").str(),
                m.at("Source").str(),
                m.at("Destination").str()
            )
        })
        .collect();
    card(
        &mut out,
        "Limits and mounts",
        &[
            (
                "container-memory",
                "Memory",
                limit(host.at("Memory").num(), |m| format::bytes(m as u64)),
            ),
            (
                "container-cpus",
                "CPUs",
                limit(host.at("NanoCpus").num(), |n| crate::json::number(n / 1e9)),
            ),
            (
                "container-pids",
                "PIDs",
                limit(host.at("PidsLimit").num(), |p| (p as i64).to_string()),
            ),
            (
                "container-autoremove",
                "Remove on exit",
                yes_no(host.at("AutoRemove").bool()),
            ),
        ],
        &lines_row("container-mounts", "Mounts", &mounts),
    );
    out
}
