//! Image layers: secure extraction of a layer tar into a directory ([`apply`]) and chain IDs
//! ([`chain`]).
//!
//! This module knows nothing of HTTP, registries or the store: the image puller hands it an
//! uncompressed tar stream (having wrapped the download in a decompressor and a digest check)
//! and a fresh staging directory, and gets back statistics or a [`LayerError`].
//!
//! Layer tars are hostile input (DESIGN §5): every check in [`apply`] cites the class of attack
//! it defends against.

// The image puller (this module's caller) lands separately; until then only the tests use it.

pub mod apply;
pub mod chain;
pub mod diff;
pub mod snapshot;

pub use apply::{ApplyOptions, ApplyStats, apply_layer};
pub(crate) use apply::{Limits as TarLimits, TarEntry, TarKind, TarStream};

use std::path::PathBuf;

/// Why a layer could not be applied. Messages name the offending entry as it appears in the tar
/// (e.g. `layer entry "../../etc/passwd" escapes the layer root`).
///
/// Whatever the variant, the destination directory is left half-written: the caller deletes it.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The destination directory could not be opened.
    #[error("opening the layer directory {path:?}: {source}")]
    Dest {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The input stream failed (a decompression or digest error from the caller's reader).
    #[error("reading the layer stream at byte {offset}: {source}")]
    Read { offset: u64, source: std::io::Error },

    /// The stream is not a well-formed tar: bad checksum, bad number, bad PAX record, bad sparse
    /// map, truncated header or data.
    #[error("malformed layer tar at byte {offset}: {reason}")]
    Malformed { offset: u64, reason: String },

    /// An entry that cannot be applied as described: empty or NUL-containing name, unsupported
    /// type, out-of-range owner, empty symlink target, replacing the layer root…
    #[error("layer entry {path:?}: {reason}")]
    InvalidEntry { path: String, reason: String },

    /// A name whose `..` components climb above the layer root.
    #[error("layer entry {path:?} escapes the layer root")]
    Escape { path: String },

    /// A hardlink whose target name climbs above the layer root.
    #[error("hardlink {path:?} points to {target:?}, outside the layer root")]
    HardlinkEscape { path: String, target: String },

    /// A hardlink whose target is not a non-directory created earlier in this layer.
    #[error("hardlink {path:?}: its target {target:?} {reason}")]
    HardlinkTarget {
        path: String,
        target: String,
        reason: String,
    },

    /// A GNU long name/link, PAX header or sparse map larger than
    /// [`ApplyOptions::max_header_bytes`]; refused before it is read.
    #[error("layer entry {path:?}: {what} of {size} bytes exceeds the limit of {limit} bytes")]
    HeaderTooLarge {
        path: String,
        what: &'static str,
        size: u64,
        limit: u64,
    },

    /// More entries than [`ApplyOptions::max_entries`].
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },

    /// File data beyond [`ApplyOptions::max_total_bytes`].
    #[error("layer entry {path:?}: file data would exceed the layer limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },

    /// A filesystem operation failed.
    #[error("layer entry {path:?}: {op}: {source}")]
    Fs {
        path: String,
        op: &'static str,
        source: std::io::Error,
    },
}
