//! `docker diff`: what a container added, changed and deleted against its image's layers.
//!
//! - overlay: from the upper dir, as moby's `archive.OverlayChanges` does: a whiteout
//!   (char 0:0) is Deleted, as is an opaque directory (its new contents then follow as Added,
//!   or Modified where the name existed below); anything else is Modified if the merged lower
//!   layers have it and Added if not. A directory that is in the upper dir only because
//!   something below it changed, with the same size, mode and mtime as below, is not reported
//!   by itself, but the parent of an Added or Deleted entry always is (as Modified).
//! - vfs: the rootfs tree against the merged lowers, as moby's `archive.ChangesDirs`: mode,
//!   owner, device number, and (for non-directories) size, mtime and symlink target.
//!
//! Every walk of the container's tree goes `<dir fd> + <name>` without following symlinks;
//! the lower layers are our own extracted (trusted) directories, looked up by path after
//! checking that no component on the way is a symlink.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{CWD, FileType, Stat};

use crate::layer::snapshot::fsops::{
    file_type, is_dir, is_opaque_at, is_opaque_path, is_whiteout, lstat_at, lstat_opt, open_dir_at,
    open_path_dir, read_names,
};
use crate::layer::snapshot::{Driver, Result, SnapshotError};

/// Docker's change kinds (`Kind` 0, 1, 2 in `GET /containers/{id}/changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

impl ChangeKind {
    /// The number the Engine API uses.
    pub fn code(self) -> u8 {
        match self {
            ChangeKind::Modified => 0,
            ChangeKind::Added => 1,
            ChangeKind::Deleted => 2,
        }
    }

    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path (absolute in the container: `/etc/foo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// What it holds now: a regular file's bytes, or a symlink's target length; 0 for
    /// directories, other kinds and deletions.
    pub size: u64,
    /// The inode of a regular file (hard links share one), to count its bytes once.
    pub file: Option<u64>,
}

/// A change with its path as raw bytes (`/etc/foo`), for the tar writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawChange {
    pub path: Vec<u8>,
    pub kind: ChangeKind,
    pub size: u64,
    pub file: Option<u64>,
}

impl RawChange {
    /// A change whose entry is described by `stat` (`None`: deleted or only a parent).
    fn new(path: Vec<u8>, kind: ChangeKind, stat: Option<&Stat>) -> Self {
        let (size, file) = match stat.map(|s| (file_type(s), s)) {
            Some((FileType::RegularFile, s)) => (s.st_size as u64, Some(s.st_ino)),
            Some((FileType::Symlink, s)) => (s.st_size as u64, None),
            _ => (0, None),
        };
        RawChange {
            path,
            kind,
            size,
            file,
        }
    }
}

/// The bytes of regular files among `changes`, each inode once: the size a commit's new
/// layer gets in the image's history.
pub fn layer_size(changes: &[Change]) -> u64 {
    let mut seen = HashSet::new();
    changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Deleted)
        .filter_map(|c| Some((c.file?, c.size)))
        .filter(|(ino, _)| seen.insert(*ino))
        .map(|(_, size)| size)
        .sum()
}

/// What the container in `container_dir` changed against `lowers` (its image's layer diff
/// dirs, bottom first), sorted by path. The container should not be running for an exact
/// answer (a running container's tree changes under the walk).
pub fn changes(driver: Driver, container_dir: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    Ok(raw_changes(driver, container_dir, lowers)?
        .into_iter()
        .map(|c| Change {
            path: String::from_utf8_lossy(&c.path).into_owned(),
            kind: c.kind,
            size: c.size,
            file: c.file,
        })
        .collect())
}

pub(crate) fn raw_changes(
    driver: Driver,
    container_dir: &Path,
    lowers: &[PathBuf],
) -> Result<Vec<RawChange>> {
    let (sub, err_op) = match driver {
        Driver::Overlay => ("upper", "diff of upper dir"),
        Driver::Vfs => ("rootfs", "diff of rootfs"),
    };
    let root_path = container_dir.join(sub);
    let root = open_path_dir(&root_path).map_err(|e| SnapshotError::new("open", &root_path, e))?;
    let mut out = Vec::new();
    match driver {
        Driver::Overlay => {
            let mut changed_dirs = HashSet::new();
            overlay_walk(&root, b"", lowers, &mut out, &mut changed_dirs)
        }
        Driver::Vfs => vfs_walk(&root, b"", true, lowers, &mut out),
    }
    .map_err(|e| SnapshotError::new(err_op, &root_path, e))?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn join(rel: &[u8], name: &OsStr) -> Vec<u8> {
    let mut p = rel.to_vec();
    p.push(b'/');
    p.extend_from_slice(name.as_bytes());
    p
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|b| *b == b'/') {
        Some(0) | None => b"/",
        Some(i) => &path[..i],
    }
}

fn same_time(a: &Stat, b: &Stat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

fn overlay_walk(
    dir: &OwnedFd,
    rel: &[u8],
    lowers: &[PathBuf],
    out: &mut Vec<RawChange>,
    changed_dirs: &mut HashSet<Vec<u8>>,
) -> io::Result<()> {
    for name in read_names(dir)? {
        let stat = lstat_at(dir, &name)?;
        let path = join(rel, &name);
        let dir_here = is_dir(&stat);
        let deleted = is_whiteout(&stat) || (dir_here && is_opaque_at(dir, &name));
        let mut record = true;
        let kind = if deleted {
            ChangeKind::Deleted
        } else {
            match lookup(lowers, Path::new(OsStr::from_bytes(&path)))? {
                Some(below) => {
                    if dir_here
                        && is_dir(&below.stat)
                        && below.stat.st_size == stat.st_size
                        && below.stat.st_mode == stat.st_mode
                        && same_time(&below.stat, &stat)
                    {
                        // Only here as the parent of a change: not a change itself.
                        record = false;
                    }
                    ChangeKind::Modified
                }
                None => ChangeKind::Added,
            }
        };
        if record {
            if dir_here {
                changed_dirs.insert(path.clone());
            }
            if kind != ChangeKind::Modified {
                let parent = parent_of(&path);
                if parent != b"/" && !changed_dirs.contains(parent) {
                    out.push(RawChange::new(parent.to_vec(), ChangeKind::Modified, None));
                    changed_dirs.insert(parent.to_vec());
                }
            }
            let now = (kind != ChangeKind::Deleted).then_some(&stat);
            out.push(RawChange::new(path.clone(), kind, now));
        }
        if dir_here {
            let child = open_dir_at(dir, &name)?;
            overlay_walk(&child, &path, lowers, out, changed_dirs)?;
        }
    }
    Ok(())
}

fn stat_different(old: &Stat, new: &Stat) -> bool {
    old.st_mode != new.st_mode
        || old.st_uid != new.st_uid
        || old.st_gid != new.st_gid
        || old.st_rdev != new.st_rdev
        || (!is_dir(old) && (!same_time(old, new) || old.st_size != new.st_size))
}

/// Compares the rootfs directory `dir` (at `rel`) with the same directory of the merged
/// lowers. `self_added`: `dir` itself is already reported.
fn vfs_walk(
    dir: &OwnedFd,
    rel: &[u8],
    self_added: bool,
    lowers: &[PathBuf],
    out: &mut Vec<RawChange>,
) -> io::Result<()> {
    let size_at_entry = out.len();
    let mut old = merged_children(lowers, Path::new(OsStr::from_bytes(rel)))?;
    for name in read_names(dir)? {
        let stat = lstat_at(dir, &name)?;
        let path = join(rel, &name);
        let mut added = false;
        match old.remove(&name) {
            Some(below) => {
                let link_differs = file_type(&stat) == FileType::Symlink
                    && file_type(&below.stat) == FileType::Symlink
                    && rustix::fs::readlinkat(dir, name.as_os_str(), Vec::new()).ok()
                        != rustix::fs::readlinkat(CWD, &below.path, Vec::new()).ok();
                if stat_different(&below.stat, &stat) || link_differs {
                    out.push(RawChange::new(
                        path.clone(),
                        ChangeKind::Modified,
                        Some(&stat),
                    ));
                    added = true;
                }
            }
            None => {
                out.push(RawChange::new(path.clone(), ChangeKind::Added, Some(&stat)));
                added = true;
            }
        }
        if is_dir(&stat) {
            let child = open_dir_at(dir, &name)?;
            vfs_walk(&child, &path, added, lowers, out)?;
        }
    }
    for name in old.into_keys() {
        out.push(RawChange::new(join(rel, &name), ChangeKind::Deleted, None));
    }
    if out.len() > size_at_entry && !self_added && !rel.is_empty() {
        out.insert(
            size_at_entry,
            RawChange::new(rel.to_vec(), ChangeKind::Modified, None),
        );
    }
    Ok(())
}

/// A path found in the merged lower layers.
pub(crate) struct Below {
    /// Its path in the layer that provides it.
    pub path: PathBuf,
    pub stat: Stat,
}

enum InLayer {
    /// There, not hidden. `stop_below`: an opaque directory above it in this layer hides
    /// the layers below.
    Found { below: Below, stop_below: bool },
    /// Not in this layer; `stop_below` as above.
    Missing { stop_below: bool },
    /// Whited out, or under a non-directory: hidden in this and all lower layers.
    Hidden,
}

fn normal_components(rel: &Path) -> impl Iterator<Item = &OsStr> {
    rel.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    })
}

fn resolve_in_layer(lower: &Path, rel: &Path) -> io::Result<InLayer> {
    let comps: Vec<&OsStr> = normal_components(rel).collect();
    let mut cur = lower.to_path_buf();
    let mut opaque = false;
    for (i, c) in comps.iter().enumerate() {
        cur.push(c);
        let Some(stat) = lstat_opt(CWD, cur.as_os_str())? else {
            return Ok(InLayer::Missing { stop_below: opaque });
        };
        if is_whiteout(&stat) {
            return Ok(InLayer::Hidden);
        }
        if i + 1 == comps.len() {
            return Ok(InLayer::Found {
                below: Below { path: cur, stat },
                stop_below: opaque,
            });
        }
        if !is_dir(&stat) {
            return Ok(InLayer::Hidden);
        }
        if is_opaque_path(&cur) {
            opaque = true;
        }
    }
    let stat = lstat_at(CWD, cur.as_os_str())?;
    Ok(InLayer::Found {
        below: Below { path: cur, stat },
        stop_below: false,
    })
}

/// `rel` (relative to a layer root) in the merged view of `lowers` (bottom first).
pub(crate) fn lookup(lowers: &[PathBuf], rel: &Path) -> io::Result<Option<Below>> {
    for lower in lowers.iter().rev() {
        match resolve_in_layer(lower, rel)? {
            InLayer::Found { below, .. } => return Ok(Some(below)),
            InLayer::Hidden | InLayer::Missing { stop_below: true } => return Ok(None),
            InLayer::Missing { stop_below: false } => {}
        }
    }
    Ok(None)
}

/// The entries of directory `rel` in the merged view of `lowers` (bottom first).
pub(crate) fn merged_children(
    lowers: &[PathBuf],
    rel: &Path,
) -> io::Result<BTreeMap<OsString, Below>> {
    let mut out = BTreeMap::new();
    let mut hidden = HashSet::new();
    for lower in lowers.iter().rev() {
        let (below, stop_below) = match resolve_in_layer(lower, rel)? {
            InLayer::Hidden | InLayer::Missing { stop_below: true } => break,
            InLayer::Missing { stop_below: false } => continue,
            InLayer::Found { below, stop_below } => (below, stop_below),
        };
        if !is_dir(&below.stat) {
            break;
        }
        let fd = open_path_dir(&below.path)?;
        for name in read_names(&fd)? {
            if out.contains_key(&name) || hidden.contains(&name) {
                continue;
            }
            let stat = lstat_at(&fd, &name)?;
            if is_whiteout(&stat) {
                hidden.insert(name);
            } else {
                let path = below.path.join(&name);
                out.insert(name, Below { path, stat });
            }
        }
        if stop_below || is_opaque_path(&below.path) {
            break;
        }
    }
    Ok(out)
}
