//! A client for the OCI distribution spec (what `docker pull`/`push` speak to registries).
//!
//! It knows nothing of the content store or of HTTP serving: it fetches manifests and blobs
//! and checks them (size caps, sha256 against the digest asked for and the one the registry
//! announces), and uploads blobs and manifests. The image puller/pusher orchestrates it.
//!
//! - [`RegistryClient`]: requests, auth (anonymous, Basic, Bearer tokens, identity and
//!   registry tokens; see `auth.rs` for what is covered), retries of idempotent requests.
//! - [`BlobStream`]: a blob body chunk by chunk, from any offset, verified at its end.
//! - [`parse_manifest`], [`pick_platform`]: strict parsing of manifests and indexes.
//!
//! Why our own client on `reqwest` and not `oci-client` (DESIGN §11 allows either): the puller
//! streams a blob straight into hash + decompress + extract and resumes with `Range`, and the
//! API passes credentials per request (`X-Registry-Auth`). `oci-client` keeps credentials per
//! registry in the client and caches tokens per (registry, repository, operation), not per
//! caller; it leaves a resumed (206) download unverified and hands a 200 answer to a Range
//! request back without skipping; it has no identity-token (refresh) flow and no upload
//! progress; and it brings reqwest 0.13 next to the 0.12 the workspace already builds.

// The client's whole surface is exported and exercised by its tests; the image service uses
// part of it (it verifies resumed downloads in its own ingest, so `with_prefix` and the
// position getters are the tests' alone, as are the in-memory upload sources).
#![cfg_attr(not(test), allow(dead_code, unused_imports))]

mod auth;
mod blob;
mod client;
mod digest;
mod error;
mod manifest;
mod repository;
mod upload;

#[cfg(test)]
mod tests;

pub use auth::{Credentials, credentials_from_header};
pub use blob::BlobStream;
pub use client::{RegistryClient, RegistryConfig};
pub use digest::sha256_digest;
pub use error::RegistryError;
pub use manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, LayerCompression, OCI_CONFIG, OCI_INDEX,
    OCI_MANIFEST, ParsedManifest, parse_manifest, pick_platform,
};
pub use repository::Repository;
pub use upload::BlobSource;
