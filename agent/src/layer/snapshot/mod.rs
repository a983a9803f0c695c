//! The container root filesystem (DESIGN §2, §4): `containers/<id>/` holds `upper/`, `work/`
//! and `rootfs/`, the mount point.
//!
//! - [`Driver::Overlay`] mounts an overlayfs over the image's layer dirs with the new mount
//!   API (one `lowerdir+` per layer, so no option-length limit);
//! - [`Driver::Vfs`] copies the layers into `rootfs/` (for data roots on overlayfs, where
//!   overlay cannot stack, or kernels without it).

pub(crate) mod fsops;
mod overlay;
mod vfs;

use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// `statfs` magic of overlayfs.
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

/// A snapshotter failure: what was being done, to which path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path:?}: {source}")]
pub struct SnapshotError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl SnapshotError {
    pub(crate) fn new(op: &'static str, path: &Path, source: impl Into<io::Error>) -> Self {
        SnapshotError {
            op,
            path: path.to_path_buf(),
            source: source.into(),
        }
    }
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// How container root filesystems are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Vfs,
}

/// `--storage-driver` names.
impl FromStr for Driver {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "overlay2" | "overlay" => Ok(Driver::Overlay),
            "vfs" => Ok(Driver::Vfs),
            other => Err(format!(
                "unknown storage driver {other:?} (expected \"overlay2\" or \"vfs\")"
            )),
        }
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Driver {
    /// The name Docker prints (`docker info`'s "Storage Driver").
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Overlay => "overlay2",
            Driver::Vfs => "vfs",
        }
    }

    /// Overlay if it works on `data_root`: not when the data root is itself on overlayfs,
    /// nor when a test mount in it fails.
    pub fn detect(data_root: &Path) -> Driver {
        if let Ok(st) = rustix::fs::statfs(data_root)
            && st.f_type == OVERLAYFS_SUPER_MAGIC
        {
            return Driver::Vfs;
        }
        match overlay::probe(data_root) {
            Ok(()) => Driver::Overlay,
            Err(e) => {
                tracing::info!("overlay is not usable on {data_root:?} ({e}); using vfs");
                Driver::Vfs
            }
        }
    }

    /// Creates `upper/`, `work/` and `rootfs/` in `container_dir` (made if missing); vfs
    /// also copies the layers (`lowers`: layer diff dirs, bottom first) into `rootfs/`.
    pub fn prepare(&self, container_dir: &Path, lowers: &[PathBuf]) -> Result<()> {
        for sub in ["upper", "work", "rootfs"] {
            let dir = container_dir.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| SnapshotError::new("create", &dir, e))?;
        }
        match self {
            Driver::Overlay => Ok(()),
            Driver::Vfs => vfs::populate(&container_dir.join("rootfs"), lowers),
        }
    }

    /// Mounts the root filesystem (overlay) and returns `rootfs/`. Already mounted: Ok.
    pub fn mount(&self, container_dir: &Path, lowers: &[PathBuf]) -> Result<PathBuf> {
        self.mount_with(container_dir, lowers, false)
    }

    /// [`mount`](Self::mount) for a container removed when it exits (`--rm`): overlay
    /// skips syncing its upper layer, so exit and removal wait for no disk flush.
    pub fn mount_ephemeral(&self, container_dir: &Path, lowers: &[PathBuf]) -> Result<PathBuf> {
        self.mount_with(container_dir, lowers, true)
    }

    fn mount_with(
        &self,
        container_dir: &Path,
        lowers: &[PathBuf],
        volatile: bool,
    ) -> Result<PathBuf> {
        let rootfs = container_dir.join("rootfs");
        match self {
            Driver::Overlay => {
                if !is_mounted(container_dir) {
                    overlay::mount(container_dir, lowers, volatile)?;
                }
            }
            Driver::Vfs => {
                if !rootfs.is_dir() {
                    return Err(SnapshotError::new(
                        "mount",
                        &rootfs,
                        io::Error::new(io::ErrorKind::NotFound, "not prepared"),
                    ));
                }
            }
        }
        Ok(rootfs)
    }

    /// Unmounts `rootfs/` (lazily if busy). Not mounted: Ok.
    pub fn unmount(&self, container_dir: &Path) -> Result<()> {
        overlay::unmount(&container_dir.join("rootfs"))?;
        if is_mounted(container_dir) {
            return Err(SnapshotError::new(
                "unmount",
                &container_dir.join("rootfs"),
                io::Error::other("still mounted"),
            ));
        }
        Ok(())
    }

    /// Unmounts and deletes the container directory.
    pub fn remove(&self, container_dir: &Path) -> Result<()> {
        self.unmount(container_dir)?;
        fsops::remove_tree(container_dir)
            .map_err(|e| SnapshotError::new("remove", container_dir, e))
    }
}

/// Whether `container_dir/rootfs` is a mount point (per `/proc/self/mountinfo`).
pub fn is_mounted(container_dir: &Path) -> bool {
    let Ok(rootfs) = container_dir.join("rootfs").canonicalize() else {
        return false;
    };
    let Ok(info) = std::fs::read("/proc/self/mountinfo") else {
        return false;
    };
    let target = rootfs.as_os_str().as_encoded_bytes();
    info.split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4))
        .any(|mp| unescape_mountinfo(mp) == target)
}

/// Undoes mountinfo's octal escapes (`\040` for a space, …).
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && i + 3 < field.len()
            && field[i + 1..i + 4]
                .iter()
                .all(|c| (b'0'..=b'7').contains(c))
        {
            let v = u32::from(field[i + 1] - b'0') * 64
                + u32::from(field[i + 2] - b'0') * 8
                + u32::from(field[i + 3] - b'0');
            out.push(v as u8);
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
