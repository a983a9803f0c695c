//! Secure extraction of one layer tar into a directory.
//!
//! This step: reading the tar stream. `stream.rs` walks the tar itself, the `tar` crate only
//! parsing 512-byte headers, so that a long name or PAX header is size-checked before it is
//! read, and a PAX `size` always wins over the ustar one (CVE-2026-33055, CVE-2025-62518);
//! `path.rs` cleans names lexically (CVE-2014-9356, CVE-2014-6407); `limits.rs` bounds
//! entries, header bytes and file bytes (CVE-2017-14992-class).

mod limits;
mod path;
mod pax;
mod sparse;
mod stream;

#[cfg(test)]
mod test_support;

/// Policy and limits for one layer.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Create character and block devices. Off by default: they are skipped (and counted in
    /// [`ApplyStats::skipped_devices`]) with a warning. FIFOs are always created.
    pub allow_device_nodes: bool,
    /// Most entries (files, directories, links, whiteouts, PAX global headers…) in the layer.
    pub max_entries: u64,
    /// Most bytes of extension headers (GNU long names and links, PAX records, sparse maps)
    /// for one entry.
    pub max_header_bytes: u64,
    /// Most bytes of file data in the layer.
    pub max_total_bytes: u64,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            allow_device_nodes: false,
            max_entries: 1_000_000,
            max_header_bytes: 1024 * 1024,
            max_total_bytes: u64::MAX,
        }
    }
}
