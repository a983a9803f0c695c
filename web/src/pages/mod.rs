//! One module per page of the dashboard.

pub mod events;
pub mod hosts;
pub mod pending;
pub mod settings;

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
