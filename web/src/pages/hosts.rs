//! Hosts: an overview card per host (this agent and its peers: state, containers, CPU,
//! memory, disk), then this agent's own facts; all pushed over the socket every few seconds.
//! Plain DOM (see [`crate::dom`]): the cards are redrawn when the host list changes, the
//! facts cells when new facts come.

use super::{Mounted, local_clock, local_datetime};
use crate::api;
use crate::app;
use crate::dom;
use crate::format;
use crate::html::esc;
use crate::route::Page;
use crate::watch::{self, Change};
use shared::host::HostFacts;
use shared::hosts::{HostState, HostStatus};
use std::fmt::Write as _;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

/// One host's card in the overview; its button shows that host's containers.
fn host_card(out: &mut String, host: &HostStatus) {
    let state = host.state.as_str();
    let facts = host.facts.clone().unwrap_or_default();
    let value = |text: String| {
        if host.facts.is_some() {
            esc(&text)
        } else {
            "—".to_string()
        }
    };
    let used = format::used_percent(facts.mem_total, facts.mem_available);
    let stopped = facts.containers.saturating_sub(facts.containers_running);
    let _ = write!(
        out,
        "<div class=\"card host-card\" id=\"host-card-{name}\" data-state=\"{state}\"><h2>{name} \
         <span class=\"badge s-{state}\">{badge}</span></h2>",
        name = esc(&host.name),
        badge = if host.local { "this host" } else { state },
    );
    if host.state == HostState::Unreachable {
        let _ = write!(
            out,
            "<p class=\"error host-error\">unreachable since {}: {}</p>",
            local_datetime(host.since),
            esc(host.error.as_deref().unwrap_or_default())
        );
    }
    let _ = write!(
        out,
        "<table class=\"facts\"><tr><th>Address</th><td class=\"mono\">{}</td></tr>\
         <tr><th>Agent</th><td>{}</td></tr>\
         <tr><th>Containers</th><td class=\"host-containers\">{}</td></tr>\
         <tr><th>CPU</th><td class=\"host-cpu\">{}</td></tr>\
         <tr><th>Memory</th><td>{}<div class=\"bar\" title=\"memory in use\"><span style=\"width: {}%\"></span></div></td></tr>\
         <tr><th>Disk</th><td class=\"host-disk\">{}</td></tr></table>\
         <button class=\"ghost show-host\" data-host=\"{}\">Show its containers</button></div>",
        esc(&host.url),
        value(format!(
            "berth {} · {} CPUs",
            facts.agent_version, facts.cpus
        )),
        value(format!(
            "{} running, {stopped} stopped",
            facts.containers_running
        )),
        value(format!(
            "{}% busy, load {}",
            format::fixed(facts.cpu_percent, 0),
            format::fixed(facts.load[0], 2)
        )),
        value(format::memory(facts.mem_total, facts.mem_available)),
        format::fixed(used, 1),
        value(format!(
            "images {}, containers {}",
            format::bytes(facts.images_size),
            format::bytes(facts.containers_size)
        )),
        if host.local { "" } else { &host.name },
    );
}

type Fact = (&'static str, &'static str, fn(&HostFacts) -> String);

const SYSTEM: [Fact; 6] = [
    ("host-name", "Name", |f| f.name.clone()),
    ("host-os", "Operating system", |f| {
        f.operating_system.clone()
    }),
    ("host-kernel", "Kernel", |f| f.kernel.clone()),
    ("host-arch", "Architecture", |f| f.arch.clone()),
    ("host-cpus", "CPUs", |f| f.cpus.to_string()),
    ("host-memory", "Memory", |f| {
        format::memory(f.mem_total, f.mem_available)
    }),
];

const LOAD: [Fact; 2] = [
    ("host-load", "Load (1, 5, 15 min)", |f| {
        format::load(&f.load)
    }),
    ("host-uptime", "Uptime", |f| format::duration(f.uptime_secs)),
];

const ENGINE: [Fact; 6] = [
    ("host-version", "Agent", |f| {
        format!("berth {} (API {})", f.agent_version, f.api_version)
    }),
    ("host-cgroup", "Cgroups", |f| {
        format::cgroup(&f.cgroup_version, &f.cgroup_driver)
    }),
    ("host-storage", "Storage driver", |f| {
        f.storage_driver.clone()
    }),
    ("host-root", "Data root", |f| f.data_root.clone()),
    ("host-containers", "Containers", |f| {
        format::containers(f.containers, f.containers_running)
    }),
    ("host-images", "Images", |f| f.images.to_string()),
];

fn rows(out: &mut String, facts: &[Fact]) {
    for (id, label, _) in facts {
        let _ = write!(out, "<tr><th>{label}</th><td id=\"{id}\">—</td></tr>");
    }
}

fn skeleton() -> String {
    let mut out = String::from(
        "<h1>Hosts<span class=\"sub\" id=\"hosts-sub\"></span></h1>\
         <div id=\"hosts-error-place\"></div>\
         <p class=\"muted\" id=\"host-waiting\">Waiting for the first report from the agent…</p>\
         <div class=\"cards\" id=\"hosts-overview\"></div>\
         <h2 class=\"section\">This host</h2><div class=\"cards\"><div class=\"card\"><h2>System</h2>\
         <table class=\"facts\">",
    );
    rows(&mut out, &SYSTEM);
    out.push_str(
        "<tr class=\"bar-row\"><th></th><td><div class=\"bar\" title=\"memory in use\">\
         <span id=\"host-memory-bar\" style=\"width: 0%\"></span></div></td></tr>",
    );
    rows(&mut out, &LOAD);
    out.push_str("</table></div><div class=\"card\"><h2>Engine</h2><table class=\"facts\">");
    rows(&mut out, &ENGINE);
    out.push_str(
        "</table></div></div><p class=\"muted updated\">Last report: \
         <span id=\"host-updated\">—</span></p>",
    );
    out
}

struct HostsPage {
    root: Element,
}

impl HostsPage {
    fn facts(&self) {
        let Some((facts, received)) = app::live().facts() else {
            return;
        };
        for (id, _, value) in SYSTEM.iter().chain(&LOAD).chain(&ENGINE) {
            dom::set_text(&self.root, &format!("#{id}"), &value(&facts));
        }
        let used = format::used_percent(facts.mem_total, facts.mem_available);
        if let Some(bar) = dom::find(&self.root, "#host-memory-bar") {
            let _ = bar.set_attribute("style", &format!("width: {}%", format::fixed(used, 1)));
        }
        dom::set_text(&self.root, "#hosts-sub", &facts.name);
        dom::set_text(&self.root, "#host-updated", &local_clock(received));
        dom::set_html(&self.root, "#hosts-error-place", "");
        if let Some(el) = dom::find(&self.root, "#host-waiting") {
            el.remove();
        }
    }

    fn hosts(&self) {
        let mut out = String::new();
        for host in app::live().host_list() {
            host_card(&mut out, &host);
        }
        dom::set_html(&self.root, "#hosts-overview", &out);
    }

    /// Shows why the first facts could not be read, while none came.
    fn fail(&self, message: &str) {
        if app::live().facts().is_none() {
            dom::error_at(
                &self.root,
                "#hosts-error-place",
                "hosts-error",
                Some(message),
            );
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    root.set_inner_html(&skeleton());
    let page = Rc::new(HostsPage { root: root.clone() });
    page.facts();
    page.hosts();
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if let Some(p) = weak.upgrade() {
            match change {
                Change::Facts => p.facts(),
                Change::Hosts => p.hosts(),
                _ => {}
            }
        }
    });
    let click = dom::listen(root, "click", |ev| {
        if let Some(button) = dom::closest(&ev, ".show-host") {
            let host = button.get_attribute("data-host").filter(|h| !h.is_empty());
            app::show_host(host);
            dom::go(&Page::Containers.href());
        }
    });
    // The socket's first report takes a connect and a subscribe; one HTTP call paints sooner.
    if app::live().facts().is_none() {
        let weak = Rc::downgrade(&page);
        spawn_local(async move {
            match api::host().await {
                Ok(facts) => app::live().prime_facts(facts),
                Err(e) if !app::handle(&e) => {
                    if let Some(p) = weak.upgrade() {
                        p.fail(&format!("reading host facts: {e}"));
                    }
                }
                Err(_) => {}
            }
        });
    }
    Some(Box::new((page, watch, click)))
}
