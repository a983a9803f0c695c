//! The Overview tab: state, config (command, env, labels), networks and published ports
//! (host ports as links), mounts, restart policy and limits — read from the inspect answer.

use crate::format;
use crate::json::Json;
use crate::pages::{command, fact, lines, now_secs, when};
use crate::route::image_href;
use leptos::prelude::*;

/// `http://<host>:<port>/` for a published port, as the browser reaches this host: the page's
/// own host name when the port listens on every address or on loopback.
pub(crate) fn port_link(host_ip: &str, port: &str) -> String {
    let page_host = window().location().hostname().unwrap_or_default();
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

#[component]
pub fn Overview(raw: RwSignal<Option<String>>) -> impl IntoView {
    move || raw.get().as_deref().and_then(Json::parse).map(cards)
}

fn cards(i: Json) -> impl IntoView {
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
        (n, r) if n == "on-failure" && r > 0.0 => format!("on-failure:{r}"),
        (n, _) => n,
    };
    let ports: Vec<(String, String)> = i
        .at("NetworkSettings.Ports")
        .entries()
        .into_iter()
        .flat_map(|(inner, bound)| {
            bound
                .list()
                .into_iter()
                .map(move |b| (inner.clone(), b))
                .collect::<Vec<_>>()
        })
        .map(|(inner, b)| {
            let (ip, port) = (b.at("HostIp").str(), b.at("HostPort").str());
            let shown = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.clone()
            };
            (format!("{shown}:{port} → {inner}"), port_link(&ip, &port))
        })
        .collect();
    let networks: Vec<String> = i
        .at("NetworkSettings.Networks")
        .entries()
        .into_iter()
        .map(|(name, n)| match n.at("IPAddress").str() {
            ip if ip.is_empty() => name,
            ip => format!("{name}: {ip}"),
        })
        .collect();
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
    let labels: Vec<String> = i
        .at("Config.Labels")
        .entries()
        .into_iter()
        .map(|(k, v)| format!("{k}={}", v.str()))
        .collect();
    let entrypoint = i.at("Config.Entrypoint").strings();
    let opt = |id: &'static str, label: &'static str, value: String| {
        (!value.is_empty()).then(|| fact(id, label, value))
    };
    view! {
        <div class="cards">
            <div class="card">
                <h2>"Container"</h2>
                <table class="facts">
                    {fact("container-id", "ID", i.at("Id").str())}
                    <tr>
                        <th>"Image"</th>
                        <td><a id="container-image" href=image_href(&image_id) title=image_id.clone()>{image}</a></td>
                    </tr>
                    {fact("container-cmd", "Command", command(&argv))}
                    {(!entrypoint.is_empty()).then(|| fact("container-entrypoint", "Entrypoint", command(&entrypoint)))}
                    {fact("container-created", "Created", when(&i.at("Created").str(), now))}
                    {fact("container-started", "Started", when(&state.at("StartedAt").str(), now))}
                    {exited.then(|| fact("container-finished", "Finished", when(&state.at("FinishedAt").str(), now)))}
                    {exited.then(|| fact("container-exit", "Exit code", state.at("ExitCode").str()))}
                    {(state.at("Pid").num() > 0.0).then(|| fact("container-pid", "PID", state.at("Pid").str()))}
                    {state.at("OOMKilled").bool().then(|| fact("container-oom", "OOM killed", "yes".into()))}
                    {fact("container-restart", "Restart policy", restart)}
                    {fact("container-restarts", "Restart count", i.at("RestartCount").str())}
                    {opt("container-state-error", "Error", state.at("Error").str())}
                </table>
            </div>
            <div class="card">
                <h2>"Network"</h2>
                <table class="facts">
                    {fact("container-network-mode", "Mode", host.at("NetworkMode").str())}
                    {lines("container-networks", "Networks", networks)}
                    <tr>
                        <th>"Ports"</th>
                        <td id="container-ports" class="mono">
                            {ports.is_empty().then_some("—")}
                            {ports.into_iter().map(|(text, href)| view! {
                                <div><a href=href target="_blank" rel="noopener">{text}</a></div>
                            }).collect_view()}
                        </td>
                    </tr>
                    {opt("container-hostname", "Hostname", i.at("Config.Hostname").str())}
                </table>
            </div>
            <div class="card">
                <h2>"Config"</h2>
                <table class="facts">
                    {lines("container-env", "Environment", i.at("Config.Env").strings())}
                    {lines("container-labels", "Labels", labels)}
                    {opt("container-workdir", "Working dir", i.at("Config.WorkingDir").str())}
                    {opt("container-user", "User", i.at("Config.User").str())}
                    {fact("container-tty", "TTY", if i.at("Config.Tty").bool() { "yes" } else { "no" }.to_string())}
                </table>
            </div>
            <div class="card">
                <h2>"Limits and mounts"</h2>
                <table class="facts">
                    {fact("container-memory", "Memory", limit(host.at("Memory").num(), |m| format::bytes(m as u64)))}
                    {fact("container-cpus", "CPUs", limit(host.at("NanoCpus").num(), |n| format!("{}", n / 1e9)))}
                    {fact("container-pids", "PIDs", limit(host.at("PidsLimit").num(), |p| p.to_string()))}
                    {fact("container-autoremove", "Remove on exit", if host.at("AutoRemove").bool() { "yes" } else { "no" }.to_string())}
                    {lines("container-mounts", "Mounts", mounts)}
                </table>
            </div>
        </div>
    }
}
