//! Images: every image on the host with what it shares with others and which containers use
//! it, refreshed by image and container events; operators pull, push, tag, save, copy and
//! remove from here. Pulls, pushes and copies run as tasks (see the header's task list), so
//! they go on when the user leaves the page.
//!
//! Plain DOM (see [`crate::dom`]): the table is drawn as markup from the page's state (the
//! list, and which row asks to confirm, tags, copies or is busy) and redrawn when it
//! changes; all clicks are handled in one place.
//!
//! With "All hosts" ([`super::merged`]) it lists the images of this agent and of every peer
//! that is up, with a Host column; each row's actions go to its own host (`data-host`), and
//! its links open the image on that host.

use super::merged::{self, Notes, Target, peer_of};
use super::transfer::progress_html;
use super::{Mounted, local_datetime, now_secs};
use crate::api::{self, ApiError};
use crate::app;
use crate::docker::ImageSummary;
use crate::dom;
use crate::format;
use crate::graph_query;
use crate::html::esc;
use crate::layout::{self, Usage};
use crate::progress::State as Progress;
use crate::route::{Page, image_href};
use crate::tasks::Kind;
use crate::watch::{self, Change};
use shared::layers::LayerGraph;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

/// A row's "Copy to…" control.
#[derive(Clone)]
enum Copying {
    /// Asking the shown host for its peers.
    Loading,
    /// Choosing among these, with the chosen one.
    Choosing(Vec<String>, String),
}

#[derive(Default)]
struct State {
    images: Option<Vec<ImageSummary>>,
    /// The hosts listed, and a line for each that could not be asked or did not answer.
    targets: Vec<Target>,
    notes: Notes,
    /// An image row's figures from its host's layer graph, by row key ([`row_key`]), and
    /// each host's graph (for container names).
    usage: HashMap<String, Usage>,
    graphs: Vec<(Option<String>, LayerGraph)>,
    /// Rows are named by [`row_key`] below (one image can be on several hosts).
    /// The image whose Remove waits for a second click.
    confirming: Option<String>,
    /// The image whose tag form is open, and what is typed in it.
    tagging: Option<String>,
    tag_input: String,
    /// The image an action is running on.
    busy: Option<String>,
    /// Rows whose "Copy to…" is open, and a failed listing's message per row.
    copying: HashMap<String, Copying>,
    copy_errors: HashMap<String, String>,
    /// What went wrong loading the list or acting on a row.
    error: Option<String>,
}

/// A row's name in the page's state: its host and image ID.
fn row_key(peer: &Option<String>, id: &str) -> String {
    format!("{}/{id}", peer.as_deref().unwrap_or_default())
}

/// What a row shows of its image.
struct Entry<'a> {
    image: &'a ImageSummary,
    name: &'a str,
    /// Names of the containers made from it: while there are any, it cannot be removed.
    users: Vec<String>,
}

fn skeleton(can_act: bool, all: bool) -> String {
    let mut out = format!(
        "<h1>Images{}<span class=\"sub\">see <a href=\"{}\">Layers</a> for what they share</span></h1>",
        if all {
            " <span class=\"muted\">on all hosts</span>"
        } else {
            ""
        },
        Page::Layers.href()
    );
    // Pulls go to the shown host: with "All hosts", to this one.
    if can_act {
        out.push_str(
            "<div class=\"card\" id=\"pull-card\"><h2>Pull an image</h2><form class=\"inline\" id=\"pull-form\">\
             <input id=\"pull-ref\" placeholder=\"name[:tag], e.g. 127.0.0.1:5000/busybox:latest\" \
             autocomplete=\"off\" spellcheck=\"false\"><button id=\"pull\" type=\"submit\">Pull</button></form>\
             <div id=\"pull-error-place\"></div><div id=\"pull-place\"></div></div>",
        );
    }
    out.push_str(
        "<div class=\"filters\"><input id=\"images-filter\" placeholder=\"Filter by name or ID (press /); \
         Enter opens the first\" autocomplete=\"off\" spellcheck=\"false\"></div>\
         <div id=\"push-place\"></div><div id=\"copy-place\"></div><div id=\"images-error-place\"></div>\
         <div id=\"images-hosts\"></div>\
         <div class=\"card flush\" id=\"images-body\"><p class=\"empty-row muted\">Loading images…</p></div>",
    );
    out
}

/// Whether the image passes the filter: every word in one of its names, its ID or its host.
fn shows(image: &ImageSummary, words: &str) -> bool {
    format::contains_words(
        &format!("{} {} {}", image.repo_tags.join(" "), image.id, image.host),
        words,
    )
}

struct ImagesPage {
    root: Element,
    can_act: bool,
    /// "All hosts": every host's images, with the Host column.
    all: bool,
    state: RefCell<State>,
    /// Numbers the loads: only the newest answer is shown.
    ticket: Cell<u64>,
}

impl ImagesPage {
    /// Lists the hosts there are now ([`merged::targets`]) and reloads when that set
    /// changed, or when a listed host's list had failed (asked again at the pace of the
    /// agent's host pushes); the lines about peers that are not up are kept current.
    fn retarget(this: &Rc<Self>) {
        let (targets, down) = merged::targets(this.all);
        let changed = {
            let mut s = this.state.borrow_mut();
            // A listed host's line (its failed call) stays until it answers.
            s.notes.relist(&targets, down);
            let failed = s.notes.any_failed(&targets);
            let changed = failed || s.targets != targets || s.images.is_none();
            s.targets = targets;
            changed
        };
        if changed {
            ImagesPage::load(this);
        } else {
            // Only the lines: redrawing the table would take the focus from a tag form.
            this.draw_notes(&this.state.borrow());
        }
    }

    /// The lines about hosts not listed or not answering, when they changed.
    fn draw_notes(&self, s: &State) {
        let notes = s.notes.html();
        if dom::find(&self.root, "#images-hosts").is_some_and(|el| el.inner_html() != notes) {
            dom::set_html(&self.root, "#images-hosts", &notes);
        }
    }

    /// Every listed host's images and layer graph (each host's rows as it answers).
    fn load(this: &Rc<Self>) {
        let ticket = this.ticket.get() + 1;
        this.ticket.set(ticket);
        let targets = {
            let mut s = this.state.borrow_mut();
            let targets = s.targets.clone();
            let listed = |peer: &Option<String>| targets.iter().any(|t| &t.peer == peer);
            let gone = |peer: &Option<String>| !listed(peer);
            s.graphs.retain(|(peer, _)| !gone(peer));
            if let Some(images) = s.images.as_mut() {
                drop_images(images, &gone);
            }
            targets
        };
        for target in targets {
            let weak = Rc::downgrade(this);
            spawn_local(async move {
                let peer = target.peer.as_deref();
                let answer = match api::images(peer).await {
                    Ok(list) => api::layer_graph(peer).await.map(|graph| (list, graph)),
                    Err(e) => Err(e),
                };
                let Some(p) = weak.upgrade().filter(|p| p.ticket.get() == ticket) else {
                    return;
                };
                match answer {
                    Ok((list, graph)) => p.loaded(&target, list, graph),
                    Err(e) => p.fail_on(&target, &e),
                }
                p.draw();
            });
        }
    }

    /// One host's answer: its rows and figures replace the ones it had.
    fn loaded(&self, target: &Target, list: Vec<ImageSummary>, graph: LayerGraph) {
        let mut s = self.state.borrow_mut();
        let s = &mut *s;
        let peer = &target.peer;
        s.notes.remove(&target.name);
        let prefix = row_key(peer, "");
        s.usage.retain(|key, _| !key.starts_with(&prefix));
        for (id, usage) in layout::usage(&graph) {
            s.usage.insert(row_key(peer, &id), usage);
        }
        match s.graphs.iter_mut().find(|(p, _)| p == peer) {
            Some(kept) => kept.1 = graph,
            None => s.graphs.push((peer.clone(), graph)),
        }
        let images = s.images.get_or_insert_with(Vec::new);
        drop_images(images, &|p| p == peer);
        // Host by host as listed (this agent first), each in the order its agent gives:
        // this host's rows go before those of the hosts listed after it.
        let rank = |p: &Option<String>| s.targets.iter().position(|t| &t.peer == p);
        let mine = rank(peer);
        let at = images
            .iter()
            .position(|i| rank(&i.peer) > mine)
            .unwrap_or(images.len());
        for (n, mut image) in list.into_iter().enumerate() {
            image.peer = peer.clone();
            image.host = target.name.clone();
            images.insert(at + n, image);
        }
    }

    /// One host's list failed: with "All hosts", a line about that host (a peer's 401 is
    /// not this session's); else the page's error.
    fn fail_on(&self, target: &Target, e: &ApiError) {
        if !self.all || (target.peer.is_none() && app::handle(e)) {
            return self.fail(e, "listing images".into());
        }
        let line = merged::failed_line(&target.name, "listing images", e);
        self.state.borrow_mut().notes.set(&target.name, line);
    }

    /// Shows an action's error above the table (or goes back to the login view on a 401).
    fn fail(&self, e: &ApiError, doing: String) {
        if !app::handle(e) {
            self.state.borrow_mut().error = Some(format!("{doing}: {e}"));
        }
    }

    fn draw(&self) {
        let s = self.state.borrow();
        dom::error_at(
            &self.root,
            "#images-error-place",
            "images-error",
            s.error.as_deref(),
        );
        self.draw_notes(&s);
        let Some(list) = &s.images else {
            return;
        };
        let words = dom::value(&self.root, "#images-filter");
        let shown: Vec<&ImageSummary> = list.iter().filter(|i| shows(i, &words)).collect();
        let count = match (shown.len(), list.len()) {
            (0, 0) if self.can_act => {
                "No images yet. Pull one above, or docker pull, load or import one into this agent."
                    .to_string()
            }
            (0, 0) => "No images yet.".to_string(),
            (0, _) => "No image matches the filter.".to_string(),
            (n, all) if n < all => format!("{n} of {all} images"),
            (1, _) => "1 image".to_string(),
            (n, _) => format!("{n} images"),
        };
        let mut out = String::from(
            "<table class=\"list\" id=\"images\"><thead><tr><th>Repository:tag</th>{}<th>ID</th><th>Created</th>\
             <th>Size</th><th title=\"bytes in layers no other image has: what removing it frees\">Unique</th>\
             <th title=\"bytes in layers other images have too\">Shared</th><th>Containers</th>",
        )
        .replace("{}", if self.all { "<th>Host</th>" } else { "" });
        if self.can_act {
            out.push_str("<th></th>");
        }
        out.push_str("</tr></thead><tbody>");
        let now = now_secs();
        for image in shown {
            self.row(&mut out, &s, image, now);
        }
        let _ = write!(
            out,
            "</tbody></table><p class=\"empty-row muted\" id=\"images-count\">{}</p>",
            esc(&count)
        );
        dom::set_html(&self.root, "#images-body", &out);
    }

    fn row(&self, out: &mut String, s: &State, image: &ImageSummary, now: i64) {
        let id = &image.id;
        let name = format::image_name(&image.repo_tags);
        let size = image.size.max(0) as u64;
        let usage = s.usage.get(&row_key(&image.peer, id));
        let (unique, shared) = usage.map_or((size, 0), |u| (u.unique, u.shared));
        let users = match s.graphs.iter().find(|(p, _)| p == &image.peer) {
            Some((_, graph)) => {
                graph_query::containers(graph, usage.map_or(&[][..], |u| u.containers.as_slice()))
            }
            None => Vec::new(),
        };
        let users: Vec<String> = users.into_iter().map(|(_, n)| n).collect();
        let _ = write!(
            out,
            "<tr data-id=\"{id}\" data-host=\"{peer}\" class=\"link\" tabindex=\"0\"><td><a href=\"{href}\"{muted} title=\"{digests}\">{name}</a>",
            id = esc(id),
            peer = esc(image.peer.as_deref().unwrap_or_default()),
            href = esc(&image_href(id)),
            muted = if name == "<none>" {
                " class=\"muted\""
            } else {
                ""
            },
            digests = esc(&image.repo_digests.join("\n")),
            name = esc(name),
        );
        for tag in image.repo_tags.iter().filter(|t| *t != name) {
            let _ = write!(out, "<span class=\"chip\">{}</span>", esc(tag));
        }
        out.push_str("</td>");
        if self.all {
            let _ = write!(out, "<td class=\"shrink host\">{}</td>", esc(&image.host));
        }
        let _ = write!(
            out,
            "<td class=\"shrink mono\" title=\"{id}\">{short}</td>\
             <td class=\"shrink\" title=\"{created}\">{ago}</td>\
             <td class=\"shrink\" title=\"{size} bytes\">{bytes}</td>\
             <td class=\"shrink unique\">{unique}</td><td class=\"shrink shared\">{shared}</td>\
             <td class=\"shrink users\">",
            id = esc(id),
            short = esc(format::short_id(id)),
            created = local_datetime(image.created),
            ago = format::ago(image.created, now),
            bytes = format::bytes(size),
            unique = format::bytes(unique),
            shared = format::bytes(shared),
        );
        match users.len() {
            0 => out.push_str("<span class=\"muted\">—</span>"),
            n => {
                let _ = write!(out, "<span title=\"{}\">{n}</span>", esc(&users.join(", ")));
            }
        }
        out.push_str("</td>");
        if self.can_act {
            self.actions(out, s, &Entry { image, name, users });
        }
        out.push_str("</tr>");
    }

    /// The actions cell: Push (a task), Save (a download), Copy to… (a task), Tag (an inline
    /// form) and Remove (asks again before it removes, or says which containers stand in
    /// the way).
    fn actions(&self, out: &mut String, s: &State, entry: &Entry) {
        let id = entry.image.id.as_str();
        let peer = entry.image.peer.as_deref();
        let key = row_key(&entry.image.peer, id);
        let here = |v: &Option<String>| v.as_deref() == Some(key.as_str());
        let busy = if here(&s.busy) { " disabled" } else { "" };
        out.push_str("<td class=\"right actions nowrap\">");
        if here(&s.confirming) {
            if entry.users.is_empty() {
                let others = entry.image.repo_tags.len().saturating_sub(usize::from(
                    entry.image.repo_tags.iter().any(|t| t == entry.name),
                ));
                let question = match others {
                    0 => format!("Remove {}?", entry.name),
                    1 => format!("Remove {} and its other tag?", entry.name),
                    n => format!("Remove {} and its {n} other tags?", entry.name),
                };
                let _ = write!(
                    out,
                    "<span class=\"confirm-text\">{}</span><button class=\"confirm danger\"{busy}>{}</button>\
                     <button class=\"cancel ghost\">Cancel</button>",
                    esc(&question),
                    if busy.is_empty() {
                        "Remove"
                    } else {
                        "Removing…"
                    }
                );
            } else {
                let _ = write!(
                    out,
                    "<span class=\"confirm-text blocked\">In use by {}: remove {} first.</span>\
                     <button class=\"cancel ghost\">OK</button>",
                    esc(&entry.users.join(", ")),
                    if entry.users.len() == 1 {
                        "that container"
                    } else {
                        "those containers"
                    }
                );
            }
        } else if here(&s.tagging) {
            let _ = write!(
                out,
                "<form class=\"tag-form\"><input class=\"tag-ref\" placeholder=\"repository:tag\" value=\"{}\">\
                 <button class=\"tag-save\" type=\"submit\"{busy}>Tag</button>\
                 <button class=\"cancel ghost\" type=\"button\">Cancel</button></form>",
                esc(&s.tag_input)
            );
        } else {
            if entry.name != "<none>" {
                out.push_str(
                    "<button class=\"push ghost\" title=\"push this tag to its registry\">Push</button>",
                );
            }
            let _ = write!(
                out,
                "<a class=\"button ghost save\" href=\"{}\" download=\"{}\" title=\"download as a docker save tar\">Save</a>",
                esc(&api::save_url(peer, id)),
                esc(&format!("{}.tar", entry.name.replace(['/', ':'], "_")))
            );
            copy_control(out, s.copying.get(&key), s.copy_errors.get(&key));
            out.push_str(
                "<button class=\"retag ghost\">Tag</button><button class=\"remove danger\">Remove</button>",
            );
        }
        out.push_str("</td>");
    }

    /// The newest pull (in the form), push and copy, from the tasks.
    fn draw_tasks(&self) {
        let tasks = app::tasks();
        if self.can_act {
            let newest = tasks.newest_now(Kind::Pull);
            let running = newest
                .as_ref()
                .is_some_and(|t| t.log.state == Progress::Running);
            if let Some(button) = dom::find(&self.root, "#pull") {
                dom::set_prop(&button, "disabled", &running.into());
            }
            // The failure shows once, as the form's error.
            let error = newest.as_ref().and_then(|t| t.log.error.clone());
            if error.is_some() || self.state.borrow().error.is_none() {
                dom::error_at(
                    &self.root,
                    "#pull-error-place",
                    "pull-error",
                    error.as_deref(),
                );
            }
            let html = newest.map_or_else(String::new, |t| {
                progress_html(Kind::Pull, &t.log, Some("pull-progress"), false)
            });
            dom::set_html(&self.root, "#pull-place", &html);
        }
        for (kind, place, id) in [
            (Kind::Push, "#push-place", "push-progress"),
            (Kind::Copy, "#copy-place", "copy-progress"),
        ] {
            let html = tasks.newest_now(kind).map_or_else(String::new, |t| {
                format!(
                    "<div class=\"card\">{}</div>",
                    progress_html(kind, &t.log, Some(id), false)
                )
            });
            dom::set_html(&self.root, place, &html);
        }
    }

    fn pull(&self) {
        let running = app::tasks()
            .newest_now(Kind::Pull)
            .is_some_and(|t| t.log.state == Progress::Running);
        if running {
            return;
        }
        let input = dom::value(&self.root, "#pull-ref").trim().to_string();
        if input.is_empty() {
            dom::error_at(
                &self.root,
                "#pull-error-place",
                "pull-error",
                Some("Type an image reference first, e.g. 127.0.0.1:5000/busybox:latest."),
            );
            return;
        }
        dom::error_at(&self.root, "#pull-error-place", "pull-error", None);
        let (name, tag) = format::split_reference(&input);
        app::tasks().pull(name, tag);
    }

    /// The row's host, image, key ([`row_key`]) and shown name, for a click inside it.
    fn entry(&self, row: &Element) -> Option<(Option<String>, String, String, String)> {
        let id = row.get_attribute("data-id")?;
        let peer = peer_of(row);
        let s = self.state.borrow();
        let image = s
            .images
            .as_ref()?
            .iter()
            .find(|i| i.id == id && i.peer == peer)?;
        let name = format::image_name(&image.repo_tags).to_string();
        Some((peer.clone(), id.clone(), row_key(&peer, &id), name))
    }

    fn click(this: &Rc<Self>, ev: Event) {
        let Some(row) = dom::closest(&ev, "#images tr[data-id]") else {
            return;
        };
        if dom::closest(&ev, "td.actions").is_none() {
            // Links open by themselves (a peer's, with "All hosts", on that host); anywhere
            // else in the row opens the image too.
            let link = dom::closest(&ev, "a");
            if this.all
                && let Some(href) = link.as_ref().and_then(|a| a.get_attribute("href"))
            {
                ev.prevent_default();
                merged::open(true, peer_of(&row), &href);
            } else if link.is_none()
                && let Some(id) = row.get_attribute("data-id")
            {
                merged::open(this.all, peer_of(&row), &image_href(&id));
            }
            return;
        }
        let Some((peer, id, key, name)) = this.entry(&row) else {
            return;
        };
        let Some(button) = dom::closest(&ev, "button") else {
            return;
        };
        let class = |c: &str| button.class_list().contains(c);
        if class("cancel") {
            let mut s = this.state.borrow_mut();
            s.confirming = None;
            s.tagging = None;
            if class("copy-cancel") {
                s.copying.remove(&key);
            }
        } else if class("remove") {
            let mut s = this.state.borrow_mut();
            s.tagging = None;
            s.confirming = Some(key);
        } else if class("retag") {
            let mut s = this.state.borrow_mut();
            s.tag_input.clear();
            s.confirming = None;
            s.tagging = Some(key);
        } else if class("confirm") {
            ImagesPage::remove(this, peer, id, key, name);
        } else if class("push") {
            let (repo, tag) = format::split_reference(&name);
            app::tasks().push(peer, repo, tag);
        } else if class("copy") {
            ImagesPage::copy_targets(this, peer, key);
        } else if class("copy-go") {
            let chosen = match this.state.borrow_mut().copying.remove(&key) {
                Some(Copying::Choosing(_, to)) => to,
                _ => String::new(),
            };
            if !chosen.is_empty() {
                app::tasks().copy(peer, id, name, chosen);
            }
        } else {
            return;
        }
        this.draw();
    }

    fn remove(this: &Rc<Self>, peer: Option<String>, id: String, key: String, name: String) {
        {
            let mut s = this.state.borrow_mut();
            s.busy = Some(key);
            s.error = None;
        }
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = api::remove_image(peer.as_deref(), &id).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            {
                let mut s = p.state.borrow_mut();
                s.busy = None;
                s.confirming = None;
            }
            if let Err(e) = result {
                p.fail(&e, format!("removing {name}"));
            }
            p.draw();
        });
    }

    fn tag(this: &Rc<Self>, ev: Event) {
        ev.prevent_default();
        let Some(row) = dom::closest(&ev, "tr[data-id]") else {
            return;
        };
        let Some(id) = row.get_attribute("data-id") else {
            return;
        };
        let peer = peer_of(&row);
        let target = this.state.borrow().tag_input.trim().to_string();
        if target.is_empty() {
            this.state.borrow_mut().error =
                Some("Type the new name first, e.g. myrepo/app:v2.".into());
            this.draw();
            return;
        }
        {
            let mut s = this.state.borrow_mut();
            s.busy = Some(row_key(&peer, &id));
            s.error = None;
        }
        this.draw();
        let (repo, tag) = format::split_reference(&target);
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let result = api::tag_image(peer.as_deref(), &id, &repo, &tag).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            p.state.borrow_mut().busy = None;
            match result {
                Ok(()) => p.state.borrow_mut().tagging = None,
                Err(e) => p.fail(&e, format!("tagging as {target}")),
            }
            p.draw();
        });
    }

    /// Opens a row's "Copy to…": the hosts the row's host knows. `id`: the row's key.
    fn copy_targets(this: &Rc<Self>, peer: Option<String>, id: String) {
        {
            let mut s = this.state.borrow_mut();
            s.copy_errors.remove(&id);
            s.copying.insert(id.clone(), Copying::Loading);
        }
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::copy_targets(peer.as_deref()).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            match answer {
                Ok(hosts) => {
                    let names: Vec<String> = hosts.into_iter().map(|h| h.name).collect();
                    let first = names.first().cloned().unwrap_or_default();
                    p.state
                        .borrow_mut()
                        .copying
                        .insert(id, Copying::Choosing(names, first));
                }
                Err(e) => {
                    let mut s = p.state.borrow_mut();
                    s.copying.remove(&id);
                    if !app::handle(&e) {
                        s.copy_errors.insert(id, format!("listing hosts: {e}"));
                    }
                }
            }
            p.draw();
        });
    }

    fn input(&self, ev: Event) {
        let Some(field) = dom::target(&ev) else {
            return;
        };
        if field.id() == "images-filter" {
            self.draw();
        } else if field.class_list().contains("tag-ref") {
            self.state.borrow_mut().tag_input =
                dom::prop(&field, "value").as_string().unwrap_or_default();
        }
    }

    fn change(&self, ev: Event) {
        let Some(select) = dom::closest(&ev, "select.copy-target") else {
            return;
        };
        let value = dom::prop(&select, "value").as_string().unwrap_or_default();
        let key = dom::closest(&ev, "tr[data-id]")
            .and_then(|r| Some(row_key(&peer_of(&r), &r.get_attribute("data-id")?)));
        if let Some(key) = key
            && let Some(Copying::Choosing(_, to)) = self.state.borrow_mut().copying.get_mut(&key)
        {
            *to = value;
        }
    }

    fn key(&self, ev: Event) {
        if dom::key(&ev) != "Enter" {
            return;
        }
        let Some(target) = dom::target(&ev) else {
            return;
        };
        if target.id() == "images-filter" {
            // Enter in the filter box: the first image that passes it opens.
            let words = dom::value(&self.root, "#images-filter");
            let first = self.state.borrow().images.as_ref().and_then(|list| {
                let first = list.iter().find(|i| shows(i, &words))?;
                Some((first.peer.clone(), first.id.clone()))
            });
            if let Some((peer, id)) = first {
                merged::open(self.all, peer, &image_href(&id));
            }
        } else if target.tag_name() == "TR"
            && let Some(id) = target.get_attribute("data-id")
        {
            // Only the row itself: Enter in its tag form submits the form.
            merged::open(self.all, peer_of(&target), &image_href(&id));
        }
    }
}

/// Drops the images of the hosts `gone` names (one `retain` for both uses: a smaller wasm).
fn drop_images(list: &mut Vec<ImageSummary>, gone: &dyn Fn(&Option<String>) -> bool) {
    list.retain(|i| !gone(&i.peer));
}

/// A row's "Copy to…": a button, the hosts being listed, or the choice of a host.
fn copy_control(out: &mut String, copying: Option<&Copying>, error: Option<&String>) {
    match copying {
        None => {
            out.push_str("<button class=\"copy ghost\">Copy to…</button>");
            if let Some(e) = error {
                let _ = write!(out, "<span class=\"error\">{}</span>", esc(e));
            }
        }
        Some(Copying::Loading) => out.push_str("<span class=\"muted\">Loading hosts…</span>"),
        Some(Copying::Choosing(names, _)) if names.is_empty() => out.push_str(
            "<span class=\"muted\">No other host known here (add peers in Settings).</span>\
             <button class=\"cancel copy-cancel ghost\">OK</button>",
        ),
        Some(Copying::Choosing(names, chosen)) => {
            out.push_str("<select class=\"copy-target\">");
            for n in names {
                let _ = write!(
                    out,
                    "<option value=\"{0}\"{1}>{0}</option>",
                    esc(n),
                    if n == chosen { " selected" } else { "" }
                );
            }
            out.push_str(
                "</select><button class=\"copy-go\">Copy</button>\
                 <button class=\"cancel copy-cancel ghost\">Cancel</button>",
            );
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    let can_act = app::can_act();
    let all = api::all_hosts();
    root.set_inner_html(&skeleton(can_act, all));
    let page = Rc::new(ImagesPage {
        root: root.clone(),
        can_act,
        all,
        state: RefCell::new(State::default()),
        ticket: Cell::new(0),
    });
    ImagesPage::retarget(&page);
    page.draw_tasks();
    let on = |event: &'static str, f: fn(&Rc<ImagesPage>, Event)| {
        let weak: Weak<ImagesPage> = Rc::downgrade(&page);
        dom::listen(root, event, move |ev| {
            if let Some(p) = weak.upgrade() {
                f(&p, ev);
            }
        })
    };
    let listeners = [
        on("click", ImagesPage::click),
        on("input", |p, ev| p.input(ev)),
        on("change", |p, ev| p.change(ev)),
        on("keydown", |p, ev| p.key(ev)),
        on("submit", |p, ev| {
            if dom::target(&ev).is_some_and(|f| f.id() == "pull-form") {
                ev.prevent_default();
                p.pull();
            } else {
                ImagesPage::tag(p, ev);
            }
        }),
    ];
    let slash = super::slash_focuses(root, "#images-filter");
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        let Some(p) = weak.upgrade() else {
            return;
        };
        match change {
            Change::Images | Change::Containers => ImagesPage::load(&p),
            Change::Hosts if p.all => ImagesPage::retarget(&p),
            Change::Tasks => p.draw_tasks(),
            _ => {}
        }
    });
    Some(Box::new((page, listeners, slash, watch)))
}
