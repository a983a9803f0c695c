//! Berth's own API under `/berth/v1/`: sessions, tokens, this host's facts.

pub mod containers;
pub mod host;
pub mod layers;
pub mod session;
pub mod tokens;
