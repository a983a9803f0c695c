//! Hosts: an overview card per host (this agent and its peers: state, containers, CPU,
//! memory, disk), then this agent's own facts; all pushed over the socket every few seconds.

use super::local_clock;
use crate::api;
use crate::app::Auth;
use crate::app::Shown;
use crate::format;
use crate::route::Page;
use crate::socket::Live;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::host::HostFacts;
use shared::hosts::{HostState, HostStatus};

/// One host's card in the overview; its button shows that host's containers.
fn host_card(host: HostStatus, shown: Shown) -> impl IntoView {
    let state = host.state.as_str();
    let target = (!host.local).then(|| host.name.clone());
    let show = move |_| {
        shown.switch(target.clone());
        let _ = window().location().set_hash(&Page::Containers.href());
    };
    let facts = host.facts.clone().unwrap_or_default();
    let known = host.facts.is_some();
    let value = move |text: String| if known { text } else { "—".to_string() };
    let used = format::used_percent(facts.mem_total, facts.mem_available);
    let stopped = facts.containers.saturating_sub(facts.containers_running);
    let problem = (host.state == HostState::Unreachable).then(|| {
        let since = super::local_datetime(host.since);
        let error = host.error.clone().unwrap_or_default();
        view! { <p class="error host-error">{format!("unreachable since {since}: {error}")}</p> }
    });
    view! {
        <div class="card host-card" id=format!("host-card-{}", host.name) data-state=state>
            <h2>
                {host.name.clone()}" "
                <span class=format!("badge s-{state}")>{if host.local { "this host" } else { state }}</span>
            </h2>
            {problem}
            <table class="facts">
                <tr><th>"Address"</th><td class="mono">{host.url.clone()}</td></tr>
                <tr><th>"Agent"</th><td>{value(format!("berth {} · {} CPUs", facts.agent_version, facts.cpus))}</td></tr>
                <tr>
                    <th>"Containers"</th>
                    <td class="host-containers">{value(format!("{} running, {stopped} stopped", facts.containers_running))}</td>
                </tr>
                <tr><th>"CPU"</th><td class="host-cpu">{value(format!("{:.0}% busy, load {:.2}", facts.cpu_percent, facts.load[0]))}</td></tr>
                <tr>
                    <th>"Memory"</th>
                    <td>
                        {value(format::memory(facts.mem_total, facts.mem_available))}
                        <div class="bar" title="memory in use"><span style=format!("width: {used:.1}%")></span></div>
                    </td>
                </tr>
                <tr>
                    <th>"Disk"</th>
                    <td class="host-disk">
                        {value(format!("images {}, containers {}", format::bytes(facts.images_size), format::bytes(facts.containers_size)))}
                    </td>
                </tr>
            </table>
            <button class="ghost show-host" on:click=show>"Show its containers"</button>
        </div>
    }
}

/// One `<tr>` whose value follows the latest facts; "—" until the first report.
fn row(
    live: Live,
    id: &'static str,
    label: &'static str,
    value: fn(&HostFacts) -> String,
) -> impl IntoView {
    view! {
        <tr>
            <th>{label}</th>
            <td id=id>
                {move || live.facts.with(|f| f.as_ref().map(value).unwrap_or_else(|| "—".into()))}
            </td>
        </tr>
    }
}

#[component]
pub fn HostsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let shown = expect_context::<Shown>();
    let overview = move || {
        live.hosts
            .get()
            .into_iter()
            .map(|h| host_card(h, shown))
            .collect_view()
    };
    let auth = expect_context::<Auth>();
    let error = RwSignal::new(None::<String>);
    // The socket's first report takes a connect and a subscribe; one HTTP call paints sooner.
    if live.facts.with_untracked(Option::is_none) {
        spawn_local(async move {
            match api::host().await {
                Ok(facts) => live.prime_facts(facts),
                Err(e) if !auth.handle(&e) => error.set(Some(format!("reading host facts: {e}"))),
                Err(_) => {}
            }
        });
    }
    let used = move || {
        live.facts
            .with(|f| {
                f.as_ref()
                    .map(|f| format::used_percent(f.mem_total, f.mem_available))
            })
            .unwrap_or(0.0)
    };

    view! {
        <section class="page">
            <h1>
                "Hosts"
                <span class="sub">
                    {move || live.facts.with(|f| f.as_ref().map(|f| f.name.clone()).unwrap_or_default())}
                </span>
            </h1>
            {move || {
                error
                    .get()
                    .filter(|_| live.facts.with(Option::is_none))
                    .map(|e| view! { <p class="error">{e}</p> })
            }}
            {move || {
                live.facts
                    .with(|f| f.is_none())
                    .then(|| view! { <p class="muted" id="host-waiting">"Waiting for the first report from the agent…"</p> })
            }}
            <div class="cards" id="hosts-overview">{overview}</div>
            <h2 class="section">"This host"</h2>
            <div class="cards">
                <div class="card">
                    <h2>"System"</h2>
                    <table class="facts">
                        {row(live, "host-name", "Name", |f| f.name.clone())}
                        {row(live, "host-os", "Operating system", |f| f.operating_system.clone())}
                        {row(live, "host-kernel", "Kernel", |f| f.kernel.clone())}
                        {row(live, "host-arch", "Architecture", |f| f.arch.clone())}
                        {row(live, "host-cpus", "CPUs", |f| f.cpus.to_string())}
                        {row(live, "host-memory", "Memory", |f| format::memory(f.mem_total, f.mem_available))}
                        <tr class="bar-row">
                            <th></th>
                            <td>
                                <div class="bar" title="memory in use">
                                    <span style=move || format!("width: {:.1}%", used())></span>
                                </div>
                            </td>
                        </tr>
                        {row(live, "host-load", "Load (1, 5, 15 min)", |f| format::load(&f.load))}
                        {row(live, "host-uptime", "Uptime", |f| format::duration(f.uptime_secs))}
                    </table>
                </div>
                <div class="card">
                    <h2>"Engine"</h2>
                    <table class="facts">
                        {row(live, "host-version", "Agent", |f| {
                            format!("berth {} (API {})", f.agent_version, f.api_version)
                        })}
                        {row(live, "host-cgroup", "Cgroups", |f| format::cgroup(&f.cgroup_version, &f.cgroup_driver))}
                        {row(live, "host-storage", "Storage driver", |f| f.storage_driver.clone())}
                        {row(live, "host-root", "Data root", |f| f.data_root.clone())}
                        {row(live, "host-containers", "Containers", |f| format::containers(f.containers, f.containers_running))}
                        {row(live, "host-images", "Images", |f| f.images.to_string())}
                    </table>
                </div>
            </div>
            <p class="muted updated">
                "Last report: "
                <span id="host-updated">
                    {move || live.facts_received.get().map(local_clock).unwrap_or_else(|| "—".into())}
                </span>
            </p>
        </section>
    }
}
