//! overlayfs through the new mount API: `fsopen("overlay")`, one `fsconfig(lowerdir+)` per
//! layer (top-most first, overlay's order), `upperdir`, `workdir`, `fsmount`, `move_mount`
//! onto `rootfs/`. Each layer is its own `fsconfig` call, so dozens of layers never meet the
//! one-page limit of a `mount(2)` option string.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags, fsconfig_create,
    fsconfig_set_string, fsmount, fsopen, move_mount, unmount as umount2,
};

use super::{Result, SnapshotError};

/// The messages the kernel left in an fs context's log (why `fsconfig` failed).
fn kernel_log(fs: impl AsFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        match rustix::io::read(&fs, &mut buf) {
            Ok(n) if n > 0 => {
                if !out.is_empty() {
                    out.push("; ".to_string());
                }
                out.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
            }
            _ => break,
        }
    }
    out.concat()
}

fn fs_err(op: &'static str, path: &Path, fs: &OwnedFd, e: Errno) -> SnapshotError {
    let log = kernel_log(fs);
    let source = if log.is_empty() {
        io::Error::from(e)
    } else {
        io::Error::new(io::Error::from(e).kind(), format!("{e} ({log})"))
    };
    SnapshotError::new(op, path, source)
}

/// Mounts an overlay of `lowers` (bottom first) with `upper/` and `work/` onto `rootfs/`.
/// `volatile` skips overlay's syncs of the upper layer (unmount then costs no `syncfs`):
/// for containers removed when they exit, whose writes need not survive a crash.
pub(super) fn mount(container_dir: &Path, lowers: &[PathBuf], volatile: bool) -> Result<()> {
    let rootfs = container_dir.join("rootfs");
    let upper = container_dir.join("upper");
    let work = container_dir.join("work");
    let empty;
    let lowers: Vec<&Path> = if lowers.is_empty() {
        // overlay needs at least one lower dir.
        empty = container_dir.join("empty");
        std::fs::create_dir_all(&empty).map_err(|e| SnapshotError::new("create", &empty, e))?;
        vec![empty.as_path()]
    } else {
        lowers.iter().map(PathBuf::as_path).collect()
    };
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| SnapshotError::new("fsopen overlay for", &rootfs, e))?;
    for lower in lowers.iter().rev() {
        fsconfig_set_string(&fs, "lowerdir+", *lower)
            .map_err(|e| fs_err("overlay lowerdir+", lower, &fs, e))?;
    }
    fsconfig_set_string(&fs, "upperdir", &upper)
        .map_err(|e| fs_err("overlay upperdir", &upper, &fs, e))?;
    fsconfig_set_string(&fs, "workdir", &work)
        .map_err(|e| fs_err("overlay workdir", &work, &fs, e))?;
    // As Docker does: no inode index, so the upper dir stays valid over other lowers (commit,
    // re-mount after an image's layer dirs were re-extracted). Older kernels may lack it.
    let _ = fsconfig_set_string(&fs, "index", "off");
    if volatile {
        let _ = rustix::mount::fsconfig_set_flag(&fs, "volatile");
    }
    let _ = kernel_log(&fs);
    fsconfig_create(&fs).map_err(|e| fs_err("overlay create for", &rootfs, &fs, e))?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
        .map_err(|e| fs_err("fsmount", &rootfs, &fs, e))?;
    move_mount(
        &mnt,
        "",
        CWD,
        &rootfs,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| SnapshotError::new("move_mount onto", &rootfs, e))?;
    Ok(())
}

/// Unmounts `rootfs` (every mount stacked on it); lazily when busy. Not mounted: Ok.
pub(super) fn unmount(rootfs: &Path) -> Result<()> {
    // A bounded loop: a mount point may carry several stacked mounts.
    for _ in 0..16 {
        match umount2(rootfs, UnmountFlags::NOFOLLOW) {
            Ok(()) => continue,
            Err(Errno::INVAL) | Err(Errno::NOENT) => return Ok(()),
            Err(Errno::BUSY) => {
                umount2(rootfs, UnmountFlags::NOFOLLOW | UnmountFlags::DETACH)
                    .map_err(|e| SnapshotError::new("unmount (detach)", rootfs, e))?;
            }
            Err(e) => return Err(SnapshotError::new("unmount", rootfs, e)),
        }
    }
    Ok(())
}

/// A test mount in `data_root`: two lowers, an upper, a work dir; mounted and taken down.
pub(super) fn probe(data_root: &Path) -> io::Result<()> {
    std::fs::create_dir_all(data_root)?;
    let dir = tempdir_in(data_root)?;
    let result = (|| {
        let lower1 = dir.join("l1");
        let lower2 = dir.join("l2");
        for d in [&lower1, &lower2] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(lower1.join("f"), b"1")?;
        mount(&dir, &[lower1, lower2], false).map_err(|e| e.source)?;
        let ok = std::fs::read(dir.join("rootfs/f")).map(|b| b == b"1");
        unmount(&dir.join("rootfs")).map_err(|e| e.source)?;
        match ok {
            Ok(true) => Ok(()),
            Ok(false) => Err(io::Error::other(
                "overlay test mount shows the wrong content",
            )),
            Err(e) => Err(e),
        }
    })();
    let _ = super::fsops::remove_tree(&dir);
    result
}

fn tempdir_in(root: &Path) -> io::Result<PathBuf> {
    let name = crate::util::random::hex_secret(6)?;
    let dir = root.join(format!(".overlay-check-{name}"));
    for sub in ["upper", "work", "rootfs"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    Ok(dir)
}
