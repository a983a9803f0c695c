//! Berth's own API under `/berth/v1/`: sessions, tokens, this host's facts, the
//! other hosts and the proxy to them.

pub mod containers;
pub mod host;
pub mod hosts;
pub mod image_copy;
pub mod layers;
pub mod session;
pub mod tokens;
