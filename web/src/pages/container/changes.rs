//! The Changes tab: what the container changed in its image — added, changed and deleted
//! paths with their sizes, and the size of the layer a commit would make
//! (`/berth/v1/containers/<id>/changes`). Reloaded on container events and on Refresh.

use super::commit::change_list;
use crate::api;
use crate::app;
use crate::dom::{self, Listener};
use crate::format;
use crate::html;
use crate::json::Json;
use shared::live::{ContainerChanges, SizedChange};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

/// The agent's answer (`shared::live::ContainerChanges`), read through [`Json`].
pub(crate) fn read_changes(text: &str) -> Result<ContainerChanges, String> {
    let j = Json::parse(text).ok_or("unexpected answer from the agent")?;
    Ok(ContainerChanges {
        changes: j
            .at("changes")
            .list()
            .iter()
            .map(|c| SizedChange {
                path: c.at("path").str(),
                kind: c.at("kind").str().chars().next().unwrap_or('C'),
                size: c.at("size").num().max(0.0) as u64,
            })
            .collect(),
        layer_size: j.at("layer_size").num().max(0.0) as u64,
    })
}

/// `"2 added, 1 changed, 1 deleted · new layer 1.0 KiB"`.
pub(crate) fn summary(c: &ContainerChanges) -> String {
    if c.changes.is_empty() {
        return "Nothing changed: the container's filesystem is its image's.".to_string();
    }
    let count = |k: char| c.changes.iter().filter(|x| x.kind == k).count();
    format!(
        "{} added, {} changed, {} deleted · new layer {}",
        count('A'),
        count('C'),
        count('D'),
        format::bytes(c.layer_size)
    )
}

pub(super) struct Changes {
    id: String,
    root: Element,
    ticket: Cell<u64>,
    _refresh: Option<Listener>,
}

impl Changes {
    /// Draws the tab in `body` and loads the changes; the page's Commit… opens the dialog.
    pub(super) fn mount(body: &Element, id: String) -> Option<Rc<Changes>> {
        body.set_inner_html(&format!(
            "<div class=\"card\"><h2>What changed<button id=\"changes-refresh\" class=\"ghost h1-button\">Refresh</button>{}</h2>\
             <p class=\"muted\">Files this container added (A), changed (C) or deleted (D) on top of its image: \
             what a commit puts into the new image's top layer.</p><div id=\"changes-body\"><p class=\"muted\">Loading…</p></div></div>",
            if app::can_act() {
                "<button id=\"changes-commit\" class=\"ghost h1-button\">Commit…</button>"
            } else {
                ""
            }
        ));
        let button = dom::find(body, "#changes-refresh")?;
        let changes = Rc::new_cyclic(|weak: &std::rc::Weak<Changes>| {
            let weak = weak.clone();
            Changes {
                id,
                root: body.clone(),
                ticket: Cell::new(0),
                _refresh: Some(dom::listen(&button, "click", move |_| {
                    if let Some(c) = weak.upgrade() {
                        Changes::load(&c);
                    }
                })),
            }
        });
        Changes::load(&changes);
        Some(changes)
    }

    /// Asks the agent again (on Refresh and on the container's events).
    pub(super) fn load(this: &Rc<Changes>) {
        let ticket = this.ticket.get() + 1;
        this.ticket.set(ticket);
        let weak = Rc::downgrade(this);
        let id = this.id.clone();
        spawn_local(async move {
            let answer = api::sized_changes(api::remote().as_deref(), &id).await;
            let html = match answer {
                Err(e) if app::handle(&e) => return,
                Err(e) => format!(
                    "<p class=\"error\" id=\"changes-error\">{}</p>",
                    html::esc(&e.to_string())
                ),
                Ok(text) => match read_changes(&text) {
                    Ok(c) => format!(
                        "<p id=\"changes-summary\">{}</p>{}",
                        html::esc(&summary(&c)),
                        change_list(&c.changes)
                    ),
                    Err(e) => format!(
                        "<p class=\"error\" id=\"changes-error\">{}</p>",
                        html::esc(&e)
                    ),
                },
            };
            if let Some(c) = weak.upgrade().filter(|c| c.ticket.get() == ticket) {
                dom::set_html(&c.root, "#changes-body", &html);
            }
        });
    }
}
