//! Containers: every container on the host in one live table — name, image, state and how
//! long it has been up (or how it exited), published ports as links, CPU and memory (the
//! `usage` topic), age. A filter box (`/` focuses it, Enter opens the first row), a state
//! filter, sorting by any column, and for operators row actions, bulk actions on the
//! selected rows, the Run dialog and the Commit dialog.
//!
//! The list is loaded once; each container event then re-reads only that container's row
//! (a `destroy` drops it), and a reconnect reloads everything. Only the rows on screen are
//! drawn, as markup ([`crate::table`]) in one DOM call, and all clicks are handled in one
//! place: a thousand containers stay smooth. The page is plain DOM with its state in one
//! struct (see [`crate::dom`] for why).

use super::dialog::Dialog;
use super::merged::{self, Notes, Target, peer_of};
use super::run::RunDialog;
use super::{Mounted, local_offset_secs, now_secs};
use crate::api::{self, ApiError};
use crate::app;
use crate::docker::ContainerSummary;
use crate::dom::{self, Listener};
use crate::html::esc;
use crate::json::Json;
use crate::route::container_href;
use crate::socket::{Follow, WsState};
use crate::table::{self, ActionsUi, Column, RowUi, Sort, is_live, label};
use crate::watch::{self, Change};
use shared::ws::Topic;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

/// Runs `verb` on a container of peer `remote` (`None`: this agent); remove kills a live
/// one first.
pub(crate) async fn act(
    remote: Option<&str>,
    id: &str,
    verb: &str,
    live: bool,
) -> Result<(), ApiError> {
    if verb == "remove" {
        api::remove_container(remote, id, live).await
    } else {
        api::container_action(remote, id, verb).await
    }
}

/// What a click on [`table::actions_html`] markup asks for.
pub(crate) enum Verb {
    Menu,
    Ask,
    Cancel,
    Commit,
    Run(&'static str),
}

/// The verb of a click inside action markup, with the container it is for (ID, name,
/// state, from the nearest `data-id` around it); `None` for clicks elsewhere.
pub(crate) fn clicked(ev: &Event) -> Option<(Verb, String, String, String)> {
    let owner = |el: &Element| {
        let o = el.closest("[data-id]").ok().flatten()?;
        let get = |k: &str| o.get_attribute(k).unwrap_or_default();
        Some((get("data-id"), get("data-name"), get("data-state")))
    };
    if let Some(summary) = dom::closest(ev, "summary.act-more") {
        ev.prevent_default();
        let (id, name, state) = owner(&summary)?;
        return Some((Verb::Menu, id, name, state));
    }
    let button = dom::closest(ev, "[data-verb]")?;
    let (id, name, state) = owner(&button)?;
    let verb = match button.get_attribute("data-verb")?.as_str() {
        "remove" => Verb::Ask,
        "cancel" => Verb::Cancel,
        "commit" => Verb::Commit,
        "remove-now" => Verb::Run("remove"),
        v => Verb::Run(
            ["start", "stop", "restart", "pause", "unpause", "kill"]
                .into_iter()
                .find(|k| *k == v)?,
        ),
    };
    Some((verb, id, name, state))
}

/// Pixels of one table row (fixed in the stylesheet, so rows can be windowed).
const ROW_HEIGHT: f64 = 38.0;
/// Rows drawn above and below the screen.
const OVERSCAN: usize = 12;
/// More containers than this named by one burst of events: the list is read again instead.
const RELOAD_ABOVE: usize = 50;

const STATES: [(&str, &str); 6] = [
    ("", "All states"),
    ("running", "Running"),
    ("paused", "Paused"),
    ("exited", "Exited"),
    ("created", "Created"),
    ("restarting", "Restarting"),
];

/// Every sortable column (the Host column only with "All hosts").
const SORTABLE: [Column; 7] = [
    Column::Name,
    Column::Image,
    Column::State,
    Column::Host,
    Column::Cpu,
    Column::Memory,
    Column::Created,
];

const COLUMNS: [Option<Column>; 8] = [
    Some(Column::Name),
    Some(Column::Image),
    Some(Column::State),
    None,
    None,
    Some(Column::Cpu),
    Some(Column::Memory),
    Some(Column::Created),
];

/// The page's markup before any data: heading, filters, the table's head, the count; with
/// `all`, the Host column and a place for the hosts that did not answer.
fn skeleton(can_act: bool, all: bool) -> String {
    let mut out = String::from("<h1>Containers");
    if all {
        out.push_str(" <span class=\"muted\">on all hosts</span>");
    }
    if can_act {
        out.push_str("<button id=\"run-open\" class=\"ghost h1-button\">Run…</button>");
    }
    out.push_str(
        "</h1><div class=\"filters\"><input id=\"containers-filter\" type=\"search\" \
         placeholder=\"Filter by name, image, ID or port  ( / )\" autocomplete=\"off\">\
         <select id=\"containers-state\">",
    );
    if all {
        out = out.replace("ID or port", "ID, port or host");
    }
    for (value, text) in STATES {
        let _ = write!(out, "<option value=\"{value}\">{text}</option>");
    }
    out.push_str(
        "</select><span class=\"bulk\" id=\"bulk\" hidden></span></div>\
         <p class=\"error\" id=\"containers-error\" hidden></p>\
         <div id=\"containers-hosts\"></div>\
         <div class=\"card flush\"><table class=\"list containers\" id=\"containers\"><thead><tr>",
    );
    if can_act {
        out.push_str("<th class=\"pick\"><input id=\"select-all\" type=\"checkbox\" title=\"Select all shown\"></th>");
    }
    for col in COLUMNS {
        match col {
            Some(c) => {
                let _ = write!(
                    out,
                    "<th class=\"sortable col-{}\" data-sort=\"{}\">{}</th>",
                    c.slug(),
                    c.slug(),
                    c.title()
                );
            }
            None if out.contains("col-status") => {
                out.push_str("<th class=\"col-ports\">Ports</th>")
            }
            None => {
                out.push_str("<th class=\"col-status\">Status</th>");
                if all {
                    out.push_str("<th class=\"sortable col-host\" data-sort=\"host\">Host</th>");
                }
            }
        }
    }
    if can_act {
        out.push_str("<th></th>");
    }
    out.push_str(
        "</tr></thead><tbody></tbody></table>\
         <p class=\"empty-row muted\" id=\"containers-count\">Loading containers…</p></div>",
    );
    out
}

#[derive(Default)]
struct State {
    list: Option<Vec<ContainerSummary>>,
    /// The hosts listed, and a line for each that could not be asked or did not answer.
    targets: Vec<Target>,
    notes: Notes,
    /// Bumped by every reload: answers of an older one are dropped.
    generation: u64,
    /// CPU % and memory bytes by short ID (the `usage` topics of the hosts listed), and
    /// which IDs each host reported last (its next message replaces them).
    usage: HashMap<String, (f32, u64)>,
    reported: Vec<(Option<String>, Vec<String>)>,
    query: String,
    state: String,
    sort: Sort,
    selected: HashSet<String>,
    /// The first row on screen and how many fit (window scroll).
    window: (usize, usize),
    /// Which row's menu is open, Remove awaits confirmation, an action runs on.
    menu: Option<String>,
    confirming: Option<String>,
    busy: Option<String>,
    bulk_confirm: bool,
    bulk_busy: bool,
    error: Option<String>,
    /// Row reads asked per container: only the newest answer counts.
    asked: HashMap<String, u64>,
    /// The rows that pass the filters, sorted (recomputed when the list or filters change).
    shown: Vec<ContainerSummary>,
}

struct Page {
    root: Element,
    tbody: Element,
    can_act: bool,
    /// "All hosts": every host's rows, with the Host column.
    all: bool,
    /// The `usage` topic of each host listed.
    follows: RefCell<Vec<Follow>>,
    state: RefCell<State>,
    listeners: RefCell<Vec<Listener>>,
    run: RefCell<Option<Rc<RunDialog>>>,
    commit: RefCell<Option<Rc<Dialog>>>,
    /// The rows' and the bulk bar's markup as last drawn.
    drawn: RefCell<String>,
    drawn_bulk: RefCell<String>,
}

impl Page {
    fn mount(root: Element) -> Option<Rc<Page>> {
        let can_act = app::can_act();
        let all = api::all_hosts();
        root.set_inner_html(&skeleton(can_act, all));
        let page = Rc::new(Page {
            tbody: dom::find(&root, "tbody")?,
            root,
            can_act,
            all,
            follows: RefCell::new(Vec::new()),
            state: RefCell::new(State {
                window: (0, 60),
                ..Default::default()
            }),
            listeners: RefCell::new(Vec::new()),
            run: RefCell::new(None),
            commit: RefCell::new(None),
            drawn: RefCell::new(String::new()),
            drawn_bulk: RefCell::new(String::new()),
        });
        let weak = Rc::downgrade(&page);
        let on = |target: &web_sys::EventTarget, event: &'static str, f: fn(&Rc<Page>, Event)| {
            let weak: Weak<Page> = weak.clone();
            dom::listen(target, event, move |ev| {
                if let Some(p) = weak.upgrade() {
                    f(&p, ev);
                }
            })
        };
        let window = web_sys::window()?;
        let listeners = vec![
            on(&page.root, "click", Page::click),
            on(&page.root, "input", Page::input),
            on(&page.root, "change", Page::change),
            on(&page.root, "keydown", Page::key),
            on(&window, "keydown", Page::slash),
            on(&window, "click", Page::outside),
            on(&window, "scroll", |p, _| p.measure()),
            on(&window, "resize", |p, _| p.measure()),
        ];
        *page.listeners.borrow_mut() = listeners;
        Page::retarget(&page);
        Some(page)
    }

    /// Lists the hosts there are now ([`merged::targets`]): follows their usage and reloads
    /// when that set changed (a peer came up or went away); else asks again the hosts whose
    /// list failed (at the pace of the agent's host pushes). The lines about peers that are
    /// not up are kept current either way.
    fn retarget(this: &Rc<Page>) {
        let (targets, down) = merged::targets(this.all);
        let (changed, generation) = {
            let mut s = this.state.borrow_mut();
            // A listed host's line (its failed call) stays until it answers.
            s.notes.relist(&targets, down);
            let changed = s.targets != targets || s.list.is_none();
            s.targets = targets.clone();
            (changed, s.generation)
        };
        if !changed {
            for target in &targets {
                if this.state.borrow().notes.has(&target.name) {
                    Page::fetch(this, target.clone(), generation);
                }
            }
            this.draw();
            return;
        }
        let live = app::live();
        let follows = targets
            .iter()
            .map(|t| {
                let weak = Rc::downgrade(this);
                let peer = t.peer.clone();
                let handler = move |message: &Json| {
                    if let Some(p) = weak.upgrade() {
                        p.usage(&peer, message);
                    }
                };
                live.follow_on(t.peer.as_deref(), Topic::Usage, Rc::new(handler))
            })
            .collect();
        *this.follows.borrow_mut() = follows;
        Page::reload(this);
    }

    /// The whole list, from every host listed (each one's rows as it answers): at first,
    /// when the hosts change, and after every reconnect (events may have been missed).
    fn reload(this: &Rc<Page>) {
        let (targets, generation) = {
            let mut s = this.state.borrow_mut();
            s.generation += 1;
            let targets = s.targets.clone();
            if let Some(list) = s.list.as_mut() {
                drop_rows(list, &|peer| !targets.iter().any(|t| &t.peer == peer));
            }
            (targets, s.generation)
        };
        for target in targets {
            Page::fetch(this, target, generation);
        }
    }

    /// One host's list, as part of reload `generation`: its rows replace the ones it had.
    fn fetch(this: &Rc<Page>, target: Target, generation: u64) {
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::containers(target.peer.as_deref()).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            if p.state.borrow().generation != generation {
                return;
            }
            match answer {
                Ok(rows) => {
                    let rows = rows.into_iter().map(|c| p.tag(&target.peer, c));
                    let rows: Vec<ContainerSummary> = rows.collect();
                    {
                        let mut s = p.state.borrow_mut();
                        s.notes.remove(&target.name);
                        let list = s.list.get_or_insert_with(Vec::new);
                        drop_rows(list, &|peer| peer == &target.peer);
                        list.extend(rows);
                    }
                    p.refilter();
                }
                Err(e) => p.fail_on(&target.peer, &e, "listing containers"),
            }
        });
    }

    /// A row as read from peer `peer`, marked with where it is.
    fn tag(&self, peer: &Option<String>, mut row: ContainerSummary) -> ContainerSummary {
        row.peer = peer.clone();
        if self.all {
            row.host = merged::name_of(&self.state.borrow().targets, peer);
        }
        row
    }

    fn fail(&self, e: &ApiError, doing: &str) {
        if !app::handle(e) {
            self.state.borrow_mut().error = Some(format!("{doing}: {e}"));
            self.draw();
        }
    }

    /// A call to one host failed: with "All hosts", a line about that host (its rows stay
    /// as they were, and a peer's 401 is not this session's); else the page's error.
    fn fail_on(&self, peer: &Option<String>, e: &ApiError, doing: &str) {
        if !self.all || (peer.is_none() && app::handle(e)) {
            return self.fail(e, doing);
        }
        let name = merged::name_of(&self.state.borrow().targets, peer);
        let line = merged::failed_line(&name, doing, e);
        self.state.borrow_mut().notes.set(&name, line);
        self.draw();
    }

    /// Re-reads one container's row after an event about it (`destroy`: drops it).
    fn event(this: &Rc<Page>, peer: Option<String>, id: String, action: &str) {
        if action == "destroy" {
            this.put(&peer, &id, None);
            return;
        }
        let ticket = {
            let mut s = this.state.borrow_mut();
            let n = s.asked.entry(id.clone()).or_default();
            *n += 1;
            *n
        };
        let weak = Rc::downgrade(this);
        spawn_local(async move {
            let answer = api::container_row(peer.as_deref(), &id).await;
            let Some(p) = weak.upgrade() else {
                return;
            };
            if p.state.borrow().asked.get(&id) != Some(&ticket) {
                return;
            }
            match answer {
                Ok(row) => p.put(&peer, &id, row),
                Err(e) => p.fail_on(&peer, &e, "reading a container"),
            }
        });
    }

    /// Puts one container's fresh row (of peer `peer`) in; `None` removes it.
    fn put(&self, peer: &Option<String>, id: &str, row: Option<ContainerSummary>) {
        let row = row.map(|r| self.tag(peer, r));
        {
            let mut s = self.state.borrow_mut();
            let Some(list) = s.list.as_mut() else {
                return;
            };
            let at = list.iter().position(|c| c.id == id && &c.peer == peer);
            match (at, row) {
                (Some(i), Some(row)) => list[i] = row,
                (Some(i), None) => {
                    list.remove(i);
                    s.selected.remove(id);
                }
                (None, Some(row)) => list.insert(0, row),
                (None, None) => {}
            }
        }
        self.refilter();
    }

    /// One host's usage message: its containers' CPU and memory replace that host's.
    fn usage(&self, peer: &Option<String>, message: &Json) {
        if message.at("type").str() != "usage" {
            return;
        }
        let resort = {
            let mut s = self.state.borrow_mut();
            let s = &mut *s;
            let at = match s.reported.iter().position(|(p, _)| p == peer) {
                Some(at) => at,
                None => {
                    s.reported.push((peer.clone(), Vec::new()));
                    s.reported.len() - 1
                }
            };
            for id in s.reported[at].1.drain(..) {
                s.usage.remove(&id);
            }
            for u in message.at("containers").list() {
                let id = u.at("id").str();
                let figures = (u.at("cpu").num() as f32, u.at("mem").num() as u64);
                s.reported[at].1.push(id.clone());
                s.usage.insert(id, figures);
            }
            matches!(s.sort.column, Column::Cpu | Column::Memory)
        };
        if resort {
            self.refilter();
        } else {
            self.draw();
        }
    }

    /// Recomputes the rows shown (filters, sort), then draws.
    fn refilter(&self) {
        {
            let mut s = self.state.borrow_mut();
            let query = s.query.trim().to_ascii_lowercase();
            let mut shown: Vec<ContainerSummary> = s
                .list
                .iter()
                .flatten()
                .filter(|c| s.state.is_empty() || c.state == s.state)
                .filter(|c| table::matches(c, &query))
                .cloned()
                .collect();
            table::sort(&mut shown, s.sort, &s.usage);
            s.shown = shown;
        }
        self.measure();
        self.draw();
    }

    /// Which rows are on screen; draws when that changed.
    fn measure(&self) {
        let above = -self.tbody.get_bounding_client_rect().top();
        let first = (above.max(0.0) / ROW_HEIGHT) as usize;
        let height = dom::window()
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(800.0);
        let fit = (height / ROW_HEIGHT).ceil() as usize;
        let range = (first.saturating_sub(OVERSCAN), fit + 2 * OVERSCAN);
        let changed = std::mem::replace(&mut self.state.borrow_mut().window, range) != range;
        if changed {
            self.draw();
        }
    }

    /// Draws everything that depends on the state: the rows on screen, the count, the bulk
    /// bar, the error, the sort marks. The focus stays on the row that had it.
    fn draw(&self) {
        let s = self.state.borrow();
        let (now, offset) = (now_secs(), local_offset_secs());
        let (first, count) = s.window;
        let end = (first + count).min(s.shown.len());
        let start = first.min(end);
        let spacer = |n: usize| {
            if n == 0 {
                String::new()
            } else {
                format!(
                    "<tr class=\"spacer\" style=\"height:{}px\"></tr>",
                    n * ROW_HEIGHT as usize
                )
            }
        };
        let mut rows = spacer(start);
        for c in &s.shown[start..end] {
            let is = |v: &Option<String>| v.as_deref() == Some(c.id.as_str());
            let ui = RowUi {
                now,
                offset,
                usage: s.usage.get(crate::format::short_id(&c.id)).copied(),
                selected: s.selected.contains(&c.id),
                actions: self.can_act.then(|| ActionsUi {
                    confirming: is(&s.confirming),
                    busy: is(&s.busy),
                    menu_open: is(&s.menu),
                    links: true,
                }),
                host: s
                    .targets
                    .iter()
                    .find(|t| t.peer == c.peer)
                    .map_or("", |t| t.address.as_str()),
                host_column: self.all,
            };
            rows.push_str(&table::row_html(c, &ui));
        }
        rows.push_str(&spacer(s.shown.len() - end));
        // Rows are replaced only when they read differently: no churn under the pointer
        // (or under a test holding a row) when a redraw changes nothing.
        if *self.drawn.borrow() != rows {
            let focused = dom::document()
                .active_element()
                .filter(|el| el.tag_name() == "TR" && self.tbody.contains(Some(el)))
                .and_then(|el| el.get_attribute("data-id"));
            self.tbody.set_inner_html(&rows);
            if let Some(id) = focused
                && let Some(row) = dom::find(&self.tbody, &format!("tr[data-id=\"{}\"]", esc(&id)))
            {
                dom::focus(&row);
            }
            *self.drawn.borrow_mut() = rows;
        }

        let count = match &s.list {
            None => "Loading containers…".to_string(),
            Some(list) => {
                let running = list.iter().filter(|c| c.state == "running").count();
                match (list.len(), s.shown.len()) {
                    (0, _) => {
                        "No containers yet: run one with the Run button or docker run.".into()
                    }
                    (n, shown) if shown == n => {
                        format!(
                            "{n} container{}, {running} running",
                            if n == 1 { "" } else { "s" }
                        )
                    }
                    (n, shown) => format!("{shown} of {n} containers shown, {running} running"),
                }
            }
        };
        dom::set_text(&self.root, "#containers-count", &count);
        if let Some(el) = dom::find(&self.root, "#containers-hosts") {
            let html = s.notes.html();
            if el.inner_html() != html {
                el.set_inner_html(&html);
            }
        }
        if let Some(el) = dom::find(&self.root, "#containers-error") {
            el.set_text_content(s.error.as_deref());
            dom::show(&el, s.error.is_some());
        }
        if let Some(el) = dom::find(&self.root, "#bulk") {
            let html = bulk_html(&s);
            if *self.drawn_bulk.borrow() != html {
                el.set_inner_html(&html);
                *self.drawn_bulk.borrow_mut() = html;
            }
            dom::show(&el, self.can_act && !s.selected.is_empty());
        }
        for th in dom::all(&self.root, "th[data-sort]") {
            let on = th.get_attribute("data-sort").as_deref() == Some(s.sort.column.slug());
            let mark = match (on, s.sort.ascending) {
                (false, _) => "",
                (true, true) => " ▲",
                (true, false) => " ▼",
            };
            let title = SORTABLE
                .iter()
                .find(|c| th.get_attribute("data-sort").as_deref() == Some(c.slug()))
                .map_or("", |c| c.title());
            th.set_text_content(Some(&format!("{title}{mark}")));
        }
    }

    /// Opens `href` about a row of peer `peer` (see [`merged::open`]).
    fn open(&self, peer: Option<String>, href: &str) {
        merged::open(self.all, peer, href);
    }

    fn click(this: &Rc<Page>, ev: Event) {
        if let Some(th) = dom::closest(&ev, "th[data-sort]") {
            let slug = th.get_attribute("data-sort").unwrap_or_default();
            if let Some(col) = SORTABLE.iter().find(|c| c.slug() == slug) {
                let sort = this.state.borrow().sort.toggled(*col);
                this.state.borrow_mut().sort = sort;
                this.refilter();
            }
            return;
        }
        if dom::closest(&ev, "#run-open").is_some() {
            let image = String::new();
            *this.run.borrow_mut() = super::run::open(&this.root, &image);
            return;
        }
        if let Some(button) = dom::closest(&ev, "#bulk button") {
            this.bulk(&button);
            return;
        }
        if let Some((verb, id, name, state)) = clicked(&ev) {
            let peer = dom::target(&ev).and_then(|el| peer_of(&el));
            this.act(verb, peer, id, name, state);
            return;
        }
        // A link to a peer's container or image opens it on that host.
        if this.all
            && let Some(link) = dom::closest(&ev, "a[href^='#']")
            && let Some(href) = link.get_attribute("href")
        {
            ev.prevent_default();
            this.open(peer_of(&link), &href);
            return;
        }
        if dom::closest(&ev, "a, input, .actions").is_some() {
            return;
        }
        if let Some(row) = dom::closest(&ev, "tr[data-id]")
            && let Some(id) = row.get_attribute("data-id")
        {
            this.open(peer_of(&row), &container_href(&id));
        }
    }

    fn act(
        self: &Rc<Page>,
        verb: Verb,
        peer: Option<String>,
        id: String,
        name: String,
        state: String,
    ) {
        {
            let mut s = self.state.borrow_mut();
            s.menu = match verb {
                Verb::Menu if s.menu.as_deref() != Some(id.as_str()) => Some(id.clone()),
                _ => None,
            };
            match verb {
                Verb::Ask => s.confirming = Some(id.clone()),
                Verb::Cancel => s.confirming = None,
                Verb::Run(_) => {
                    s.busy = Some(id.clone());
                    s.error = None;
                }
                Verb::Menu | Verb::Commit => {}
            }
        }
        match verb {
            Verb::Commit => {
                *self.commit.borrow_mut() =
                    super::container::commit::open(&self.root, peer, &id, &name);
            }
            Verb::Run(verb) => {
                let weak = Rc::downgrade(self);
                spawn_local(async move {
                    let result = act(peer.as_deref(), &id, verb, is_live(&state)).await;
                    let Some(p) = weak.upgrade() else {
                        return;
                    };
                    {
                        let mut s = p.state.borrow_mut();
                        s.busy = None;
                        s.confirming = None;
                    }
                    match result {
                        Ok(()) => p.draw(),
                        Err(e) => p.fail(&e, verb),
                    }
                });
            }
            _ => {}
        }
        self.draw();
    }

    fn bulk(self: &Rc<Page>, button: &Element) {
        let Some(verb) = button.get_attribute("data-bulk") else {
            return;
        };
        match verb.as_str() {
            "clear" => self.state.borrow_mut().selected.clear(),
            "ask" => self.state.borrow_mut().bulk_confirm = true,
            "cancel" => self.state.borrow_mut().bulk_confirm = false,
            verb => {
                let Some(verb) = [
                    "start", "stop", "restart", "kill", "pause", "unpause", "remove",
                ]
                .into_iter()
                .find(|v| *v == verb) else {
                    return;
                };
                let chosen: Vec<(Option<String>, String, String, String)> = {
                    let mut s = self.state.borrow_mut();
                    s.bulk_busy = true;
                    s.bulk_confirm = false;
                    s.error = None;
                    s.list
                        .iter()
                        .flatten()
                        .filter(|c| s.selected.contains(&c.id))
                        .map(|c| {
                            let (id, name) = (c.id.clone(), c.name().to_string());
                            (c.peer.clone(), id, name, c.state.clone())
                        })
                        .collect()
                };
                let weak = Rc::downgrade(self);
                spawn_local(async move {
                    let mut failed = Vec::new();
                    for (peer, id, name, state) in chosen {
                        if let Err(e) = act(peer.as_deref(), &id, verb, is_live(&state)).await {
                            let on = peer.map(|p| format!(" on {p}")).unwrap_or_default();
                            failed.push(format!("{name}{on}: {e}"));
                        }
                    }
                    let Some(p) = weak.upgrade() else {
                        return;
                    };
                    {
                        let mut s = p.state.borrow_mut();
                        s.bulk_busy = false;
                        if verb == "remove" {
                            s.selected.clear();
                        }
                        if !failed.is_empty() {
                            s.error =
                                Some(format!("{} failed for {}", label(verb), failed.join("; ")));
                        }
                    }
                    p.draw();
                });
            }
        }
        self.draw();
    }

    fn input(this: &Rc<Page>, ev: Event) {
        if let Some(el) = dom::closest(&ev, "#containers-filter") {
            this.state.borrow_mut().query = dom::prop(&el, "value").as_string().unwrap_or_default();
            this.refilter();
        }
    }

    fn change(this: &Rc<Page>, ev: Event) {
        let Some(el) = dom::target(&ev) else {
            return;
        };
        let on = dom::prop(&el, "checked").is_truthy();
        if el.id() == "containers-state" {
            this.state.borrow_mut().state = dom::prop(&el, "value").as_string().unwrap_or_default();
            this.refilter();
        } else if el.id() == "select-all" {
            let mut s = this.state.borrow_mut();
            s.selected = if on {
                s.shown.iter().map(|c| c.id.clone()).collect()
            } else {
                HashSet::new()
            };
            drop(s);
            this.draw();
        } else if el.class_list().contains("pick-row")
            && let Some(id) = el
                .closest("tr[data-id]")
                .ok()
                .flatten()
                .and_then(|tr| tr.get_attribute("data-id"))
        {
            let mut s = this.state.borrow_mut();
            if on {
                s.selected.insert(id);
            } else {
                s.selected.remove(&id);
            }
            drop(s);
            this.draw();
        }
    }

    /// Enter: in the filter opens the first row shown; on a row opens that row.
    fn key(this: &Rc<Page>, ev: Event) {
        if dom::key(&ev) != "Enter" {
            return;
        }
        let Some(el) = dom::target(&ev) else {
            return;
        };
        let row = if el.id() == "containers-filter" {
            let s = this.state.borrow();
            s.shown.first().map(|c| (c.peer.clone(), c.id.clone()))
        } else if el.tag_name() == "TR" {
            el.get_attribute("data-id").map(|id| (peer_of(&el), id))
        } else {
            None
        };
        if let Some((peer, id)) = row {
            this.open(peer, &container_href(&id));
        }
    }

    /// `/` focuses the filter, unless typing somewhere.
    fn slash(this: &Rc<Page>, ev: Event) {
        let typing = dom::target(&ev)
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if dom::key(&ev) == "/"
            && !typing
            && let Some(input) = dom::find(&this.root, "#containers-filter")
        {
            ev.prevent_default();
            dom::focus(&input);
        }
    }

    /// A click outside any menu closes the open one.
    fn outside(this: &Rc<Page>, ev: Event) {
        let in_menu = dom::closest(&ev, ".menu").is_some();
        let open = this.state.borrow().menu.is_some();
        if !in_menu && open {
            this.state.borrow_mut().menu = None;
            this.draw();
        }
    }
}

/// Drops the rows of the hosts `gone` names (one `retain` for both uses: a smaller wasm).
fn drop_rows(list: &mut Vec<ContainerSummary>, gone: &dyn Fn(&Option<String>) -> bool) {
    list.retain(|c| !gone(&c.peer));
}

/// The bulk bar: how many are selected and the actions for all of them.
fn bulk_html(s: &State) -> String {
    let disabled = if s.bulk_busy { " disabled" } else { "" };
    let mut out = format!(
        "<span class=\"bulk-count\">{} selected:</span>",
        s.selected.len()
    );
    for verb in ["start", "stop", "restart", "kill", "pause", "unpause"] {
        let _ = write!(
            out,
            "<button class=\"ghost bulk-{verb}\" data-bulk=\"{verb}\"{disabled}>{}</button>",
            label(verb)
        );
    }
    if s.bulk_confirm {
        let _ = write!(
            out,
            "<span class=\"confirm-text\">Remove {} containers (running ones are killed)?</span>\
             <button class=\"danger bulk-confirm\" data-bulk=\"remove\">Remove</button>\
             <button class=\"ghost\" data-bulk=\"cancel\">Cancel</button>",
            s.selected.len()
        );
    } else {
        let _ = write!(
            out,
            "<button class=\"danger bulk-remove\" data-bulk=\"ask\"{disabled}>Remove</button>"
        );
    }
    out.push_str("<button class=\"ghost bulk-clear\" data-bulk=\"clear\">Clear</button>");
    out
}

/// What the page keeps besides its [`Page`]: the socket's state seen last, the newest
/// event read, and whether a read of the newest events is already queued.
struct Follower {
    page: Rc<Page>,
    socket: Cell<WsState>,
    seen: Cell<u64>,
    queued: Cell<bool>,
}

impl Follower {
    /// A reconnect reloads (events may have been missed).
    fn socket(&self) {
        let now = app::live().ws_state();
        if self.socket.replace(now) == WsState::Reconnecting && now == WsState::Live {
            Page::reload(&self.page);
        }
    }

    /// Reads the events that came since the last time, once per burst: each container
    /// they name has its row read again (once), or the whole list when there are many or
    /// some fell out of the kept window.
    fn events(&self) {
        self.queued.set(false);
        let seen = self.seen.get();
        let (newest, missed, fresh) = app::live().with_events(|l| {
            let newest = l.front().map_or(0, |r| r.seq + 1);
            let missed = l.back().is_some_and(|r| r.seq > seen);
            let fresh: Vec<(Option<String>, String, String)> = l
                .iter()
                .take_while(|r| r.seq >= seen)
                .filter(|r| r.event.kind == "container" && changes_row(&r.event.action))
                .map(|r| {
                    let id = r.event.actor.id.clone();
                    (r.event.host.clone(), id, r.event.action.clone())
                })
                .collect();
            (newest, missed, fresh)
        });
        self.seen.set(newest);
        // Events of the hosts listed only (this agent's are tagged with its name).
        let local = app::who().map(|w| w.host);
        let listed: Vec<Option<String>> = {
            let s = self.page.state.borrow();
            s.targets.iter().map(|t| t.peer.clone()).collect()
        };
        // Oldest first; one read per container (its newest event decides a removal). A
        // list, not a map: a burst is short, and the wasm stays small.
        let mut last: Vec<(Option<String>, String, String)> = Vec::new();
        for (host, id, action) in fresh.into_iter().rev() {
            let peer = host.filter(|h| Some(h) != local.as_ref());
            if !listed.contains(&peer) {
                continue;
            }
            match last.iter_mut().find(|(p, i, _)| p == &peer && i == &id) {
                Some(seen) => seen.2 = action,
                None => last.push((peer, id, action)),
            }
        }
        if missed || last.len() > RELOAD_ABOVE {
            Page::reload(&self.page);
        } else {
            for (peer, id, action) in last {
                Page::event(&self.page, peer, id, &action);
            }
        }
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    let page = Page::mount(root.clone())?;
    let live = app::live();
    let follower = Rc::new(Follower {
        page: page.clone(),
        socket: Cell::new(live.ws_state()),
        seen: Cell::new(live.with_events(|l| l.front().map_or(0, |r| r.seq + 1))),
        queued: Cell::new(false),
    });
    let weak = Rc::downgrade(&follower);
    let watch = watch::watch(move |change| {
        let Some(f) = weak.upgrade() else {
            return;
        };
        match change {
            Change::Socket => f.socket(),
            Change::Hosts if f.page.all => Page::retarget(&f.page),
            // A burst of events is read once, after it.
            Change::Events if !f.queued.replace(true) => {
                let weak = Rc::downgrade(&f);
                dom::after(0, move || {
                    if let Some(f) = weak.upgrade() {
                        f.events();
                    }
                });
            }
            _ => {}
        }
    });
    // Status texts ("Up 5 minutes") stay current.
    let weak = Rc::downgrade(&page);
    let ticker = dom::every(5000, move || {
        if let Some(p) = weak.upgrade() {
            p.draw();
        }
    });
    Some(Box::new((page, follower, watch, ticker)))
}

/// Container events that change a row (exec and attach events do not).
fn changes_row(action: &str) -> bool {
    !(action.starts_with("exec_")
        || matches!(
            action,
            "attach" | "resize" | "commit" | "top" | "export" | "copy"
        ))
}
