//! Berth dashboard: a Leptos client-side app, compiled to wasm32 by `agent/build.rs` and
//! served by the agent from `/`.
//!
//! - [`api`]: the `/berth/v1` HTTP calls (session cookie, tokens).
//! - [`socket`]: the one WebSocket, `/berth/v1/ws`, shared by every page.
//! - [`tasks`]: pulls and pushes that outlive the page that started them.
//! - [`app`]: session check, login view, header and navigation.
//! - [`pages`]: one module per page.
//! - [`docker`]: the Docker API's image and container answers, as the dashboard reads them.
//! - [`json`]: Docker's and the agent's JSON read through the browser (no typed reader per
//!   shape); [`dom`]: plain DOM helpers for the parts that draw themselves.
//! - [`format`], [`route`], [`progress`], [`layout`], [`graph_query`], [`logview`], [`term`],
//!   [`table`], [`runform`], [`chart`], [`html`], [`build_log`], [`tar`]: pure helpers,
//!   unit-tested on the host.

pub mod api;
pub mod app;
pub mod build_log;
pub mod chart;
pub mod docker;
pub mod dom;
pub mod format;
pub mod graph_query;
pub mod html;
pub mod json;
pub mod layout;
pub mod logview;
pub mod pages;
pub mod progress;
pub mod read;
pub mod route;
pub mod runform;
pub mod socket;
pub mod table;
pub mod tar;
pub mod tasks;
pub mod term;
pub mod watch;

use wasm_bindgen::prelude::*;

/// Entry point: wasm-bindgen runs it when `index.html` calls `init`.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // index.html shows "Loading…" until the app is there.
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
