//! What the merged ("All hosts") Containers and Images pages share: the hosts they list,
//! the lines about those they cannot ask, and opening a peer's row on that host. Rows carry
//! `data-host` (a peer's name, empty for this agent) so that each action goes to its host.

use crate::api::{self, ApiError};
use crate::app;
use crate::dom;
use crate::html::esc;
use crate::table;
use shared::hosts::HostState;
use std::fmt::Write as _;
use web_sys::Element;

/// A host a page lists: the peer its calls go to (`None`: this agent), its name for the
/// Host column, and the machine name its published ports are reached at.
#[derive(Clone, PartialEq)]
pub struct Target {
    pub peer: Option<String>,
    pub name: String,
    pub address: String,
}

/// The hosts a page lists, and a line for each peer it cannot ask (by name): with "All
/// hosts" this agent and every peer that is up; else the shown host alone (named "").
pub fn targets(all: bool) -> (Vec<Target>, Vec<(String, String)>) {
    let page_host = dom::window().location().hostname().unwrap_or_default();
    let hosts = app::live().host_list();
    let address = |peer: &Option<String>| {
        peer.as_ref()
            .and_then(|p| hosts.iter().find(|h| !h.local && &h.name == p))
            .map_or(page_host.clone(), |h| table::url_host(&h.url).to_string())
    };
    if !all {
        let peer = api::remote();
        let address = address(&peer);
        let only = Target {
            peer,
            name: String::new(),
            address,
        };
        return (vec![only], Vec::new());
    }
    let mut up = vec![Target {
        peer: None,
        name: app::who().map(|w| w.host).unwrap_or_default(),
        address: page_host.clone(),
    }];
    let mut down = Vec::new();
    for h in hosts.iter().filter(|h| !h.local) {
        if h.state == HostState::Up {
            let peer = Some(h.name.clone());
            up.push(Target {
                address: address(&peer),
                peer,
                name: h.name.clone(),
            });
        } else {
            let why = h
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let line = format!("host {}: {}{why}", h.name, h.state.as_str());
            down.push((h.name.clone(), line));
        }
    }
    (up, down)
}

/// The name of `peer` among `targets` (its own name when not listed).
pub fn name_of(targets: &[Target], peer: &Option<String>) -> String {
    targets
        .iter()
        .find(|t| &t.peer == peer)
        .map_or_else(|| peer.clone().unwrap_or_default(), |t| t.name.clone())
}

/// The line about host `name` whose call failed while `doing`.
pub fn failed_line(name: &str, doing: &str, e: &ApiError) -> String {
    match e {
        ApiError::Network(_) => format!("host {name}: unreachable ({e})"),
        _ => format!("host {name}: {doing}: {e}"),
    }
}

/// The lines about hosts not listed (not up) or not answering, one per host name (a few
/// hosts: a list, not a map, keeps the wasm small).
#[derive(Default)]
pub struct Notes(Vec<(String, String)>);

impl Notes {
    /// Sets host `host`'s line.
    pub fn set(&mut self, host: &str, line: String) {
        self.remove(host);
        self.0.push((host.to_string(), line));
    }

    pub fn remove(&mut self, host: &str) {
        self.drop(&|h| h == host);
    }

    /// One `retain` for every use (a smaller wasm).
    fn drop(&mut self, gone: &dyn Fn(&str) -> bool) {
        self.0.retain(|(h, _)| !gone(h));
    }

    pub fn has(&self, host: &str) -> bool {
        self.0.iter().any(|(h, _)| h == host)
    }

    /// Keeps the lines of listed hosts (their failed calls, until they answer), then adds
    /// one for each host that is not up.
    pub fn relist(&mut self, targets: &[Target], down: Vec<(String, String)>) {
        self.drop(&|h| !targets.iter().any(|t| t.name == h));
        for (host, line) in down {
            self.set(&host, line);
        }
    }

    /// Whether a listed host's call failed (see [`Notes::relist`]).
    pub fn any_failed(&self, targets: &[Target]) -> bool {
        targets.iter().any(|t| self.has(&t.name))
    }

    /// As markup (`data-note`: the host).
    pub fn html(&self) -> String {
        let mut html = String::new();
        for (host, line) in &self.0 {
            let _ = write!(
                html,
                "<p class=\"error host-note\" data-note=\"{}\">{}</p>",
                esc(host),
                esc(line)
            );
        }
        html
    }
}

/// The peer of the row (or dialog) `el` is in, from its `data-host` (empty: this agent).
pub fn peer_of(el: &Element) -> Option<String> {
    el.closest("[data-host]")
        .ok()
        .flatten()
        .and_then(|o| o.get_attribute("data-host"))
        .filter(|h| !h.is_empty())
}

/// Opens `href` (a page of this app) about something of peer `peer`: with "All hosts", a
/// peer's switches the shown host to it first (this agent's keep "All hosts", whose
/// per-host pages show this agent).
pub fn open(all: bool, peer: Option<String>, href: &str) {
    if all && peer.is_some() {
        app::show_host(peer);
    }
    dom::go(href);
}
