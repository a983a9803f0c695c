//! Settings: your role; for admins, the access tokens (list, create, revoke) and the peers
//! (add — confirming an https peer's certificate fingerprint first — and remove). Plain DOM:
//! the forms are drawn once, the lists and messages redrawn in their places.

use super::{Mounted, local_datetime};
use crate::api::{self, ApiError};
use crate::app;
use crate::dom;
use crate::html::esc;
use crate::watch::{self, Change};
use shared::auth::{CreateTokenRequest, Role, TokenInfo};
use shared::hosts::AddHostRequest;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

fn role_help(role: Role) -> &'static str {
    match role {
        Role::Viewer => "read-only: can look at hosts, containers, images and events",
        Role::Operator => "can act on containers and images",
        Role::Admin => "can do everything, including managing tokens and peers",
    }
}

fn skeleton(role: Option<Role>, token_id: Option<&str>) -> String {
    let mut out = format!(
        "<h1>Settings</h1><div class=\"card\"><h2>You</h2><table class=\"facts\"><tr><th>Role</th>\
         <td><span id=\"my-role\" class=\"role\">{}</span><span class=\"muted\"> — {}</span></td></tr>\
         <tr><th>Token</th><td id=\"my-token\">{}</td></tr></table></div>",
        role.map_or("—", Role::as_str),
        role.map_or("", role_help),
        match token_id {
            Some(id) => format!("<span class=\"mono\">{}</span>", esc(id)),
            None =>
                "<span class=\"muted\">none: this session came from a one-time login link</span>"
                    .to_string(),
        }
    );
    if role != Some(Role::Admin) {
        return out;
    }
    out.push_str(
        "<div class=\"card\"><h2>Access tokens</h2><div id=\"tokens-error-place\"></div>\
         <div id=\"token-created\"></div><form class=\"inline\" id=\"token-form\">\
         <input id=\"token-name\" placeholder=\"name, e.g. ci or team-dashboard\"><select id=\"token-role\">",
    );
    for r in Role::ALL {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", r.as_str());
    }
    out.push_str(
        "</select><button id=\"token-create\" type=\"submit\">Create token</button></form>\
         <table class=\"list\" id=\"tokens\"><thead><tr><th>ID</th><th>Name</th><th>Role</th><th>Created</th>\
         <th></th></tr></thead><tbody></tbody></table><p class=\"muted\" id=\"tokens-loading\">Loading tokens…</p></div>\
         <div class=\"card\" id=\"peers\"><h2>Peers</h2><p class=\"muted\">Other Berth agents this one shows and \
         acts on. Give a token of the peer (made there with <code>berth token create</code>); its role there \
         limits what can be done there.</p><div id=\"peers-error-place\"></div>\
         <div id=\"peer-confirm-place\"></div><form class=\"inline\" id=\"peer-form\">",
    );
    for (id, placeholder) in [
        ("peer-name", "name, e.g. node-b"),
        ("peer-url", "https://host:7070"),
        ("peer-token", "a token of the peer"),
    ] {
        let _ = write!(
            out,
            "<input id=\"{id}\" placeholder=\"{placeholder}\" autocomplete=\"off\" spellcheck=\"false\">"
        );
    }
    out.push_str(
        "<button id=\"peer-add\" type=\"submit\">Add peer</button></form><table class=\"list\" id=\"peers-list\">\
         <thead><tr><th>Name</th><th>Address</th><th>State</th><th>Certificate (SHA-256)</th><th></th></tr></thead>\
         <tbody></tbody></table></div>",
    );
    out
}

fn token_row(out: &mut String, t: &TokenInfo, mine: bool) {
    let _ = write!(
        out,
        "<tr data-id=\"{id}\"><td class=\"shrink mono\">{id}</td><td>{name}{tag}</td>\
         <td class=\"shrink\"><span class=\"role\">{role}</span></td><td class=\"shrink\">{created}</td>\
         <td class=\"right\"><button class=\"revoke danger\" data-revoke=\"{id}\" title=\"{title}\">Revoke</button></td></tr>",
        id = esc(&t.id),
        name = esc(&t.name),
        tag = if mine {
            "<span class=\"tag\">this session</span>"
        } else {
            ""
        },
        role = t.role.as_str(),
        created = local_datetime(t.created),
        title = if mine {
            "revoking the token of this session logs you out"
        } else {
            "revoke this token"
        },
    );
}

struct Settings {
    root: Element,
    mine: Option<String>,
    /// The token whose secret shows (ID), until Done or its revocation.
    created: RefCell<Option<String>>,
    /// The fingerprint an https peer presented, waiting for the admin's trust.
    fingerprint: RefCell<Option<String>>,
    busy_token: Cell<bool>,
    busy_peer: Cell<bool>,
}

impl Settings {
    /// Shows or clears the error with DOM id `id` (in its place, `#<id>-place`).
    fn error(&self, id: &str, message: Option<String>) {
        dom::error_at(&self.root, &format!("#{id}-place"), id, message.as_deref());
    }

    fn fail(&self, id: &str, e: &ApiError, doing: &str) {
        if !app::handle(e) {
            self.error(id, Some(format!("{doing}: {e}")));
        }
    }

    fn reload_tokens(this: &Rc<Self>) {
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::list_tokens().await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(mut list) => {
                    list.sort_by_key(|t| t.created);
                    let mut rows = String::new();
                    for t in &list {
                        token_row(&mut rows, t, p.mine.as_deref() == Some(t.id.as_str()));
                    }
                    dom::set_html(&p.root, "#tokens tbody", &rows);
                    if let Some(loading) = dom::find(&p.root, "#tokens-loading") {
                        dom::show(&loading, false);
                    }
                }
                Err(e) => p.fail("tokens-error", &e, "listing tokens"),
            }
        });
    }

    fn create_token(this: &Rc<Self>) {
        if this.busy_token.replace(true) {
            return;
        }
        this.set_disabled("#token-create", true);
        this.error("tokens-error", None);
        let req = CreateTokenRequest {
            role: dom::value(&this.root, "#token-role")
                .parse()
                .unwrap_or(Role::Viewer),
            name: dom::value(&this.root, "#token-name").trim().to_string(),
        };
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::create_token(&req).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(t) => {
                    let html = format!(
                        "<div class=\"secret\"><p>Token <b>{}</b> ({}) created. Copy the secret now: it is \
                         not shown again.</p><code id=\"token-secret\">{}</code>\
                         <button class=\"ghost\" data-done>Done</button></div>",
                        esc(&t.info.name),
                        t.info.role.as_str(),
                        esc(&t.token)
                    );
                    dom::set_html(&p.root, "#token-created", &html);
                    *p.created.borrow_mut() = Some(t.info.id);
                    if let Some(name) = dom::find(&p.root, "#token-name") {
                        dom::set_prop(&name, "value", &"".into());
                    }
                    Settings::reload_tokens(&p);
                }
                Err(e) => p.fail("tokens-error", &e, "creating a token"),
            }
            p.busy_token.set(false);
            p.set_disabled("#token-create", false);
        });
    }

    fn revoke(this: &Rc<Self>, id: String) {
        this.error("tokens-error", None);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::revoke_token(&id).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(()) => {
                    if p.created.borrow().as_deref() == Some(id.as_str()) {
                        p.created.borrow_mut().take();
                        dom::set_html(&p.root, "#token-created", "");
                    }
                    Settings::reload_tokens(&p);
                }
                Err(e) => p.fail("tokens-error", &e, &format!("revoking {id}")),
            }
        });
    }

    fn add_peer(this: &Rc<Self>, fingerprint: Option<String>) {
        if this.busy_peer.replace(true) {
            return;
        }
        this.set_disabled("#peer-add", true);
        this.error("peers-error", None);
        let field = |css: &str| dom::value(&this.root, css).trim().to_string();
        let req = AddHostRequest {
            name: field("#peer-name"),
            url: field("#peer-url"),
            token: field("#peer-token"),
            fingerprint,
            ca: None,
        };
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::add_host(&req).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(api::Added::Done) => {
                    p.confirm(None);
                    for css in ["#peer-name", "#peer-url", "#peer-token"] {
                        if let Some(input) = dom::find(&p.root, css) {
                            dom::set_prop(&input, "value", &"".into());
                        }
                    }
                }
                Ok(api::Added::Confirm(c)) => p.confirm(Some((c.message, c.fingerprint))),
                Err(e) => {
                    if !app::handle(&e) {
                        p.confirm(None);
                        p.error("peers-error", Some(format!("adding {}: {e}", req.name)));
                    }
                }
            }
            p.busy_peer.set(false);
            p.set_disabled("#peer-add", false);
        });
    }

    /// Shows (or takes away) the question whether to trust a peer's certificate.
    fn confirm(&self, ask: Option<(String, String)>) {
        let html = match &ask {
            Some((message, fingerprint)) => format!(
                "<div class=\"secret\" id=\"peer-confirm\"><p>{}</p><code id=\"peer-fingerprint\">{}</code>\
                 <button id=\"peer-confirm-yes\" type=\"button\">Trust this certificate</button>\
                 <button class=\"ghost\" type=\"button\" data-cancel>Cancel</button></div>",
                esc(message),
                esc(fingerprint)
            ),
            None => String::new(),
        };
        dom::set_html(&self.root, "#peer-confirm-place", &html);
        *self.fingerprint.borrow_mut() = ask.map(|(_, f)| f);
    }

    fn remove_peer(this: &Rc<Self>, peer: String) {
        this.error("peers-error", None);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            if let Err(e) = api::remove_host(&peer).await
                && let Some(p) = weak.upgrade()
            {
                p.fail("peers-error", &e, &format!("removing {peer}"));
            }
        });
    }

    /// The peers' rows, from the socket's host list.
    fn peers(&self) {
        let mut rows = String::new();
        for h in app::live().host_list().iter().filter(|h| !h.local) {
            let state = h.state.as_str();
            let _ = write!(
                rows,
                "<tr data-name=\"{name}\"><td class=\"shrink\">{name}</td><td class=\"mono\">{}</td>\
                 <td class=\"shrink\"><span class=\"badge s-{state}\">{state}</span></td>\
                 <td class=\"fingerprint\">{}</td><td class=\"right\">\
                 <button class=\"remove-host danger\" data-remove=\"{name}\">Remove</button></td></tr>",
                esc(&h.url),
                esc(h.fingerprint.as_deref().unwrap_or("— (loopback http)")),
                name = esc(&h.name),
            );
        }
        dom::set_html(&self.root, "#peers-list tbody", &rows);
    }

    fn set_disabled(&self, css: &str, disabled: bool) {
        if let Some(button) = dom::find(&self.root, css) {
            dom::set_prop(&button, "disabled", &disabled.into());
        }
    }

    fn click(this: &Rc<Self>, ev: Event) {
        let attr = |css: &str, name: &str| dom::closest(&ev, css)?.get_attribute(name);
        if let Some(id) = attr("[data-revoke]", "data-revoke") {
            Settings::revoke(this, id);
        } else if let Some(peer) = attr("[data-remove]", "data-remove") {
            Settings::remove_peer(this, peer);
        } else if dom::closest(&ev, "[data-done]").is_some() {
            this.created.borrow_mut().take();
            dom::set_html(&this.root, "#token-created", "");
        } else if dom::closest(&ev, "#peer-confirm-yes").is_some() {
            let fingerprint = this.fingerprint.borrow().clone();
            Settings::add_peer(this, fingerprint);
        } else if dom::closest(&ev, "[data-cancel]").is_some() {
            this.confirm(None);
        }
    }

    fn submit(this: &Rc<Self>, ev: Event) {
        ev.prevent_default();
        match dom::target(&ev).map(|f| f.id()).as_deref() {
            Some("token-form") => Settings::create_token(this),
            Some("peer-form") => Settings::add_peer(this, None),
            _ => {}
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    let who = app::who();
    let role = who.as_ref().map(|w| w.role);
    let mine = who.and_then(|w| w.token_id);
    root.set_inner_html(&skeleton(role, mine.as_deref()));
    if role != Some(Role::Admin) {
        return Some(Box::new(()));
    }
    let page = Rc::new(Settings {
        root: root.clone(),
        mine,
        created: RefCell::new(None),
        fingerprint: RefCell::new(None),
        busy_token: Cell::new(false),
        busy_peer: Cell::new(false),
    });
    Settings::reload_tokens(&page);
    page.peers();
    let on = |event: &'static str, f: fn(&Rc<Settings>, Event)| {
        let weak: Weak<Settings> = Rc::downgrade(&page);
        dom::listen(root, event, move |ev| {
            if let Some(p) = weak.upgrade() {
                f(&p, ev);
            }
        })
    };
    let listeners = [on("click", Settings::click), on("submit", Settings::submit)];
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if change == Change::Hosts
            && let Some(p) = weak.upgrade()
        {
            p.peers();
        }
    });
    Some(Box::new((page, listeners, watch)))
}
