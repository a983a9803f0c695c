//! Blobs by digest under `blobs/sha256/<hex>`: compressed layers, configs, manifests.
//!
//! The only way in is through an ingest (`ingest/<key>/data`) whose digest is verified
//! before it is renamed into place, so a blob path always holds exactly its digest's
//! bytes. A download killed half-way stays in `ingest/` and is resumed from its length.

use super::StoreError;
use super::digest::Digest;
use crate::util::atomic_file::write_atomic;
use sha2::{Digest as _, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub struct BlobStore {
    dir: PathBuf,
    ingest_dir: PathBuf,
}

impl BlobStore {
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let store = BlobStore {
            dir: root.join("blobs/sha256"),
            ingest_dir: root.join("ingest"),
        };
        for dir in [&store.dir, &store.ingest_dir] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        }
        Ok(store)
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let path = self.path(digest);
        fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::BlobNotFound(digest.to_string()),
            _ => StoreError::io("read", &path, e),
        })
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::BlobNotFound(digest.to_string()),
            _ => StoreError::io("open", &path, e),
        })
    }

    /// Stores small bytes (a manifest, a config) and returns their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        let path = self.path(&digest);
        if !path.exists() {
            write_atomic(&path, bytes, 0o644).map_err(|e| StoreError::io("write", &path, e))?;
        }
        Ok(digest)
    }

    /// Stores bytes that must have the digest `expected`.
    pub fn put_verified(&self, bytes: &[u8], expected: &Digest) -> Result<(), StoreError> {
        let actual = Digest::of(bytes);
        if &actual != expected {
            return Err(StoreError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        self.put(bytes).map(|_| ())
    }

    pub fn remove(&self, digest: &Digest) -> Result<(), StoreError> {
        let path = self.path(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", &path, e)),
        }
    }

    /// Opens (or resumes) the ingest of the blob `expected`.
    pub fn ingest(&self, expected: &Digest) -> Result<Ingest, StoreError> {
        Ingest::open(self.ingest_dir.join(expected.hex()), Some(expected.clone()))
    }

    /// Starts the ingest of a blob whose digest is known only at the end (an upload).
    pub fn ingest_new(&self) -> Result<Ingest, StoreError> {
        let name = crate::util::random::hex_secret(8)
            .map_err(|e| StoreError::io("random", &self.ingest_dir, e))?;
        Ingest::open(self.ingest_dir.join(format!("upload-{name}")), None)
    }

    /// Removes partial downloads nobody resumed for `older_than`.
    pub fn collect_stale_ingests(&self, older_than: Duration) -> Result<usize, StoreError> {
        let entries = fs::read_dir(&self.ingest_dir)
            .map_err(|e| StoreError::io("list", &self.ingest_dir, e))?;
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(now);
            if now.duration_since(modified).unwrap_or_default() > older_than {
                let _ = fs::remove_dir_all(entry.path());
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every blob present, for garbage collection and `system df`.
    pub fn list(&self) -> Result<Vec<(Digest, u64)>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| StoreError::io("list", &self.dir, e))?;
        Ok(entries
            .flatten()
            .filter_map(|e| {
                let digest = Digest::parse(&format!("sha256:{}", e.file_name().to_str()?)).ok()?;
                Some((digest, e.metadata().ok()?.len()))
            })
            .collect())
    }
}

/// A blob being written. Bytes are hashed as they arrive; `commit` verifies and moves
/// the file into the store.
pub struct Ingest {
    dir: PathBuf,
    file: File,
    hasher: Sha256,
    written: u64,
    expected: Option<Digest>,
}

impl Ingest {
    fn open(dir: PathBuf, expected: Option<Digest>) -> Result<Self, StoreError> {
        fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        let path = dir.join("data");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| StoreError::io("open", &path, e))?;
        // Resume: re-hash what an earlier, interrupted download left.
        let mut hasher = Sha256::new();
        file.seek(SeekFrom::Start(0))
            .map_err(|e| StoreError::io("seek", &path, e))?;
        let written = io::copy(&mut (&mut file).take(u64::MAX), &mut HashSink(&mut hasher))
            .map_err(|e| StoreError::io("read", &path, e))?;
        Ok(Ingest {
            dir,
            file,
            hasher,
            written,
            expected,
        })
    }

    /// The digest of the bytes written so far.
    pub fn digest(&self) -> Digest {
        Digest::from_hasher(self.hasher.clone())
    }

    /// Bytes already present (the offset to resume a download from).
    pub fn offset(&self) -> u64 {
        self.written
    }

    /// A reader over the bytes already present, to replay them through a decoder.
    pub fn replay(&self) -> Result<impl Read + use<>, StoreError> {
        let path = self.dir.join("data");
        let file = File::open(&path).map_err(|e| StoreError::io("open", &path, e))?;
        Ok(file.take(self.written))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all(bytes)
            .map_err(|e| StoreError::io("write", &self.dir, e))?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Verifies the digest (and size, if known) and moves the blob into `store`;
    /// returns its digest. On a mismatch the partial data is deleted: it can never
    /// become right.
    pub fn commit(
        self,
        store: &BlobStore,
        expected_size: Option<u64>,
    ) -> Result<Digest, StoreError> {
        let actual = Digest::from_hasher(self.hasher.clone());
        let size_ok = expected_size.is_none_or(|s| s == self.written);
        let expected = self.expected.clone().unwrap_or_else(|| actual.clone());
        if actual != expected || !size_ok {
            let _ = fs::remove_dir_all(&self.dir);
            return Err(StoreError::DigestMismatch {
                expected: match expected_size {
                    Some(size) => format!("{expected} ({size} bytes)"),
                    None => expected.to_string(),
                },
                actual: format!("{actual} ({} bytes)", self.written),
            });
        }
        self.file
            .sync_all()
            .map_err(|e| StoreError::io("sync", &self.dir, e))?;
        let target = store.path(&expected);
        fs::rename(self.dir.join("data"), &target)
            .map_err(|e| StoreError::io("rename into", &target, e))?;
        File::open(&store.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("sync", &store.dir, e))?;
        let _ = fs::remove_dir_all(&self.dir);
        Ok(expected)
    }

    /// Gives up but keeps the partial data for a later resume.
    pub fn suspend(self) {}

    /// Gives up and deletes the partial data.
    pub fn discard(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(tag: &str) -> (PathBuf, BlobStore) {
        let root = std::env::temp_dir().join(format!("berth-blobs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let store = BlobStore::open(&root).unwrap();
        (root, store)
    }

    #[test]
    fn ingest_verifies_and_resumes() {
        let (root, store) = store("ingest");
        let data = b"hello layer bytes".to_vec();
        let digest = Digest::of(&data);
        let mut first = store.ingest(&digest).unwrap();
        first.write_all(&data[..5]).unwrap();
        first.suspend();
        assert!(!store.path(&digest).exists(), "not visible before commit");
        let mut resumed = store.ingest(&digest).unwrap();
        assert_eq!(resumed.offset(), 5);
        let mut replayed = Vec::new();
        resumed
            .replay()
            .unwrap()
            .read_to_end(&mut replayed)
            .unwrap();
        assert_eq!(replayed, &data[..5]);
        resumed.write_all(&data[5..]).unwrap();
        assert_eq!(
            resumed.commit(&store, Some(data.len() as u64)).unwrap(),
            digest
        );
        assert_eq!(store.read(&digest).unwrap(), data);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_mismatch_stores_nothing() {
        let (root, store) = store("mismatch");
        let digest = Digest::of(b"the real bytes");
        let mut ingest = store.ingest(&digest).unwrap();
        ingest.write_all(b"other bytes").unwrap();
        let err = ingest.commit(&store, None).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }));
        assert!(!store.path(&digest).exists());
        assert_eq!(store.ingest(&digest).unwrap().offset(), 0);
        assert!(store.put_verified(b"x", &digest).is_err());
        fs::remove_dir_all(root).unwrap();
    }
}
