//! One module per page of the dashboard, and what several pages share.

pub mod events;
pub mod hosts;
pub mod image;
pub mod images;
pub mod layers;
pub mod pending;
pub mod settings;

use crate::socket::Live;
use leptos::prelude::*;

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

/// Runs `load` now and again on every `image` event (and after a reconnect): the Images,
/// Image and Layers pages follow the engine without polling.
pub(crate) fn on_image_changes(load: impl Fn() + 'static) {
    let live = expect_context::<Live>();
    Effect::new(move |_| {
        live.image_changes.track();
        load();
    });
}

/// Numbers the loads of a page so that only the newest answer is shown: two events in a row
/// start two requests, and the older answer may arrive last.
#[derive(Clone, Copy)]
pub(crate) struct Latest(StoredValue<u64>);

impl Latest {
    pub fn new() -> Self {
        Latest(StoredValue::new(0))
    }

    /// A ticket for a new load.
    pub fn next(self) -> u64 {
        self.0.update_value(|n| *n += 1);
        self.0.get_value()
    }

    /// Whether `ticket` is still the newest (false also once the page is gone).
    pub fn is(self, ticket: u64) -> bool {
        self.0.try_get_value() == Some(ticket)
    }
}
