//! The Logs tab: the container's log followed live over the WebSocket (`logs` topic) — the
//! last lines at once, then each line as it is written — with stdout/stderr badges, optional
//! timestamps, a search that keeps the matching lines and marks the matches, follow (stay at
//! the bottom) and a download of what is kept.
//!
//! The lines are written into the DOM directly (appended as they come, rewritten on a new
//! search): thousands of lines stay cheap.

use crate::logview::{self, KEPT};
use crate::socket::Live;
use leptos::html;
use leptos::prelude::*;
use shared::live::LogLine;
use shared::ws::{ServerMessage, Topic};
use std::collections::VecDeque;
use wasm_bindgen::JsCast;

#[component]
pub fn LogsTab(id: String) -> impl IntoView {
    let live = expect_context::<Live>();
    let kept = StoredValue::new(VecDeque::<LogLine>::new());
    let count = RwSignal::new(None::<usize>);
    let query = RwSignal::new(String::new());
    let timestamps = RwSignal::new(false);
    let follow = RwSignal::new(true);
    let pane = NodeRef::<html::Div>::new();

    let scroll = move || {
        if follow.get_untracked()
            && let Some(el) = pane.get_untracked()
        {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // Everything kept, rewritten (a new search, timestamps on or off, a fresh backlog).
    let redraw = move || {
        let Some(el) = pane.get_untracked() else {
            return;
        };
        let (q, t) = (query.get_untracked(), timestamps.get_untracked());
        let html: String = kept.with_value(|lines| {
            lines
                .iter()
                .filter_map(|l| logview::line_html(l, &q, t))
                .collect()
        });
        el.set_inner_html(&html);
        scroll();
    };
    Effect::new(move |_| {
        query.track();
        timestamps.track();
        redraw();
    });

    let name = id.clone();
    live.follow(
        Topic::Logs { container: id },
        move |message| match message {
            // (Re)subscribed: a backlog follows, so start over.
            ServerMessage::Subscribed { .. } => {
                kept.update_value(VecDeque::clear);
                redraw();
            }
            ServerMessage::Logs { lines, .. } => {
                let (q, t) = (query.get_untracked(), timestamps.get_untracked());
                let html: String = lines
                    .iter()
                    .filter_map(|l| logview::line_html(l, &q, t))
                    .collect();
                let overflow = kept
                    .try_update_value(|k| {
                        k.extend(lines.iter().cloned());
                        let extra = k.len().saturating_sub(KEPT);
                        k.drain(..extra);
                        extra > 0
                    })
                    .unwrap_or(false);
                if overflow {
                    redraw();
                } else if let Some(el) = pane.get_untracked() {
                    let _ = el.insert_adjacent_html("beforeend", &html);
                    scroll();
                }
                count.set(Some(kept.with_value(VecDeque::len)));
            }
            _ => {}
        },
    );

    let download = move |_| {
        let text = kept.with_value(|k| logview::download_text(k.iter()));
        save_text(&format!("{name}.log"), &text);
    };
    view! {
        <div class="card">
            <div class="logbar">
                <input
                    id="logs-search"
                    type="search"
                    placeholder="Search the log"
                    autocomplete="off"
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <label><input id="logs-timestamps" type="checkbox" on:change=move |ev| timestamps.set(event_target_checked(&ev))/>" Timestamps"</label>
                <label><input id="logs-follow" type="checkbox" checked on:change=move |ev| {
                    follow.set(event_target_checked(&ev));
                    scroll();
                }/>" Follow"</label>
                <button id="logs-download" class="ghost" on:click=download>"Download"</button>
                <span class="muted" id="logs-count">
                    {move || match count.get() {
                        None => "Loading…".to_string(),
                        Some(0) => "No output yet: lines appear here as the container writes them.".to_string(),
                        Some(n) => format!("{n} lines (live)"),
                    }}
                </span>
            </div>
            <div class="logs" id="logs" node_ref=pane></div>
        </div>
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
    if let Some(a) = document()
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}
