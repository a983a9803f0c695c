//! A small JSON list kept in one file, cached in memory and re-read when another
//! process replaces the file.

use super::AuthError;
use super::file_lock::FileLock;
use crate::util::atomic_file::write_atomic;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// What identifies one version of the file: every write renames a new inode into place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stamp {
    dev: u64,
    ino: u64,
    mtime_ns: i64,
    len: u64,
}

struct Cached<T> {
    stamp: Option<Stamp>,
    items: Arc<Vec<T>>,
}

pub(crate) struct JsonFile<T> {
    path: PathBuf,
    lock_path: PathBuf,
    cache: Mutex<Cached<T>>,
}

impl<T: Serialize + DeserializeOwned> JsonFile<T> {
    pub(crate) fn new(path: PathBuf, lock_path: PathBuf) -> Self {
        JsonFile {
            path,
            lock_path,
            cache: Mutex::new(Cached {
                stamp: None,
                items: Arc::new(Vec::new()),
            }),
        }
    }

    fn cache(&self) -> MutexGuard<'_, Cached<T>> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stamp(path: &Path) -> Result<Option<Stamp>, AuthError> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(Stamp {
                dev: m.dev(),
                ino: m.ino(),
                mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                len: m.len(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuthError::io("stat", path, e)),
        }
    }

    fn load(path: &Path) -> Result<Vec<T>, AuthError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| AuthError::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(AuthError::io("read", path, e)),
        }
    }

    /// The current list, re-read only if the file changed since last time.
    pub(crate) fn read(&self) -> Result<Arc<Vec<T>>, AuthError> {
        let stamp = Self::stamp(&self.path)?;
        let mut cache = self.cache();
        if cache.stamp != stamp || stamp.is_none() {
            cache.items = Arc::new(Self::load(&self.path)?);
            cache.stamp = stamp;
        }
        Ok(cache.items.clone())
    }

    /// Read-modify-write under the cross-process lock.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut Vec<T>) -> R) -> Result<R, AuthError> {
        let _lock = FileLock::acquire(&self.lock_path)?;
        let mut items = Self::load(&self.path)?;
        let result = change(&mut items);
        let bytes = serde_json::to_vec_pretty(&items).map_err(|source| AuthError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        write_atomic(&self.path, &bytes, 0o600)
            .map_err(|e| AuthError::io("write", &self.path, e))?;
        let stamp = Self::stamp(&self.path)?;
        let mut cache = self.cache();
        cache.items = Arc::new(items);
        cache.stamp = stamp;
        Ok(result)
    }
}
