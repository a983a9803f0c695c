//! The Logs tab: the container's log followed live over the WebSocket (`logs` topic) — the
//! last lines at once, then each line as it is written — with stdout/stderr badges, optional
//! timestamps, a search that keeps the matching lines and marks the matches, follow (stay at
//! the bottom; scrolling up stops it, scrolling back down resumes it) and a download of what
//! is kept.
//!
//! Plain DOM: lines are appended as markup as they come and everything kept is rewritten on
//! a new search, so thousands of lines stay cheap.

use crate::dom::{self, Listener};
use crate::json::Json;
use crate::logview::{self, KEPT};
use shared::live::LogLine;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event};

const SKELETON: &str = "<div class=\"logbar\">\
    <input id=\"logs-search\" type=\"search\" placeholder=\"Search the log\" autocomplete=\"off\">\
    <label><input id=\"logs-timestamps\" type=\"checkbox\"> Timestamps</label>\
    <label><input id=\"logs-follow\" type=\"checkbox\" checked> Follow</label>\
    <button id=\"logs-download\" class=\"ghost\">Download</button>\
    <span class=\"muted\" id=\"logs-count\">Loading…</span></div>\
    <div class=\"logs\" id=\"logs\"></div>";

pub(super) struct Logs {
    name: String,
    root: Element,
    pane: Element,
    kept: RefCell<VecDeque<LogLine>>,
    loaded: std::cell::Cell<bool>,
    _listeners: RefCell<Vec<Listener>>,
}

fn line(l: &Json) -> LogLine {
    LogLine {
        err: l.at("err").bool(),
        time: l.at("time").str(),
        text: l.at("text").str(),
    }
}

impl Logs {
    /// Draws the tab in `body` (the page's `logs` topic then feeds [`Logs::message`]).
    pub(super) fn mount(body: &Element, name: String) -> Option<Rc<Logs>> {
        body.set_inner_html("<div class=\"card\"></div>");
        let root = body.first_element_child()?;
        root.set_inner_html(SKELETON);
        let logs = Rc::new(Logs {
            name,
            pane: dom::find(&root, "#logs")?,
            root,
            kept: RefCell::new(VecDeque::new()),
            loaded: std::cell::Cell::new(false),
            _listeners: RefCell::new(Vec::new()),
        });
        let weak = Rc::downgrade(&logs);
        let on = |event: &'static str, f: fn(&Logs, Event)| {
            let weak = weak.clone();
            dom::listen(&logs.root, event, move |ev| {
                if let Some(l) = weak.upgrade() {
                    f(&l, ev);
                }
            })
        };
        // A scroll does not bubble: the pane's own listener.
        let scrolled = {
            let weak = weak.clone();
            dom::listen(&logs.pane, "scroll", move |_| {
                if let Some(l) = weak.upgrade() {
                    l.scrolled();
                }
            })
        };
        *logs._listeners.borrow_mut() = vec![
            on("input", |l, _| l.redraw()),
            on("change", |l, _| l.redraw()),
            on("click", Logs::click),
            scrolled,
        ];
        Some(logs)
    }

    /// (search, timestamps, follow) as set now.
    fn options(&self) -> (String, bool, bool) {
        (
            dom::value(&self.root, "#logs-search"),
            dom::checked(&self.root, "#logs-timestamps"),
            dom::checked(&self.root, "#logs-follow"),
        )
    }

    fn scroll(&self) {
        if self.options().2 {
            self.pane.set_scroll_top(self.pane.scroll_height());
        }
    }

    /// Scrolling up to read stops following; scrolling back to the end follows again (our
    /// own scrolls only ever go to the end, so they keep following on).
    fn scrolled(&self) {
        let pane = &self.pane;
        let at_end = pane.scroll_top() + pane.client_height() + 4 >= pane.scroll_height();
        if let Some(follow) = dom::find(&self.root, "#logs-follow") {
            dom::set_prop(
                &follow,
                "checked",
                &wasm_bindgen::JsValue::from_bool(at_end),
            );
        }
    }

    fn count(&self) {
        let n = self.kept.borrow().len();
        let text = match (self.loaded.get(), n) {
            (false, _) => "Loading…".to_string(),
            (true, 0) => "No output yet: lines appear here as the container writes them.".into(),
            (true, n) => format!("{n} lines (live)"),
        };
        dom::set_text(&self.root, "#logs-count", &text);
    }

    /// Everything kept, rewritten (a new search, timestamps on or off, a fresh backlog).
    fn redraw(&self) {
        let (q, t, _) = self.options();
        let html: String = self
            .kept
            .borrow()
            .iter()
            .filter_map(|l| logview::line_html(l, &q, t))
            .collect();
        self.pane.set_inner_html(&html);
        self.scroll();
        self.count();
    }

    pub(super) fn message(&self, message: &Json) {
        match message.at("type").str().as_str() {
            // (Re)subscribed: a backlog follows, so start over.
            "subscribed" => {
                self.kept.borrow_mut().clear();
                self.redraw();
            }
            "logs" => {
                self.loaded.set(true);
                let lines: Vec<LogLine> = message.at("lines").list().iter().map(line).collect();
                let (q, t, _) = self.options();
                let html: String = lines
                    .iter()
                    .filter_map(|l| logview::line_html(l, &q, t))
                    .collect();
                let overflow = {
                    let mut kept = self.kept.borrow_mut();
                    kept.extend(lines);
                    let extra = kept.len().saturating_sub(KEPT);
                    kept.drain(..extra);
                    extra > 0
                };
                if overflow {
                    self.redraw();
                } else {
                    let _ = self.pane.insert_adjacent_html("beforeend", &html);
                    self.scroll();
                    self.count();
                }
            }
            _ => {}
        }
    }

    fn click(&self, ev: Event) {
        if dom::closest(&ev, "#logs-download").is_some() {
            let text = logview::download_text(self.kept.borrow().iter());
            save_text(&format!("{}.log", self.name), &text);
        }
    }
}

/// Offers `text` to the browser as a file download named `name`.
pub fn save_text(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = dom::make("<a></a>").and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", name);
        a.click();
    }
    // Revoked once the browser has started the download.
    dom::after(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
}
