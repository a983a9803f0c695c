//! Secure extraction of one layer tar into a directory.
//!
//! A layer is hostile input (DESIGN §5). The defences, each where it is implemented:
//! - `stream.rs`: the tar is walked by us, the `tar` crate only parsing 512-byte headers, so
//!   that a long name or PAX header is size-checked before it is read, and a PAX `size`
//!   always wins over the ustar one (CVE-2026-33055, CVE-2025-62518).
//! - `path.rs`: names are cleaned lexically; `..` above the root is an error, absolute names
//!   are relative to the root (CVE-2014-9356, CVE-2014-6407).
//! - `resolve.rs`: parent directories are resolved by `openat2(RESOLVE_IN_ROOT)`, so symlinks
//!   made by earlier entries cannot lead a write outside (CVE-2018-15664-class).
//! - `entry.rs`: every creation is `<dir fd> + <name>` with `O_EXCL | O_NOFOLLOW`,
//!   `mkdirat`, `symlinkat`, `linkat`, `mknodat`; hardlink targets must lie in the layer.
//! - `meta.rs`: owner, mode, times through fds or `AT_SYMLINK_NOFOLLOW`, never `chmod` by path
//!   (CVE-2021-32760, CVE-2026-33056).
//! - `xattrs.rs`: an allow-list; no `trusted.overlay.*` from the archive.
//! - `limits.rs`: entries, header bytes and file bytes are bounded (CVE-2017-14992-class).
//!
//! Requires root (or CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE, CAP_MKNOD for whiteouts, and
//! CAP_SYS_ADMIN for `trusted.overlay.opaque`) and Linux ≥ 5.6 for `openat2`.

mod entry;
mod limits;
mod meta;
mod path;
mod pax;
mod remove;
mod resolve;
mod sparse;
mod stream;
mod xattrs;

/// The bounded tar reader, for other readers of hostile tars (the build context).
pub(crate) use stream::{Entry as TarEntry, Kind as TarKind};

#[cfg(test)]
mod bench;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags, openat};

use super::LayerError;
use entry::Extractor;
pub(crate) use limits::Limits;
pub(crate) use stream::TarStream;

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
    /// Refuse whiteout entries (`.wh.*`) instead of applying them: for archives that are
    /// files to copy (a build's COPY and ADD), not layers.
    pub refuse_whiteouts: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            allow_device_nodes: false,
            max_entries: 1_000_000,
            max_header_bytes: 1024 * 1024,
            max_total_bytes: u64::MAX,
            refuse_whiteouts: false,
        }
    }
}

/// What a layer held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Entries seen (extension headers not counted, PAX global headers not counted).
    pub entries: u64,
    /// Regular files written.
    pub files: u64,
    /// Bytes of file data written (sparse files: their data regions, not their holes).
    pub bytes: u64,
    /// Whiteouts and opaque-directory markers.
    pub whiteouts: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes not created because [`ApplyOptions::allow_device_nodes`] is off (and
    /// hardlinks to them).
    pub skipped_devices: u64,
    /// Xattrs refused by policy or unsupported where they were to go.
    pub skipped_xattrs: u64,
}

/// Extracts an UNCOMPRESSED tar stream into `dest` (an existing directory, normally empty: a
/// fresh `layers/<chain-id>/diff` staging directory). The caller decompresses and hashes the
/// stream; this reads it to its end, so the caller's digest covers every byte.
///
/// Whiteouts become overlayfs whiteouts: `.wh.<name>` a 0:0 character device `<name>`,
/// `.wh..wh..opq` the xattr `trusted.overlay.opaque=y` on its directory.
///
/// Nothing is synced: the caller `syncfs`es the layer once, before recording it as present.
/// On error `dest` holds a partial layer and must be deleted by the caller; it is never
/// anything but a partial layer — nothing outside `dest` has been touched.
pub fn apply_layer(
    reader: impl Read,
    dest: &Path,
    options: &ApplyOptions,
) -> Result<ApplyStats, LayerError> {
    let root = openat(
        CWD,
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LayerError::Dest {
        path: dest.to_path_buf(),
        source: e.into(),
    })?;
    let mut extractor = Extractor::new(root, options).map_err(|source| LayerError::Dest {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut stream = TarStream::new(reader, Limits::new(options));
    while let Some(entry) = stream.next_entry()? {
        extractor.apply(&entry, &mut stream)?;
    }
    let stats = extractor.finish()?;
    stream.finish()?;
    Ok(stats)
}
