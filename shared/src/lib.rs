//! Types that cross the wire between the Berth agent and its dashboard (and tests).
//!
//! Everything here is plain serde data: no I/O, so the same crate compiles for the
//! agent (x86_64) and for the dashboard (wasm32).

pub mod auth;
pub mod event;
pub mod host;
pub mod hosts;
pub mod layers;
pub mod live;
pub mod ports;
pub mod units;
pub mod ws;

/// The Docker Engine API version Berth advertises.
pub const API_VERSION: &str = "1.43";
/// The oldest Docker Engine API version Berth accepts.
pub const MIN_API_VERSION: &str = "1.24";
/// The newest API prefix served (the docker CLI 28 never asks above it).
pub const MAX_API_VERSION: &str = "1.50";
/// Name of the dashboard's session cookie.
pub const SESSION_COOKIE: &str = "berth_session";
