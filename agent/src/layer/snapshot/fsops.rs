//! Directory-fd based file operations shared by the snapshotter and the diff: every step is
//! `<dir fd> + <name>` with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`, so a tree written by an
//! untrusted container (an upper dir, a vfs rootfs) cannot redirect us through a symlink.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{
    AtFlags, CWD, Dir, FileType, IFlags, Mode, OFlags, Stat, ioctl_getflags, ioctl_setflags,
    lgetxattr, llistxattr, major, minor, openat, statat, unlinkat,
};
use rustix::io::Errno;

/// The xattr overlayfs marks an opaque directory with.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Opens a trusted directory path (the data root's own directories).
pub(crate) fn open_path_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens the directory `name` in `dir`, refusing symlinks.
pub(crate) fn open_dir_at(dir: impl AsFd, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens the regular file `name` in `dir` for reading, refusing symlinks.
pub(crate) fn open_file_at(dir: impl AsFd, name: &OsStr) -> io::Result<std::fs::File> {
    let fd = openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

/// `lstat` of `name` in `dir`.
pub(crate) fn lstat_at(dir: impl AsFd, name: &OsStr) -> io::Result<Stat> {
    Ok(statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// `lstat` of a path, `None` when it does not exist.
pub(crate) fn lstat_opt(dir: impl AsFd, name: &OsStr) -> io::Result<Option<Stat>> {
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(s) => Ok(Some(s)),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The names in a directory, sorted, without `.` and `..`.
pub(crate) fn read_names(dir: impl AsFd) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        names.push(OsStr::from_bytes(name).to_os_string());
    }
    names.sort();
    Ok(names)
}

pub(crate) fn file_type(stat: &Stat) -> FileType {
    FileType::from_raw_mode(stat.st_mode as _)
}

pub(crate) fn is_dir(stat: &Stat) -> bool {
    file_type(stat) == FileType::Directory
}

/// An overlayfs whiteout: a character device 0:0.
pub(crate) fn is_whiteout(stat: &Stat) -> bool {
    file_type(stat) == FileType::CharacterDevice
        && major(stat.st_rdev as _) == 0
        && minor(stat.st_rdev as _) == 0
}

/// The permission bits (with setuid, setgid, sticky).
pub(crate) fn perm(stat: &Stat) -> u32 {
    stat.st_mode & 0o7777
}

/// `/proc/self/fd/<dir>/<name>`: a path that reaches `name` in `dir` without resolving any
/// other component (for the `l*xattr` calls, which have no `*at` form).
fn proc_path(dir: impl AsFd, name: &OsStr) -> OsString {
    let mut p = OsString::from(format!("/proc/self/fd/{}/", dir.as_fd().as_raw_fd()));
    p.push(name);
    p
}

/// All xattrs of `name` in `dir` (not following a symlink), except `trusted.overlay.*`.
/// A filesystem without xattrs gives none.
pub(crate) fn xattrs_at(dir: impl AsFd, name: &OsStr) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let path = proc_path(dir, name);
    let mut list = vec![0u8; 4096];
    let len = loop {
        match llistxattr(&path, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => list.resize(list.len() * 4, 0),
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for key in list[..len].split(|b| *b == 0).filter(|k| !k.is_empty()) {
        if key.starts_with(b"trusted.overlay.") {
            continue;
        }
        let mut value = vec![0u8; 1024];
        let n = loop {
            match lgetxattr(&path, key, &mut value[..]) {
                Ok(n) => break Some(n),
                Err(Errno::RANGE) if value.len() < 1 << 20 => value.resize(value.len() * 8, 0),
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(n) = n {
            value.truncate(n);
            out.push((key.to_vec(), value));
        }
    }
    Ok(out)
}

/// Whether the directory `name` in `dir` is an overlayfs opaque directory.
pub(crate) fn is_opaque_at(dir: impl AsFd, name: &OsStr) -> bool {
    let mut value = [0u8; 4];
    matches!(lgetxattr(proc_path(dir, name), OPAQUE_XATTR, &mut value[..]), Ok(1) if value[0] == b'y')
}

/// Whether the directory at `path` (a trusted path) is an overlayfs opaque directory.
pub(crate) fn is_opaque_path(path: &Path) -> bool {
    let mut value = [0u8; 4];
    matches!(lgetxattr(path, OPAQUE_XATTR, &mut value[..]), Ok(1) if value[0] == b'y')
}

/// Clears the immutable and append-only flags of an open file or directory, if set.
fn clear_immutable(fd: impl AsFd) {
    if let Ok(flags) = ioctl_getflags(&fd)
        && flags.intersects(IFlags::IMMUTABLE | IFlags::APPEND)
    {
        let _ = ioctl_setflags(&fd, flags - (IFlags::IMMUTABLE | IFlags::APPEND));
    }
}

/// Removes `name` in `dir` and, if it is a directory, everything below it. Never follows a
/// symlink; clears immutable/append-only flags that would stop it; a missing `name` is fine.
pub(crate) fn remove_at(dir: impl AsFd, name: &OsStr) -> io::Result<()> {
    let dir = dir.as_fd();
    let Some(stat) = lstat_opt(dir, name)? else {
        return Ok(());
    };
    if is_dir(&stat) {
        let child = open_dir_at(dir, name)?;
        clear_immutable(&child);
        for n in read_names(&child)? {
            remove_at(&child, &n)?;
        }
        drop(child);
        match unlinkat(dir, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    } else {
        match unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::PERM) if file_type(&stat) == FileType::RegularFile => {
                if let Ok(f) = open_file_at(dir, name) {
                    clear_immutable(&f);
                }
                Ok(unlinkat(dir, name, AtFlags::empty())?)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Removes the directory `path` and everything below it (missing is fine).
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to remove a root directory",
        ));
    };
    let parent = match open_path_dir(if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    }) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    remove_at(&parent, name)
}
