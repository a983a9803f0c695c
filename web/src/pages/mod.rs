//! One module per page of the dashboard, and what several pages share.

pub mod build;
pub mod container;
pub mod containers;
pub mod dialog;
pub mod events;
pub mod hosts;
pub mod image;
pub mod images;
pub mod layers;
pub mod merged;
pub mod network;
pub mod run;
pub mod settings;
pub mod transfer;

use leptos::prelude::*;
use std::any::Any;
use web_sys::Element;

/// A page drawn as plain DOM, kept while it shows: dropping it removes its listeners,
/// watchers and timers (its markup goes with the element it was drawn in).
pub type Mounted = Box<dyn Any>;

/// Hosts a plain-DOM page (`mount` draws it into the `<section>` given) in the Leptos shell.
pub fn hosted(mount: impl Fn(&Element) -> Option<Mounted> + 'static) -> impl IntoView {
    let node = NodeRef::<leptos::html::Section>::new();
    let page = StoredValue::new_local(None::<Mounted>);
    Effect::new(move |_| {
        if let Some(root) = node.get()
            && page.with_value(Option::is_none)
        {
            page.set_value(mount(&root.into()));
        }
    });
    on_cleanup(move || page.set_value(None));
    view! { <section class="page" node_ref=node></section> }
}

/// Local time minus UTC in seconds, from the browser.
pub(crate) fn local_offset_secs() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64) * 60
}

/// `"2025-11-24 22:46:03"` in the browser's time zone.
pub(crate) fn local_datetime(unix_secs: i64) -> String {
    crate::format::datetime(unix_secs, local_offset_secs())
}

/// `"22:46:03"` in the browser's time zone, for a `Date.now()` value.
pub(crate) fn local_clock(ms: f64) -> String {
    crate::format::clock((ms / 1000.0).floor() as i64, local_offset_secs())
}

/// Now, in Unix seconds (browser clock).
pub(crate) fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

/// Focuses the field `css` under `root` when `/` is pressed outside a form field, until the
/// returned listener is dropped (the filter boxes).
pub(crate) fn slash_focuses(root: &Element, css: &'static str) -> Option<crate::dom::Listener> {
    let root = root.clone();
    let window = web_sys::window()?;
    Some(crate::dom::listen(&window, "keydown", move |ev| {
        let typing = crate::dom::target(&ev)
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if crate::dom::key(&ev) == "/" && !typing {
            ev.prevent_default();
            if let Some(field) = crate::dom::find(&root, css) {
                crate::dom::focus(&field);
            }
        }
    }))
}

/// `["sh","-c","echo hi"]` as docker inspect writes it; "—" when empty.
pub(crate) fn command(args: &[String]) -> String {
    if args.is_empty() {
        "—".to_string()
    } else {
        crate::json::list(args)
    }
}

pub(crate) fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "—".to_string()
    } else {
        s.to_string()
    }
}

/// An RFC 3339 time as `"2025-11-24 22:46:03 (3 minutes ago)"`; "—" for Docker's zero time
/// (`0001-01-01T00:00:00Z`, "never"), the text itself when unreadable.
pub(crate) fn when(rfc3339: &str, now: i64) -> String {
    if rfc3339.starts_with("0001-") {
        return "—".to_string();
    }
    match crate::format::parse_rfc3339(rfc3339) {
        Some(t) => format!("{} ({})", local_datetime(t), crate::format::ago(t, now)),
        None => or_dash(rfc3339),
    }
}
