//! Events: every host's events as they arrive on the socket, newest first, with filters
//! by type, host and free text (action, object ID, name or any attribute; `/` focuses it).
//! Plain DOM: the table (at most [`EVENTS_KEPT`] rows) is redrawn on each event or filter
//! change.

use super::{Mounted, local_clock, local_datetime};
use crate::app;
use crate::dom;
use crate::format;
use crate::html::esc;
use crate::socket::{EVENTS_KEPT, Received};
use crate::watch::{self, Change};
use shared::event::Event;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;
use web_sys::Element;

fn event_row(out: &mut String, r: &Received) {
    let e = &r.event;
    let _ = write!(
        out,
        "<tr data-seq=\"{}\"><td class=\"shrink\">{}</td><td class=\"shrink host\">{}</td>\
         <td class=\"shrink\">{}</td><td class=\"shrink action\">{}</td>\
         <td class=\"shrink mono\" title=\"{}\">{}</td><td class=\"attrs\">{}</td></tr>",
        r.seq,
        local_datetime(e.time),
        esc(e.host.as_deref().unwrap_or_default()),
        esc(&e.kind),
        esc(&e.action),
        esc(&e.actor.id),
        esc(format::short_id(&e.actor.id)),
        esc(&format::attributes(&e.actor.attributes)),
    );
}

/// Whether the event passes the filters: its type and host (empty: any), and every word of
/// `text` found in its action, object ID or an attribute (case-insensitive).
pub fn matches(e: &Event, kind: &str, host: &str, text: &str) -> bool {
    if !kind.is_empty() && e.kind != kind {
        return false;
    }
    if !host.is_empty() && e.host.as_deref().unwrap_or_default() != host {
        return false;
    }
    let haystack = format!(
        "{} {} {}",
        e.action,
        e.actor.id,
        format::attributes(&e.actor.attributes)
    );
    format::contains_words(&haystack, text)
}

/// The distinct values of `field` among the events, sorted.
fn choices<'a>(
    list: impl IntoIterator<Item = &'a Received>,
    field: impl Fn(&Event) -> String,
) -> Vec<String> {
    let mut out: Vec<String> = list.into_iter().map(|r| field(&r.event)).collect();
    out.retain(|v| !v.is_empty());
    out.sort();
    out.dedup();
    out
}

const SKELETON: &str = "<h1>Events<span class=\"sub\" id=\"events-count\"></span></h1>\
    <div class=\"filters\"><input id=\"events-filter\" placeholder=\"Filter: action, ID, name, image… (press /)\" \
    autocomplete=\"off\" spellcheck=\"false\">\
    <select id=\"events-type\"><option value=\"\">every type</option></select>\
    <select id=\"events-host\"><option value=\"\">every host</option></select></div>\
    <div class=\"card flush\"><table class=\"list\" id=\"events\"><thead><tr><th>Time</th><th>Host</th>\
    <th>Type</th><th>Action</th><th>Object</th><th>Attributes</th></tr></thead><tbody></tbody></table>\
    <div id=\"events-note\"></div></div>";

struct EventsPage {
    root: Element,
    /// The options each select shows now (redrawn only when they change).
    options: RefCell<[Vec<String>; 2]>,
}

impl EventsPage {
    fn draw(&self) {
        let root = &self.root;
        let (kind, host, text) = (
            dom::value(root, "#events-type"),
            dom::value(root, "#events-host"),
            dom::value(root, "#events-filter"),
        );
        let (rows, shown, all, kinds, hosts) = app::live().with_events(|list| {
            let mut rows = String::new();
            let mut shown = 0;
            for r in list
                .iter()
                .filter(|r| matches(&r.event, &kind, &host, &text))
            {
                event_row(&mut rows, r);
                shown += 1;
            }
            let kinds = choices(list, |e| e.kind.clone());
            let hosts = choices(list, |e| e.host.clone().unwrap_or_default());
            (rows, shown, list.len(), kinds, hosts)
        });
        dom::set_html(root, "tbody", &rows);
        let count = if shown == all {
            format!("{all} shown, newest first (the last {EVENTS_KEPT} are kept)")
        } else {
            format!("{shown} of {all} shown, newest first (the last {EVENTS_KEPT} are kept)")
        };
        dom::set_text(root, "#events-count", &count);
        self.options(0, "#events-type", "every type", kinds, &kind);
        self.options(1, "#events-host", "every host", hosts, &host);
        let note = if all == 0 {
            let since = app::live()
                .started()
                .map(|t| format!(" (listening since {})", local_clock(t)))
                .unwrap_or_default();
            format!(
                "<p class=\"empty-row muted\" id=\"events-empty\">No events yet. They appear here live \
                 as the engine changes state{since}.</p>"
            )
        } else if shown == 0 {
            "<p class=\"empty-row muted\" id=\"events-none-match\">No event matches the filters.</p>"
                .to_string()
        } else {
            String::new()
        };
        dom::set_html(root, "#events-note", &note);
    }

    /// Puts `choices` in select `css` (after "any") when they changed, keeping `current`.
    fn options(&self, slot: usize, css: &str, any: &str, choices: Vec<String>, current: &str) {
        if self.options.borrow()[slot] == choices {
            return;
        }
        let Some(select) = dom::find(&self.root, css) else {
            return;
        };
        let mut html = format!("<option value=\"\">{any}</option>");
        for c in &choices {
            let _ = write!(html, "<option value=\"{0}\">{0}</option>", esc(c));
        }
        select.set_inner_html(&html);
        dom::set_prop(&select, "value", &current.into());
        self.options.borrow_mut()[slot] = choices;
    }
}

pub fn mount(root: &Element) -> Option<Mounted> {
    root.set_inner_html(SKELETON);
    let page = Rc::new(EventsPage {
        root: root.clone(),
        options: RefCell::new([Vec::new(), Vec::new()]),
    });
    page.draw();
    let redraw = |weak: std::rc::Weak<EventsPage>| {
        move |_| {
            if let Some(p) = weak.upgrade() {
                p.draw();
            }
        }
    };
    let weak = Rc::downgrade(&page);
    let watch = watch::watch(move |change| {
        if matches!(change, Change::Events | Change::Socket)
            && let Some(p) = weak.upgrade()
        {
            p.draw();
        }
    });
    let input = dom::listen(root, "input", redraw(Rc::downgrade(&page)));
    let change = dom::listen(root, "change", redraw(Rc::downgrade(&page)));
    let slash = super::slash_focuses(root, "#events-filter");
    Some(Box::new((page, watch, input, change, slash)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::event::Actor;
    use std::collections::BTreeMap;

    fn event(kind: &str, action: &str, name: &str, host: Option<&str>) -> Event {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), name.to_string());
        let mut e = Event::at(
            0,
            kind,
            action,
            Actor {
                id: "abc123".into(),
                attributes,
            },
        );
        e.host = host.map(str::to_string);
        e
    }

    #[test]
    fn filters_by_type_host_and_words() {
        let e = event("container", "start", "web", Some("a"));
        assert!(matches(&e, "", "", ""));
        assert!(matches(&e, "container", "a", "WEB start"));
        assert!(matches(&e, "", "", "abc1"));
        assert!(!matches(&e, "image", "", ""));
        assert!(!matches(&e, "", "b", ""));
        assert!(!matches(&e, "", "", "web stop"));
        assert!(!matches(&event("image", "pull", "x", None), "", "a", ""));
    }
}
