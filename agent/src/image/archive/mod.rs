//! Image archives: `docker save` / `docker load` tars (OCI layout plus Docker's
//! `manifest.json`), and `docker import` of a root filesystem tar.

pub mod oci;
pub mod save;
