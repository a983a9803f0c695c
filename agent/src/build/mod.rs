//! Building images from a Dockerfile with the legacy builder's semantics (DESIGN §7).
// The builder and the API route land in the next commits; until then only tests use it.
#![allow(dead_code)]

pub mod context;
pub mod dockerfile;
pub mod ignore;
pub mod pattern;
