//! Ports & networks: every published port on this host (`GET /berth/v1/ports`) — served, or
//! asked for by a container that is not running — with host ports claimed twice shown in red
//! above the table and on their rows, and every
//! network with the containers attached to it (`GET /networks`), refreshed by `network` events
//! and by containers that start, die or go (no polling); operators create networks and remove
//! user-defined ones. Plain DOM: each of the two parts is redrawn when its answer comes.

use super::{Mounted, or_dash};
use crate::api::{self, ApiError};
use crate::app;
use crate::docker::{Network, container_name, create_network_body};
use crate::dom;
use crate::format;
use crate::html::esc;
use crate::route::container_href;
use crate::watch::{self, Change};
use shared::ports::{PortMapping, PortUsage};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

/// `127.0.0.1:8080/tcp → web:80`, whether it is served now, the container's address and its
/// network; `clash` marks a host port claimed twice.
fn port_row(out: &mut String, m: &PortMapping, clash: bool) {
    let name = container_name(&m.container_name, &m.container_id);
    let state = if m.served {
        "served".to_string()
    } else {
        format!("asked for ({})", or_dash(&m.state))
    };
    let class = match (clash, m.served) {
        (true, true) => " class=\"clash\"",
        (true, false) => " class=\"clash muted\"",
        (false, false) => " class=\"muted\"",
        (false, true) => "",
    };
    let _ = write!(
        out,
        "<tr data-port=\"{port}\" data-container=\"{name}\"{class} data-served=\"{served}\">\
         <td class=\"shrink mono host\">{host}</td><td class=\"target\"><span class=\"muted\">→ </span>\
         <a class=\"name\" href=\"{href}\" title=\"{id}\">{name}</a><span class=\"mono\">:{inner}</span></td>\
         <td class=\"shrink port-state\">{state}</td><td class=\"shrink mono ip\">{ip}</td>\
         <td class=\"shrink network\">{network}</td></tr>",
        port = m.host_port,
        name = esc(name),
        served = m.served,
        host = esc(&format::host_port(&m.host_ip, m.host_port, &m.protocol)),
        href = esc(&container_href(&m.container_id)),
        id = esc(&m.container_id),
        inner = m.container_port,
        state = esc(&state),
        ip = esc(&or_dash(&m.container_ip)),
        network = esc(&m.network),
    );
}

/// The published ports part: conflicts, then the table (or why it is empty).
fn ports_html(usage: &PortUsage) -> String {
    let mut out = String::new();
    if !usage.conflicts.is_empty() {
        out.push_str("<div class=\"conflicts\" id=\"port-conflicts\">");
        for c in &usage.conflicts {
            let _ = write!(
                out,
                "<p class=\"conflict\" data-port=\"{0}\"><strong>⚠ Port {0}/{1} is claimed twice: </strong>{2}</p>",
                c.host_port,
                esc(&c.protocol),
                esc(&c.message)
            );
        }
        out.push_str("</div>");
    }
    match usage.mappings.len() {
        0 => out.push_str(
            "<p class=\"empty-row muted\" id=\"ports-empty\">No published ports. Publish one when you \
             start a container: <code>docker run -p 8080:80 …</code> (or <code>-P</code> for every port \
             its image exposes).</p>",
        ),
        n => {
            out.push_str(
                "<table class=\"list\" id=\"ports\"><thead><tr><th>Host address</th><th>Container : port</th>\
                 <th>State</th><th>Container IP</th><th>Network</th></tr></thead><tbody>",
            );
            for m in &usage.mappings {
                let clash = usage
                    .conflicts
                    .iter()
                    .any(|c| c.host_port == m.host_port && c.protocol == m.protocol);
                port_row(&mut out, m, clash);
            }
            let _ = write!(
                out,
                "</tbody></table><p class=\"empty-row muted\" id=\"ports-count\">{n} published port{}</p>",
                if n == 1 { "" } else { "s" }
            );
        }
    }
    out
}

/// One network: its facts, the containers on it, and Remove for a user-defined one.
fn network_card(out: &mut String, n: &Network, can_act: bool, busy: bool, failed: Option<&str>) {
    let _ = write!(
        out,
        "<div class=\"card network\" data-name=\"{name}\" data-id=\"{id}\"><h3 class=\"network-head\">{name}\
         <span class=\"spacer\"></span>",
        name = esc(&n.name),
        id = esc(&n.id),
    );
    if can_act && !n.is_predefined() {
        let _ = write!(
            out,
            "<button class=\"network-remove danger\" data-remove=\"{}\"{}>Remove</button>",
            esc(&n.id),
            if busy { " disabled" } else { "" }
        );
    }
    let _ = write!(
        out,
        "</h3><p class=\"mono network-facts\">{}</p><ul class=\"members\">",
        esc(&n.summary())
    );
    let members = n.members();
    if members.is_empty() {
        out.push_str("<li class=\"muted\">No containers attached.</li>");
    }
    for (cid, m) in members {
        let name = esc(container_name(&m.name, cid));
        let _ = write!(
            out,
            "<li data-name=\"{name}\"><a href=\"{}\">{name}</a> → {}</li>",
            esc(&container_href(cid)),
            esc(m.ip())
        );
    }
    out.push_str("</ul>");
    if let Some(e) = failed {
        let _ = write!(out, "<p class=\"error remove-error\">{}</p>", esc(e));
    }
    out.push_str("</div>");
}

fn skeleton(can_act: bool) -> String {
    let mut out = String::from(
        "<h1>Ports &amp; networks<span class=\"sub\">what this host publishes, and where its containers \
         are attached</span></h1><div class=\"card flush\" id=\"ports-card\"><h2 class=\"pad\">Published ports</h2>\
         <div id=\"ports-error-place\"></div><div id=\"ports-body\">\
         <p class=\"empty-row muted\">Loading published ports…</p></div></div>",
    );
    if can_act {
        out.push_str(
            "<div class=\"card\" id=\"network-create-card\"><h2>Create a network</h2>\
             <form class=\"inline\" id=\"network-create\">\
             <input id=\"network-name\" placeholder=\"name, e.g. appnet\" autocomplete=\"off\" spellcheck=\"false\">\
             <input id=\"network-subnet\" placeholder=\"subnet (optional), e.g. 10.20.0.0/24\" autocomplete=\"off\" spellcheck=\"false\">\
             <button id=\"network-create-submit\" type=\"submit\">Create</button></form>\
             <div id=\"network-create-error-place\"></div></div>",
        );
    }
    out.push_str(
        "<div id=\"networks-error-place\"></div><div id=\"networks-body\">\
         <p class=\"muted\">Loading networks…</p></div>",
    );
    out
}

#[derive(Default)]
struct State {
    networks: Option<Vec<Network>>,
    /// The network a Remove is running on.
    busy: Option<String>,
    /// The last failed Remove: (network ID, message), shown in that network's card.
    failed: Option<(String, String)>,
}

struct NetworkPage {
    root: Element,
    can_act: bool,
    state: RefCell<State>,
    /// Numbers the loads of each part: only the newest answer is shown.
    ports_ticket: Cell<u64>,
    networks_ticket: Cell<u64>,
    creating: Cell<bool>,
}

impl NetworkPage {
    /// Shows or clears the error with DOM id `id` (in its place, `#<id>-place`).
    fn message(&self, id: &str, message: Option<String>) {
        dom::error_at(&self.root, &format!("#{id}-place"), id, message.as_deref());
    }

    fn fail(&self, id: &str, e: &ApiError, doing: &str) {
        if !app::handle(e) {
            self.message(id, Some(format!("{doing}: {e}")));
        }
    }

    fn load(this: &Rc<Self>) {
        let ticket = this.ports_ticket.get() + 1;
        this.ports_ticket.set(ticket);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::ports().await;
            let Some(p) = weak.upgrade().filter(|p| p.ports_ticket.get() == ticket) else {
                return;
            };
            match answer {
                Ok(usage) => {
                    p.message("ports-error", None);
                    dom::set_html(&p.root, "#ports-body", &ports_html(&usage));
                }
                Err(e) => p.fail("ports-error", &e, "listing published ports"),
            }
        });
        let ticket = this.networks_ticket.get() + 1;
        this.networks_ticket.set(ticket);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::networks().await;
            let Some(p) = weak.upgrade().filter(|p| p.networks_ticket.get() == ticket) else {
                return;
            };
            match answer {
                Ok(list) => {
                    p.message("networks-error", None);
                    p.state.borrow_mut().networks = Some(list);
                    p.draw_networks();
                }
                Err(e) => p.fail("networks-error", &e, "listing networks"),
            }
        });
    }

    fn draw_networks(&self) {
        let s = self.state.borrow();
        let Some(list) = &s.networks else {
            return;
        };
        let mut out = String::from("<div class=\"cards\" id=\"networks\">");
        for n in list {
            let failed = s.failed.as_ref().filter(|(id, _)| *id == n.id);
            let busy = s.busy.as_deref() == Some(n.id.as_str());
            network_card(
                &mut out,
                n,
                self.can_act,
                busy,
                failed.map(|f| f.1.as_str()),
            );
        }
        out.push_str("</div>");
        dom::set_html(&self.root, "#networks-body", &out);
    }

    fn remove(this: &Rc<Self>, id: String) {
        let name = {
            let mut s = this.state.borrow_mut();
            s.busy = Some(id.clone());
            s.failed = None;
            s.networks
                .iter()
                .flatten()
                .find(|n| n.id == id)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| id.clone())
        };
        this.draw_networks();
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = api::remove_network(&id).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            p.state.borrow_mut().busy = None;
            match result {
                Ok(()) => NetworkPage::load(&p),
                Err(e) if app::handle(&e) => {}
                Err(e) => p.state.borrow_mut().failed = Some((id, format!("removing {name}: {e}"))),
            }
            p.draw_networks();
        });
    }

    fn create(this: &Rc<Self>) {
        if this.creating.get() {
            return;
        }
        let (name, subnet) = (
            dom::value(&this.root, "#network-name"),
            dom::value(&this.root, "#network-subnet"),
        );
        if name.trim().is_empty() {
            this.message(
                "network-create-error",
                Some("Type a name for the network first.".into()),
            );
            return;
        }
        this.creating.set(true);
        this.set_busy(true);
        this.message("network-create-error", None);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = api::create_network(create_network_body(&name, &subnet)).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            p.creating.set(false);
            p.set_busy(false);
            match result {
                Ok(()) => NetworkPage::load(&p),
                Err(e) => p.fail(
                    "network-create-error",
                    &e,
                    &format!("creating {}", name.trim()),
                ),
            }
        });
    }

    fn set_busy(&self, busy: bool) {
        if let Some(button) = dom::find(&self.root, "#network-create-submit") {
            dom::set_prop(&button, "disabled", &busy.into());
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    let can_act = app::can_act();
    root.set_inner_html(&skeleton(can_act));
    let page = Rc::new(NetworkPage {
        root: root.clone(),
        can_act,
        state: RefCell::new(State::default()),
        ports_ticket: Cell::new(0),
        networks_ticket: Cell::new(0),
        creating: Cell::new(false),
    });
    NetworkPage::load(&page);
    let on = |event: &'static str, f: fn(&Rc<NetworkPage>, Event)| {
        let weak: Weak<NetworkPage> = Rc::downgrade(&page);
        dom::listen(root, event, move |ev| {
            if let Some(p) = weak.upgrade() {
                f(&p, ev);
            }
        })
    };
    let listeners = [
        on("click", |p, ev| {
            if let Some(id) =
                dom::closest(&ev, "[data-remove]").and_then(|b| b.get_attribute("data-remove"))
                && p.can_act
            {
                NetworkPage::remove(p, id);
            }
        }),
        on("submit", |p, ev| {
            ev.prevent_default();
            NetworkPage::create(p);
        }),
    ];
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if change == Change::Networks
            && let Some(p) = weak.upgrade()
        {
            NetworkPage::load(&p);
        }
    });
    Some(Box::new((page, listeners, watch)))
}
