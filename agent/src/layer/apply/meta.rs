//! Ownership, permission bits and times, applied fd-relative and without following symlinks.
//!
//! Order matters: `chown` first (it clears setuid/setgid and `security.capability`), then the
//! mode (so setuid survives), then xattrs, then times. Never `chmod` by path: that follows a
//! symlink planted under the name and changes a file elsewhere (CVE-2021-32760 in containerd,
//! CVE-2026-33056 in tar-rs). Files and directories are changed through the fd they were
//! created or opened with; symlinks and special files through `fchownat`/`utimensat` with
//! `AT_SYMLINK_NOFOLLOW`.
//!
//! Directory times are set last of all, once nothing more is created inside them.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use rustix::fs::{
    AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid, chmod, chownat, fchmod,
    fchown, fstat, futimens, openat, statat, utimensat,
};
use rustix::io::Errno;

use super::path::NormPath;
use super::pax::Time;
use super::resolve::Dirs;
use super::stream::Entry;

/// The owner new inodes get from the kernel, so `chown` can be skipped when the entry asks for
/// exactly that (most image files are 0:0). Not when a setgid directory may be involved: there
/// new inodes take the directory's group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Creator {
    pub uid: u32,
    pub gid: u32,
    /// Set when the destination was not empty or a setgid directory was made: always chown.
    pub always_chown: bool,
}

impl Creator {
    pub(crate) fn needs_chown(&self, entry: &Entry) -> bool {
        self.always_chown || entry.uid != self.uid || entry.gid != self.gid
    }
}

fn ids(entry: &Entry) -> (Option<Uid>, Option<Gid>) {
    // `u32::MAX` ("leave unchanged") was refused when the header was read.
    (
        Some(Uid::from_raw(entry.uid)),
        Some(Gid::from_raw(entry.gid)),
    )
}

/// The entry's times as `utimensat` wants them.
pub(crate) fn timestamps(entry: &Entry) -> Timestamps {
    fn spec(t: Time) -> Timespec {
        Timespec {
            tv_sec: t.secs,
            tv_nsec: i64::from(t.nanos),
        }
    }
    Timestamps {
        last_access: spec(entry.atime),
        last_modification: spec(entry.mtime),
    }
}

/// Owner then mode on an open file or directory.
pub(crate) fn owner_and_mode(
    fd: BorrowedFd<'_>,
    entry: &Entry,
    creator: &Creator,
) -> Result<(), Errno> {
    if creator.needs_chown(entry) {
        let (uid, gid) = ids(entry);
        fchown(fd, uid, gid)?;
    }
    fchmod(fd, Mode::from_raw_mode(entry.mode))
}

/// Owner of a symlink, whiteout or special file `name` in `parent`, not following it.
pub(crate) fn owner_at(
    parent: BorrowedFd<'_>,
    name: &[u8],
    entry: &Entry,
    creator: &Creator,
) -> Result<(), Errno> {
    if creator.needs_chown(entry) {
        let (uid, gid) = ids(entry);
        chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    Ok(())
}

/// Times of `name` in `parent`, not following it.
pub(crate) fn times_at(parent: BorrowedFd<'_>, name: &[u8], entry: &Entry) -> Result<(), Errno> {
    utimensat(parent, name, &timestamps(entry), AtFlags::SYMLINK_NOFOLLOW)
}

/// Times of an open file.
pub(crate) fn times_fd(fd: BorrowedFd<'_>, entry: &Entry) -> Result<(), Errno> {
    futimens(fd, &timestamps(entry))
}

/// Mode of the FIFO or device node `name` in `parent` (just made by `mknodat`).
///
/// Such a node cannot be opened to `fchmod` it (opening a device runs its driver), `fchmodat`
/// has no working `AT_SYMLINK_NOFOLLOW` before `fchmodat2`, and rustix has no `fchmodat2`. So:
/// an `O_PATH | O_NOFOLLOW` fd (no driver involved), a check that it is the node and not a
/// symlink, and `chmod` of the agent's own `/proc/self/fd/<n>`, which acts on that inode.
pub(crate) fn mode_of_node(parent: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    let fd = openat(
        parent,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    match FileType::from_raw_mode(fstat(&fd)?.st_mode) {
        FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice => {}
        _ => return Err(Errno::INVAL),
    }
    chmod(
        format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()),
        Mode::from_raw_mode(mode),
    )
}

/// A directory whose times are set at the end of the layer, once its content is complete.
#[derive(Debug)]
pub(crate) struct DirTimes {
    pub path: NormPath,
    /// Which inode the entry made: if a later entry replaced the directory, the times are not
    /// for whatever is there now.
    pub ino: u64,
    pub times: Timestamps,
}

/// Sets the deferred directory times. Records of the same path keep their order (the last
/// declaration wins); sorting by parent lets consecutive records share the cached parent.
pub(crate) fn set_dir_times(
    dirs: &mut Dirs,
    mut records: Vec<DirTimes>,
) -> Result<(), DirTimesError> {
    records.sort_by(|a, b| a.path.parent().cmp(b.path.parent()));
    for record in records {
        if record.path.is_root() {
            let root = dirs.root();
            if fstat(root)
                .map_err(|e| DirTimesError(record.path.clone(), e))?
                .st_ino
                == record.ino
            {
                futimens(root, &record.times).map_err(|e| DirTimesError(record.path.clone(), e))?;
            }
            continue;
        }
        let parent = match dirs.dir(record.path.parent(), false) {
            Ok(parent) => parent,
            // The directory went away with a later replacement: nothing to set.
            Err(_) => continue,
        };
        let name = record.path.name();
        match statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st)
                if st.st_ino == record.ino
                    && FileType::from_raw_mode(st.st_mode) == FileType::Directory =>
            {
                utimensat(parent, name, &record.times, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| DirTimesError(record.path.clone(), e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Setting a directory's times failed.
#[derive(Debug)]
pub(crate) struct DirTimesError(pub NormPath, pub Errno);
