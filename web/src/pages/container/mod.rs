//! One container (`#/container/<id>/<tab>`): a header with its state and, for operators, its
//! actions and Commit; then tabs — overview, logs (live), console (a shell), stats (live
//! charts), changes (the writable layer with sizes) and inspect (the raw JSON). The inspect
//! answer is reloaded on container events; the tabs follow their own WebSocket topics.
//!
//! Plain DOM: the header and the Overview and Inspect tabs are markup redrawn from the
//! inspect answer; the other tabs are parts that draw themselves, made when their tab is
//! chosen and dropped when another is.

mod changes;
pub mod commit;
mod console;
mod logs;
mod overview;
mod stats;

use super::Mounted;
use super::containers::{Verb, act, clicked};
use super::dialog::Dialog;
use crate::api::{self, ApiError};
use crate::app;
use crate::docker::container_name;
use crate::dom::{self, Listener};
use crate::format;
use crate::html::esc;
use crate::json::Json;
use crate::route::{Page, Tab};
use crate::socket::Follow;
use crate::table::{self, ActionsUi, is_live};
use crate::watch::{self, Change};
use shared::ws::Topic;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event};

/// What the header and the tabs need of the inspect answer.
#[derive(Clone, Debug, PartialEq)]
struct Head {
    id: String,
    name: String,
    status: String,
    running: bool,
}

fn head(raw: &str) -> Option<Head> {
    let j = Json::parse(raw)?;
    let id = j.at("Id").str();
    Some(Head {
        name: container_name(&j.at("Name").str(), &id).to_string(),
        status: j.at("State.Status").str(),
        running: j.at("State.Running").bool() && !j.at("State.Paused").bool(),
        id,
    })
}

fn current_tab() -> Tab {
    let hash = dom::window().location().hash().unwrap_or_default();
    let decoded = js_sys::decode_uri_component(&hash).map_or(hash, String::from);
    Tab::from_hash(&decoded)
}

/// The part a tab draws itself with, kept while the tab shows.
enum Part {
    /// Overview and Inspect: markup from the inspect answer.
    Drawn,
    Logs {
        _logs: Rc<logs::Logs>,
        _follow: Follow,
    },
    Console(Rc<console::Console>),
    Stats(Rc<stats::Stats>, #[allow(dead_code)] Follow),
    Changes(Rc<changes::Changes>),
}

#[derive(Default)]
struct State {
    raw: Option<String>,
    head: Option<Head>,
    /// The header's actions: Remove asks again, an action runs, the menu is open.
    confirming: bool,
    busy: bool,
    menu: bool,
    error: Option<String>,
}

struct ContainerPage {
    root: Element,
    id: String,
    state: RefCell<State>,
    tab: Cell<Tab>,
    part: RefCell<Option<Part>>,
    /// Whether the container ran when the part was last told (a console opens or closes,
    /// the processes are read, only when that changes).
    told_running: Cell<bool>,
    commit: RefCell<Option<Rc<Dialog>>>,
    ticket: Cell<u64>,
}

impl ContainerPage {
    fn load(this: &Rc<Self>) {
        let ticket = this.ticket.get() + 1;
        this.ticket.set(ticket);
        let weak = Rc::downgrade(this);
        let id = this.id.clone();
        spawn_local(async move {
            let answer = api::inspect_container_text(&id).await;
            let Some(p) = weak.upgrade().filter(|p| p.ticket.get() == ticket) else {
                return;
            };
            match answer {
                Ok(text) => {
                    let mut s = p.state.borrow_mut();
                    s.head = head(&text);
                    s.raw = Some(text);
                    s.error = None;
                }
                Err(ApiError::Status(404, m)) => {
                    let mut s = p.state.borrow_mut();
                    s.raw = None;
                    s.head = None;
                    s.error = Some(format!("{m} — it may have been removed."));
                }
                Err(e) => p.fail(&e, "reading the container"),
            }
            ContainerPage::draw(&p);
        });
    }

    fn fail(&self, e: &ApiError, doing: &str) {
        if !app::handle(e) {
            self.state.borrow_mut().error = Some(format!("{doing}: {e}"));
        }
    }

    /// The header, the error, and the tabs (made once the container is found).
    fn draw(this: &Rc<Self>) {
        let (found, running) = {
            let s = this.state.borrow();
            this.draw_head(&s);
            dom::error_at(
                &this.root,
                "#container-error-place",
                "container-error",
                s.error.as_deref(),
            );
            (s.head.is_some(), s.head.as_ref().is_some_and(|h| h.running))
        };
        let has_tabs = dom::find(&this.root, "nav.tabs").is_some();
        if !found {
            if has_tabs {
                this.part.borrow_mut().take();
                dom::set_html(&this.root, "#container-tabs", "");
            }
            return;
        }
        if !has_tabs {
            dom::set_html(
                &this.root,
                "#container-tabs",
                "<nav class=\"tabs\"></nav><div id=\"tab-body\"></div>",
            );
            ContainerPage::show_tab(this);
            return;
        }
        let told = this.told_running.replace(running) == running;
        match &*this.part.borrow() {
            Some(Part::Drawn) => this.draw_drawn(),
            Some(Part::Console(c)) if !told => console::Console::set_running(c, running),
            Some(Part::Stats(s, _)) if !told => stats::Stats::running(s, running),
            _ => {}
        }
    }

    fn draw_head(&self, s: &State) {
        let name = s.head.as_ref().map_or_else(
            || format::short_id(&self.id).to_string(),
            |h| h.name.clone(),
        );
        let mut out = format!(
            "<h1>Container<span class=\"sub mono\" id=\"container-name\">{}</span>",
            esc(&name)
        );
        if let Some(h) = &s.head {
            let _ = write!(
                out,
                "<span id=\"container-state\"><span class=\"badge s-{0}\">{0}</span></span>",
                esc(&h.status)
            );
        }
        out.push_str("</h1>");
        if let Some(h) = s.head.as_ref().filter(|_| app::can_act()) {
            let ui = ActionsUi {
                confirming: s.confirming,
                busy: s.busy,
                menu_open: s.menu,
                links: false,
            };
            let _ = write!(
                out,
                "<div class=\"toolbar\"><span data-id=\"{}\" data-name=\"{}\" data-state=\"{}\">{}</span>\
                 <button id=\"open-commit\" class=\"ghost\">Commit…</button></div>",
                esc(&h.id),
                esc(&h.name),
                esc(&h.status),
                table::actions_html(&h.id, &h.name, &h.status, ui)
            );
        }
        dom::set_html(&self.root, "#container-head", &out);
    }

    /// The tab links, and the chosen tab's part.
    fn show_tab(this: &Rc<Self>) {
        let tab = this.tab.get();
        let mut nav = String::new();
        for t in Tab::ALL {
            let _ = write!(
                nav,
                "<a id=\"tab-{}\" href=\"{}\"{}>{}</a>",
                t.slug(),
                esc(&t.href(&this.id)),
                if t == tab { " class=\"active\"" } else { "" },
                t.title()
            );
        }
        dom::set_html(&this.root, "nav.tabs", &nav);
        // The old part goes first (its socket, its listeners).
        this.part.borrow_mut().take();
        let Some(body) = dom::find(&this.root, "#tab-body") else {
            return;
        };
        body.set_inner_html("");
        let running = this.state.borrow().head.as_ref().is_some_and(|h| h.running);
        this.told_running.set(running);
        let id = this.id.clone();
        let part = match tab {
            Tab::Overview | Tab::Inspect => Some(Part::Drawn),
            Tab::Logs => logs::Logs::mount(&body, id.clone()).map(|l| {
                let weak = Rc::downgrade(&l);
                let follow = app::live().follow(Topic::Logs { container: id }, move |m| {
                    if let Some(l) = weak.upgrade() {
                        l.message(m);
                    }
                });
                Part::Logs {
                    _logs: l,
                    _follow: follow,
                }
            }),
            Tab::Console if !app::can_act() => {
                body.set_inner_html(
                    "<p class=\"notice\" id=\"console-refused\">Only operators and admins can open a console.</p>",
                );
                None
            }
            Tab::Console => console::Console::mount(&body, id).map(|c| {
                console::Console::set_running(&c, running);
                Part::Console(c)
            }),
            Tab::Stats => stats::Stats::mount(&body, id.clone()).map(|s| {
                stats::Stats::running(&s, running);
                let weak = Rc::downgrade(&s);
                let follow = app::live().follow(Topic::Stats { container: id }, move |m| {
                    if let Some(s) = weak.upgrade() {
                        s.message(m);
                    }
                });
                Part::Stats(s, follow)
            }),
            Tab::Changes => changes::Changes::mount(&body, id).map(Part::Changes),
        };
        *this.part.borrow_mut() = part;
        this.draw_drawn();
    }

    /// The Overview or Inspect tab from the inspect answer.
    fn draw_drawn(&self) {
        let html = {
            let s = self.state.borrow();
            let Some(json) = s.raw.as_deref().and_then(Json::parse) else {
                return;
            };
            match self.tab.get() {
                Tab::Overview => format!("<div class=\"cards\">{}</div>", overview::cards(&json)),
                Tab::Inspect => format!(
                    "<pre class=\"json\" id=\"inspect\">{}</pre>",
                    esc(&json.pretty())
                ),
                _ => return,
            }
        };
        dom::set_html(&self.root, "#tab-body", &html);
    }

    fn hash_changed(this: &Rc<Self>) {
        let tab = current_tab();
        if tab != this.tab.get() {
            this.tab.set(tab);
            if dom::find(&this.root, "nav.tabs").is_some() {
                ContainerPage::show_tab(this);
            }
        }
    }

    fn open_commit(&self) {
        if !app::can_act() {
            return;
        }
        let name = self
            .state
            .borrow()
            .head
            .as_ref()
            .map(|h| h.name.clone())
            .unwrap_or_default();
        *self.commit.borrow_mut() = commit::open(&self.root, api::remote(), &self.id, &name);
    }

    fn click(this: &Rc<Self>, ev: Event) {
        if dom::closest(&ev, "#open-commit, #changes-commit").is_some() {
            this.open_commit();
            return;
        }
        if dom::closest(&ev, "#container-head").is_none() {
            return;
        }
        let Some((verb, id, _, state)) = clicked(&ev) else {
            return;
        };
        {
            let mut s = this.state.borrow_mut();
            s.menu = matches!(verb, Verb::Menu) && !s.menu;
            match &verb {
                Verb::Ask => s.confirming = true,
                Verb::Cancel => s.confirming = false,
                Verb::Run(_) => {
                    s.busy = true;
                    s.error = None;
                }
                Verb::Menu | Verb::Commit => {}
            }
        }
        if let Verb::Run(verb) = verb {
            let weak = Rc::downgrade(this);
            let remote = api::remote();
            spawn_local(async move {
                let result = act(remote.as_deref(), &id, verb, is_live(&state)).await;
                let Some(p) = weak.upgrade() else {
                    return;
                };
                {
                    let mut s = p.state.borrow_mut();
                    s.busy = false;
                    s.confirming = false;
                }
                if let Err(e) = result {
                    p.fail(&e, verb);
                }
                ContainerPage::draw(&p);
            });
        }
        ContainerPage::draw(this);
    }
}

pub fn mount(root: &Element, id: &str) -> Option<Mounted> {
    root.set_inner_html(&format!(
        "<p class=\"crumbs\"><a id=\"back\" href=\"{}\">← Containers</a></p><div id=\"container-head\"></div>\
         <div id=\"container-error-place\"></div><div id=\"container-tabs\"></div>",
        Page::Containers.href()
    ));
    let page = Rc::new(ContainerPage {
        root: root.clone(),
        id: id.to_string(),
        state: RefCell::new(State::default()),
        tab: Cell::new(current_tab()),
        part: RefCell::new(None),
        told_running: Cell::new(false),
        commit: RefCell::new(None),
        ticket: Cell::new(0),
    });
    page.draw_head(&page.state.borrow());
    ContainerPage::load(&page);
    let on =
        |target: &web_sys::EventTarget, event: &'static str, f: fn(&Rc<ContainerPage>, Event)| {
            let weak: Weak<ContainerPage> = Rc::downgrade(&page);
            dom::listen(target, event, move |ev| {
                if let Some(p) = weak.upgrade() {
                    f(&p, ev);
                }
            })
        };
    let listeners: [Listener; 2] = [
        on(root, "click", ContainerPage::click),
        on(&dom::window(), "hashchange", |p, _| {
            ContainerPage::hash_changed(p)
        }),
    ];
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if change == Change::Containers
            && let Some(p) = weak.upgrade()
        {
            ContainerPage::load(&p);
            if let Some(Part::Changes(c)) = &*p.part.borrow() {
                changes::Changes::load(c);
            }
        }
    });
    Some(Box::new((page, listeners, watch)))
}
