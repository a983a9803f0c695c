//! vfs: the layers are copied into `rootfs/`, bottom first, applying the overlay-style
//! whiteouts they carry (a 0:0 character device removes the lower path, an opaque directory
//! clears the lower contents). Owner, mode, times, symlinks, hardlinks within a layer,
//! devices, FIFOs and xattrs (except `trusted.overlay.*`) are kept.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{
    AtFlags, FileType, Gid, Mode, OFlags, Stat, Timespec, Timestamps, Uid, XattrFlags, chmodat,
    chownat, fchmod, fchown, fsetxattr, futimens, linkat, lsetxattr, mkdirat, mknodat, openat,
    readlinkat, symlinkat, utimensat,
};

use super::fsops::{
    file_type, is_dir, is_opaque_at, is_whiteout, lstat_at, lstat_opt, open_dir_at, open_file_at,
    open_path_dir, perm, read_names, remove_at, xattrs_at,
};
use super::{Result, SnapshotError};

pub(super) fn populate(rootfs: &Path, lowers: &[PathBuf]) -> Result<()> {
    let dst = open_path_dir(rootfs).map_err(|e| SnapshotError::new("open", rootfs, e))?;
    for lower in lowers {
        let src = open_path_dir(lower).map_err(|e| SnapshotError::new("open", lower, e))?;
        let mut copier = Copier {
            rootfs: &dst,
            links: HashMap::new(),
        };
        copier
            .copy_dir(&src, &dst, Path::new(""))
            .map_err(|e| SnapshotError::new("copy layer", lower, e))?;
        // The root directory's own metadata comes from the layer too.
        let stat = rustix::fs::fstat(&src).map_err(|e| SnapshotError::new("stat", lower, e))?;
        set_fd_meta(&dst, &stat).map_err(|e| SnapshotError::new("set owner of", rootfs, e))?;
    }
    Ok(())
}

struct Copier<'a> {
    rootfs: &'a OwnedFd,
    /// (dev, ino) of a multiply-linked file of this layer → where its first copy went.
    links: HashMap<(u64, u64), PathBuf>,
}

impl Copier<'_> {
    fn copy_dir(&mut self, src: &OwnedFd, dst: &OwnedFd, rel: &Path) -> io::Result<()> {
        for name in read_names(src)? {
            let name = name.as_os_str();
            let stat = lstat_at(src, name)?;
            let child_rel = rel.join(name);
            if is_whiteout(&stat) {
                remove_at(dst, name)?;
                continue;
            }
            let existing = lstat_opt(dst, name)?;
            if is_dir(&stat) {
                match existing {
                    Some(e) if is_dir(&e) => {
                        if is_opaque_at(src, name) {
                            let d = open_dir_at(dst, name)?;
                            for n in read_names(&d)? {
                                remove_at(&d, &n)?;
                            }
                        }
                    }
                    Some(_) => {
                        remove_at(dst, name)?;
                        mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
                    }
                    None => mkdirat(dst, name, Mode::from_raw_mode(0o700))?,
                }
                let s = open_dir_at(src, name)?;
                let d = open_dir_at(dst, name)?;
                self.copy_dir(&s, &d, &child_rel)?;
                set_fd_meta(&d, &stat)?;
                copy_xattrs(src, name, &d)?;
                continue;
            }
            if existing.is_some() {
                remove_at(dst, name)?;
            }
            let key = (stat.st_dev, stat.st_ino);
            if stat.st_nlink > 1 {
                if let Some(first) = self.links.get(&key) {
                    linkat(self.rootfs, first.as_path(), dst, name, AtFlags::empty())?;
                    continue;
                }
                self.links.insert(key, child_rel.clone());
            }
            self.copy_leaf(src, dst, name, &stat)?;
        }
        Ok(())
    }

    fn copy_leaf(&self, src: &OwnedFd, dst: &OwnedFd, name: &OsStr, stat: &Stat) -> io::Result<()> {
        match file_type(stat) {
            FileType::RegularFile => {
                let mut from = open_file_at(src, name)?;
                let fd = openat(
                    dst,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let mut to = std::fs::File::from(fd);
                io::copy(&mut from, &mut to)?;
                set_fd_meta(&to, stat)?;
                copy_xattrs(src, name, &to)?;
                // Times last: the xattrs do not change mtime, but keep the order obvious.
                set_fd_times(&to, stat)?;
            }
            FileType::Symlink => {
                let target = readlinkat(src, name, Vec::new())?;
                symlinkat(target.as_c_str(), dst, name)?;
                chownat(
                    dst,
                    name,
                    Some(Uid::from_raw(stat.st_uid)),
                    Some(Gid::from_raw(stat.st_gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                utimensat(dst, name, &timestamps(stat), AtFlags::SYMLINK_NOFOLLOW)?;
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                mknodat(
                    dst,
                    name,
                    file_type(stat),
                    Mode::from_raw_mode(perm(stat) as _),
                    stat.st_rdev as _,
                )?;
                chownat(
                    dst,
                    name,
                    Some(Uid::from_raw(stat.st_uid)),
                    Some(Gid::from_raw(stat.st_gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                // Not a symlink (just made by us): chmodat cannot be redirected.
                chmodat(
                    dst,
                    name,
                    Mode::from_raw_mode(perm(stat) as _),
                    AtFlags::empty(),
                )?;
                for (k, v) in xattrs_at(src, name)? {
                    let _ = lsetxattr(proc_path(dst, name), k.as_slice(), &v, XattrFlags::empty());
                }
                utimensat(dst, name, &timestamps(stat), AtFlags::SYMLINK_NOFOLLOW)?;
            }
            // Sockets are not content.
            _ => {}
        }
        Ok(())
    }
}

fn proc_path(dir: impl AsFd, name: &OsStr) -> std::ffi::OsString {
    use std::os::fd::AsRawFd;
    let mut p = std::ffi::OsString::from(format!("/proc/self/fd/{}/", dir.as_fd().as_raw_fd()));
    p.push(name);
    p
}

fn timestamps(stat: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: stat.st_atime as _,
            tv_nsec: stat.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: stat.st_mtime as _,
            tv_nsec: stat.st_mtime_nsec as _,
        },
    }
}

/// Owner, then mode (chown clears setuid bits), then times.
fn set_fd_meta(fd: impl AsFd, stat: &Stat) -> io::Result<()> {
    let fd: BorrowedFd<'_> = fd.as_fd();
    fchown(
        fd,
        Some(Uid::from_raw(stat.st_uid)),
        Some(Gid::from_raw(stat.st_gid)),
    )?;
    fchmod(fd, Mode::from_raw_mode(perm(stat) as _))?;
    set_fd_times(fd, stat)
}

fn set_fd_times(fd: impl AsFd, stat: &Stat) -> io::Result<()> {
    Ok(futimens(fd, &timestamps(stat))?)
}

/// Copies the xattrs of `name` in `src` onto `to` (unsupported ones are skipped).
fn copy_xattrs(src: &OwnedFd, name: &OsStr, to: impl AsFd) -> io::Result<()> {
    for (k, v) in xattrs_at(src, name)? {
        match fsetxattr(&to, k.as_slice(), &v, XattrFlags::empty()) {
            Ok(()) => {}
            Err(e) => tracing::debug!("vfs: xattr {} not copied: {e}", String::from_utf8_lossy(&k)),
        }
    }
    Ok(())
}
