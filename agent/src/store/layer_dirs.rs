//! Extracted layers on disk: `layers/<chain-id hex>/diff`, read-only once in place.
//! A layer is unpacked into `layers/.staging/<random>/diff` and renamed into place only
//! after its digests verified, so a half-extracted layer is never seen.

use super::StoreError;
use super::digest::Digest;
use crate::util::random::hex_secret;
use std::fs;
use std::path::{Path, PathBuf};

pub struct LayerDirs {
    dir: PathBuf,
    staging: PathBuf,
}

/// A layer being unpacked. Dropped without `commit`, it is deleted.
pub struct StagedLayer {
    dir: PathBuf,
    committed: bool,
}

impl StagedLayer {
    /// Where the layer's files go.
    pub fn diff(&self) -> PathBuf {
        self.dir.join("diff")
    }
}

impl Drop for StagedLayer {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl LayerDirs {
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dirs = LayerDirs {
            dir: root.join("layers"),
            staging: root.join("layers/.staging"),
        };
        fs::create_dir_all(&dirs.staging)
            .map_err(|e| StoreError::io("create", &dirs.staging, e))?;
        Ok(dirs)
    }

    /// `layers/<hex>/diff` of a chain ID.
    pub fn diff(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex()).join("diff")
    }

    pub fn stage(&self) -> Result<StagedLayer, StoreError> {
        let name = hex_secret(8).map_err(|e| StoreError::io("random", &self.staging, e))?;
        let dir = self.staging.join(name);
        let diff = dir.join("diff");
        fs::create_dir_all(&diff).map_err(|e| StoreError::io("create", &diff, e))?;
        Ok(StagedLayer {
            dir,
            committed: false,
        })
    }

    /// Flushes the staged files to disk once (one syncfs, not an fsync per file) and
    /// moves the layer into place. If another pull got there first, keeps theirs.
    pub fn commit(&self, mut staged: StagedLayer, chain_id: &Digest) -> Result<(), StoreError> {
        let target = self.dir.join(chain_id.hex());
        if let Ok(dir) = fs::File::open(&staged.dir) {
            let _ = rustix::fs::syncfs(&dir);
        }
        match fs::rename(&staged.dir, &target) {
            Ok(()) => {
                staged.committed = true;
                Ok(())
            }
            Err(_) if target.join("diff").is_dir() => Ok(()),
            Err(e) => Err(StoreError::io("move layer into", &target, e)),
        }
    }

    pub fn remove(&self, chain_id: &Digest) -> Result<(), StoreError> {
        let dir = self.dir.join(chain_id.hex());
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", &dir, e)),
        }
    }

    /// After a crash: drops half-extracted layers, and layer dirs that no record names
    /// (a kill between the rename and the DB commit).
    pub fn recover(&self, known: &[String]) -> Result<usize, StoreError> {
        let mut removed = 0;
        if let Ok(entries) = fs::read_dir(&self.staging) {
            for entry in entries.flatten() {
                let _ = fs::remove_dir_all(entry.path());
                removed += 1;
            }
        }
        let entries = fs::read_dir(&self.dir).map_err(|e| StoreError::io("list", &self.dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let chain_id = format!("sha256:{name}");
            if !known.contains(&chain_id) {
                let _ = fs::remove_dir_all(entry.path());
                removed += 1;
            }
        }
        Ok(removed)
    }
}
