//! The content store (DESIGN.md §2): blobs by digest with verified ingest, extracted
//! layers shared by every image on them, and the metadata DB of images, tags and layers.

pub mod blobs;
pub mod digest;
pub mod layer_dirs;
pub mod meta;
pub mod records;

use blobs::BlobStore;
use layer_dirs::LayerDirs;
use meta::MetaDb;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Partial downloads nobody resumed within this time are deleted at start.
const STALE_INGEST: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata database: {0}")]
    Db(String),
    #[error("blob {0} is not in the store")]
    BlobNotFound(String),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

pub struct Store {
    pub root: PathBuf,
    pub blobs: BlobStore,
    pub layers: LayerDirs,
    pub meta: MetaDb,
}

impl Store {
    /// Opens the store under `root` and cleans up after a crash.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let store = Store {
            root: root.to_path_buf(),
            blobs: BlobStore::open(root)?,
            layers: LayerDirs::open(root)?,
            meta: MetaDb::open(&root.join("meta.db"))?,
        };
        let known: Vec<String> = store
            .meta
            .layers()?
            .into_iter()
            .map(|l| l.chain_id)
            .collect();
        let dropped = store.layers.recover(&known)?;
        let stale = store.blobs.collect_stale_ingests(STALE_INGEST)?;
        if dropped + stale > 0 {
            tracing::info!(
                "store recovery: removed {dropped} unfinished layers, {stale} stale downloads"
            );
        }
        Ok(store)
    }
}
