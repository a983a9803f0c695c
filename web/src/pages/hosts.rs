//! Hosts: this agent's facts, pushed over the socket every few seconds.

use super::local_clock;
use crate::api;
use crate::app::Auth;
use crate::format;
use crate::socket::Live;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::host::HostFacts;

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
