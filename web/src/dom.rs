//! A few plain DOM helpers for the parts of pages that keep their own state and draw
//! themselves (the console, the containers table, the dialogs): listeners that go away with
//! their owner, lookups under a root, form values. Code written this way costs far less wasm
//! than a reactive view per shape, which matters for the bundle's budget.

use js_sys::Reflect;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, EventTarget};

/// State shared by a part's handlers.
pub type Shared<T> = Rc<RefCell<T>>;

/// An event listener, removed when dropped.
pub struct Listener {
    target: EventTarget,
    event: &'static str,
    closure: Closure<dyn FnMut(Event)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
    }
}

/// Calls `f` for every `event` on `target` until the returned listener is dropped.
pub fn listen(
    target: &EventTarget,
    event: &'static str,
    f: impl FnMut(Event) + 'static,
) -> Listener {
    let closure = Closure::<dyn FnMut(Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    Listener {
        target: target.clone(),
        event,
        closure,
    }
}

pub fn find(root: &Element, css: &str) -> Option<Element> {
    root.query_selector(css).ok().flatten()
}

pub fn all(root: &Element, css: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(css) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

pub fn prop(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn set_prop(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// The value of the field `css` under `root` ("" when missing).
pub fn value(root: &Element, css: &str) -> String {
    find(root, css)
        .and_then(|el| prop(&el, "value").as_string())
        .unwrap_or_default()
}

pub fn checked(root: &Element, css: &str) -> bool {
    find(root, css).is_some_and(|el| prop(&el, "checked").is_truthy())
}

/// The element an event happened on.
pub fn target(ev: &Event) -> Option<Element> {
    ev.target()?.dyn_into::<Element>().ok()
}

/// The nearest element matching `css` around (or at) where `ev` happened.
pub fn closest(ev: &Event, css: &str) -> Option<Element> {
    target(ev)?.closest(css).ok().flatten()
}

/// The `KeyboardEvent.key` of a key event ("" for others).
pub fn key(ev: &Event) -> String {
    prop(ev, "key").as_string().unwrap_or_default()
}

pub fn set_html(root: &Element, css: &str, html: &str) {
    if let Some(el) = find(root, css) {
        el.set_inner_html(html);
    }
}

pub fn set_text(root: &Element, css: &str, text: &str) {
    if let Some(el) = find(root, css) {
        el.set_text_content(Some(text));
    }
}

/// Shows or hides `el` (the `hidden` attribute).
pub fn show(el: &Element, shown: bool) {
    let _ = if shown {
        el.remove_attribute("hidden")
    } else {
        el.set_attribute("hidden", "")
    };
}

pub fn focus(el: &Element) {
    if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
        let _ = el.focus();
    }
}

pub fn document() -> web_sys::Document {
    leptos::prelude::document()
}

/// A detached element made from `html` (its first element).
pub fn make(html: &str) -> Option<Element> {
    let holder = document().create_element("div").ok()?;
    holder.set_inner_html(html);
    holder.first_element_child()
}

/// A repeating timer, stopped when dropped.
pub struct Interval {
    id: i32,
    _closure: Closure<dyn FnMut()>,
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// Calls `f` every `ms` milliseconds until the returned timer is dropped.
pub fn every(ms: i32, f: impl FnMut() + 'static) -> Option<Interval> {
    let closure = Closure::<dyn FnMut()>::new(f);
    let id = web_sys::window()?
        .set_interval_with_callback_and_timeout_and_arguments_0(
            closure.as_ref().unchecked_ref(),
            ms,
        )
        .ok()?;
    Some(Interval {
        id,
        _closure: closure,
    })
}

/// Calls `f` once after `ms` milliseconds.
pub fn after(ms: i32, f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms);
    }
}

/// The browser's window (always there in a page).
pub fn window() -> web_sys::Window {
    web_sys::window().expect("the dashboard runs in a browser window")
}

/// Sets `location.hash`: goes to another page of the dashboard.
pub fn go(hash: &str) {
    let _ = window().location().set_hash(hash);
}

/// Puts `<p class="error" id=…>` with `message` in the element `place` under `root`, or
/// empties the place: an error shows only while there is one (as the tests expect).
pub fn error_at(root: &Element, place: &str, id: &str, message: Option<&str>) {
    let html = message.map_or_else(String::new, |m| {
        format!("<p class=\"error\" id=\"{id}\">{}</p>", crate::html::esc(m))
    });
    set_html(root, place, &html);
}
