//! A container record's file, `containers/<id>/container.json`: written at once for the
//! agent's own readers, made durable soon after by one background thread.
//!
//! A record changes several times per `docker run` (created, running, exited). Each change
//! is written at once with a rename (atomic: an agent killed at any instant finds the
//! newest state, or the one before) — unless the flusher is writing this file durably at
//! that moment; it then writes these bytes next. Durability — temp file, fsync, rename, fsync of the
//! directory, and of `containers/` for a new container — is the [`Flusher`]'s job: it
//! rewrites the newest state durably, coalescing changes that come faster than the disk.
//! So no API answer waits for the disk (an fsync here costs 0.5–4 ms, and a synced file
//! later costs a synchronous discard when it is deleted), and a host crash loses at most
//! the last few milliseconds of changes, never a record's consistency: the flusher's
//! rename and directory fsync never overlap a quick write's rename.

use crate::util::atomic_file::{write_atomic, write_replace};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub const RECORD_FILE: &str = "container.json";

/// One record file and what the flusher still has to make durable.
pub struct RecordFile {
    dir: PathBuf,
    /// Held by every rename of the file; the flusher holds it across its whole durable
    /// write, so its directory fsync never makes a quick (unsynced) rename durable.
    disk: Mutex<Disk>,
    /// The newest bytes not yet durable (`Some` = queued with the flusher).
    pending: Mutex<Option<Vec<u8>>>,
    /// The container is being removed: write nothing more. Not under `disk`, so a removal
    /// never waits for a durable write in progress (that write then fails harmlessly on
    /// the moved directory's old path).
    gone: AtomicBool,
}

struct Disk {
    /// `containers/` holds the container directory durably (false for a new container).
    listed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RecordFile {
    /// `listed`: the directory is already durably in `containers/` (a recovered container).
    pub fn new(dir: &Path, listed: bool) -> Arc<RecordFile> {
        Arc::new(RecordFile {
            dir: dir.to_path_buf(),
            disk: Mutex::new(Disk { listed }),
            pending: Mutex::new(None),
            gone: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(RECORD_FILE)
    }

    /// Writes `bytes` now (not durable yet) and queues the durable write. The caller
    /// holds the record's lock, so writes reach here in order. When the flusher is busy
    /// with this file the quick write is skipped: the flusher writes these bytes next.
    pub fn write(self: &Arc<Self>, bytes: Vec<u8>) -> io::Result<()> {
        if self.gone.load(Ordering::Acquire) {
            return Ok(());
        }
        let disk = self.disk.try_lock();
        let written = match &disk {
            Ok(_) => write_file(&self.dir, &bytes, false),
            Err(_) => Ok(()),
        };
        // Still holding the file (when the quick write was made): the flusher, which takes
        // the pending bytes under the same lock, must not find older bytes than the file
        // now holds and write them over it.
        let queue = lock(&self.pending).replace(bytes).is_none();
        drop(disk);
        if queue {
            Flusher::get().queue(self.clone());
        }
        written
    }

    /// No write after this one, queued or not (the directory is about to be removed).
    pub fn close(&self) {
        self.gone.store(true, Ordering::Release);
        lock(&self.pending).take();
    }

    /// The flusher's part: the newest pending bytes, durably.
    fn flush(&self) {
        let mut disk = lock(&self.disk);
        let Some(bytes) = lock(&self.pending).take() else {
            return;
        };
        if self.gone.load(Ordering::Acquire) {
            return;
        }
        let mut result = write_file(&self.dir, &bytes, true);
        if result.is_ok() && !disk.listed {
            result = sync_dir(self.dir.parent().unwrap_or(Path::new("/")));
            disk.listed = result.is_ok();
        }
        if let Err(e) = result
            && !self.gone.load(Ordering::Acquire)
        {
            tracing::warn!("{}: record not made durable: {e}", self.path().display());
        }
    }

    /// Waits until every write queued so far is durable.
    #[cfg(test)]
    pub fn sync(&self) {
        self.flush();
    }
}

/// Replaces `dir/container.json` with `bytes` through a temp file and a rename; `durable`
/// adds the fsyncs of the file and of `dir`.
fn write_file(dir: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let path = dir.join(RECORD_FILE);
    if durable {
        write_atomic(&path, bytes, 0o600)
    } else {
        write_replace(&path, bytes, 0o600)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The one background thread that makes record writes durable, in the order queued.
pub struct Flusher {
    queue: Mutex<Sender<Arc<RecordFile>>>,
}

impl Flusher {
    fn get() -> &'static Flusher {
        static FLUSHER: OnceLock<Flusher> = OnceLock::new();
        FLUSHER.get_or_init(|| {
            let (tx, rx) = channel();
            let spawned = std::thread::Builder::new()
                .name("record-flusher".into())
                .stack_size(256 * 1024)
                .spawn(move || Flusher::run(rx));
            if let Err(e) = spawned {
                // Without the thread nothing is made durable; say so once (the quick
                // writes still keep the records current).
                tracing::error!("starting the record flusher: {e}");
            }
            Flusher {
                queue: Mutex::new(tx),
            }
        })
    }

    fn queue(&self, file: Arc<RecordFile>) {
        if lock(&self.queue).send(file.clone()).is_err() {
            file.flush();
        }
    }

    fn run(rx: Receiver<Arc<RecordFile>>) {
        while let Ok(file) = rx.recv() {
            file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn only_record(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_write_reaches_the_disk_in_order_and_the_newest_after_the_flush() {
        let dir = temp_dir("newest");
        let file = RecordFile::new(&dir, false);
        // A quick write is skipped while the flusher holds the file (the flusher writes
        // those bytes next), so the file may lag a write behind, never go back.
        let mut seen = 0;
        for n in 0..50 {
            file.write(format!("state {n}").into_bytes()).unwrap();
            let on_disk = String::from_utf8(std::fs::read(file.path()).unwrap()).unwrap();
            let state: usize = on_disk.trim_start_matches("state ").parse().unwrap();
            assert!(
                (seen..=n).contains(&state),
                "after write {n} the file holds {on_disk:?}, after {seen} before"
            );
            seen = state;
        }
        file.sync();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"state 49");
        assert_eq!(
            only_record(&dir),
            vec![RECORD_FILE.to_string()],
            "no temp file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nothing_is_written_after_close() {
        let dir = temp_dir("closed");
        let file = RecordFile::new(&dir, true);
        file.write(b"before".to_vec()).unwrap();
        file.close();
        file.write(b"after".to_vec()).unwrap();
        file.sync();
        std::fs::remove_dir_all(&dir).unwrap();
        // The flusher may still hold the file queued: it must not recreate the directory's
        // record (the directory is gone; a write would fail, never create it again).
        file.sync();
        assert!(!dir.exists());
    }
}
