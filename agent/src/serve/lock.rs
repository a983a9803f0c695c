//! One agent per data root: an exclusive lock on `<root>/berth.lock`, held for the
//! agent's lifetime and released by the kernel when it dies, even by SIGKILL.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

pub struct RootLock {
    _file: File,
}

pub fn acquire(root: &Path) -> Result<RootLock> {
    let path = root.join("berth.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "another berth agent (pid {}) is already running on data root {}; stop it or use another --root",
                holder.trim(),
                root.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("lock {}", path.display()));
        }
    }
    file.set_len(0).context("truncate lock file")?;
    write!(file, "{}", std::process::id()).context("write pid to lock file")?;
    Ok(RootLock { _file: file })
}
