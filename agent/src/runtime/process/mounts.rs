//! The container's mount namespace: rootfs bound onto itself, /proc, /dev, /sys, the
//! spec's mounts, `pivot_root`, then masked and read-only paths.
//!
//! Destinations inside the rootfs are resolved with `openat2(RESOLVE_IN_ROOT)` and
//! mounted on through `/proc/self/fd/<fd>`, so a symlink in a hostile image cannot send a
//! mount outside the rootfs (CVE-2021-30465 and friends).

use super::{SetupError, check, cstring};
use crate::runtime::spec::{MountKind, MountSpec, NetworkNamespace, RuntimeSpec};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// `mount(2)`, with the target in the error.
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), SetupError> {
    let src = source.map(cstring).transpose()?;
    let tgt = cstring(target)?;
    let fst = fstype.map(cstring).transpose()?;
    let dat = data.map(cstring).transpose()?;
    // SAFETY: mount with NUL-terminated strings or nulls.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            fst.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |s| s.as_ptr().cast()),
        )
    };
    check(r, || {
        format!(
            "mount {} on {target} ({})",
            source.unwrap_or("none"),
            fstype.unwrap_or("bind")
        )
    })
    .map(drop)
}

/// The path through which the kernel reaches the object `fd` refers to.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn in_root(root: &OwnedFd, rel: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat2(
        root,
        if rel.is_empty() { "." } else { rel },
        flags | OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Opens `dest` (a container path) inside `root`, creating what is missing: directories
/// along the way and, last, a directory or an empty file. Every lookup is confined to
/// the rootfs, symlinks included.
pub fn create_in_root(root: &OwnedFd, dest: &str, dir: bool) -> Result<OwnedFd, SetupError> {
    let comps: Vec<&str> = dest
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut cur = String::new();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let next = if cur.is_empty() {
            c.to_string()
        } else {
            format!("{cur}/{c}")
        };
        match in_root(root, &next, OFlags::empty()) {
            Ok(fd) if last => return Ok(fd),
            Ok(_) => {}
            Err(rustix::io::Errno::NOENT) => {
                let parent = in_root(root, &cur, OFlags::DIRECTORY)
                    .map_err(|e| sys_err(format!("open {cur} in rootfs"), e))?;
                let create_dir = !last || dir;
                let r = if create_dir {
                    rustix::fs::mkdirat(&parent, *c, Mode::from_raw_mode(0o755))
                } else {
                    rustix::fs::openat(
                        &parent,
                        *c,
                        OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::WRONLY
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o644),
                    )
                    .map(drop)
                };
                match r {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(sys_err(format!("create {next} in rootfs"), e)),
                }
                if last {
                    return in_root(root, &next, OFlags::empty())
                        .map_err(|e| sys_err(format!("open {next} in rootfs"), e));
                }
            }
            Err(e) => return Err(sys_err(format!("open {next} in rootfs"), e)),
        }
        cur = next;
    }
    in_root(root, "", OFlags::DIRECTORY).map_err(|e| sys_err("open rootfs".into(), e))
}

fn sys_err(context: String, e: rustix::io::Errno) -> SetupError {
    SetupError::Sys {
        context,
        source: e.into(),
    }
}

/// Refuses an image whose /proc, /sys or /dev is a symlink (CVE-2019-19921,
/// CVE-2023-27561, CVE-2026-41579): mounts over them would land elsewhere.
fn refuse_symlinks(root: &OwnedFd) -> Result<(), SetupError> {
    for name in ["proc", "sys", "dev"] {
        match rustix::fs::statat(root, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st)
                if rustix::fs::FileType::from_raw_mode(st.st_mode)
                    == rustix::fs::FileType::Symlink =>
            {
                return Err(SetupError::Invalid(format!(
                    "/{name} in the image is a symlink, which is not allowed"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything before `pivot_root`, then `pivot_root`, then what comes after. `console` is
/// the pty slave fd to bind on /dev/console when the process has a TTY.
pub fn setup(spec: &RuntimeSpec, console: Option<i32>) -> Result<(), SetupError> {
    // Our mounts must not propagate to the host, and host unmounts may still reach us.
    mount(None, "/", None, libc::MS_REC | libc::MS_SLAVE, None)?;
    let rootfs = spec
        .rootfs
        .to_str()
        .ok_or_else(|| SetupError::Invalid("rootfs path is not UTF-8".into()))?;
    mount(
        Some(rootfs),
        rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| sys_err(format!("open rootfs {rootfs}"), e))?;
    refuse_symlinks(&root)?;

    let nosuid_nodev_noexec = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let t = create_in_root(&root, "/proc", true)?;
    mount(
        Some("proc"),
        &fd_path(&t),
        Some("proc"),
        nosuid_nodev_noexec,
        None,
    )?;

    let t = create_in_root(&root, "/dev", true)?;
    mount(
        Some("tmpfs"),
        &fd_path(&t),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    let dev =
        in_root(&root, "dev", OFlags::DIRECTORY).map_err(|e| sys_err("open /dev".into(), e))?;
    super::devices::populate(dev.as_fd())?;
    let t = create_in_root(&root, "/dev/pts", true)?;
    mount(
        Some("devpts"),
        &fd_path(&t),
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    let t = create_in_root(&root, "/dev/shm", true)?;
    mount(
        Some("shm"),
        &fd_path(&t),
        Some("tmpfs"),
        nosuid_nodev_noexec,
        Some("mode=1777,size=65536k"),
    )?;
    let t = create_in_root(&root, "/dev/mqueue", true)?;
    mount(
        Some("mqueue"),
        &fd_path(&t),
        Some("mqueue"),
        nosuid_nodev_noexec,
        None,
    )?;

    let t = create_in_root(&root, "/sys", true)?;
    let sys_flags = libc::MS_RDONLY | nosuid_nodev_noexec;
    if let Err(e) = mount(Some("sysfs"), &fd_path(&t), Some("sysfs"), sys_flags, None) {
        // sysfs is tied to the network namespace: in the host's it may be refused.
        if !matches!(spec.namespaces.network, NetworkNamespace::Host) {
            return Err(e);
        }
        mount(
            Some("/sys"),
            &fd_path(&t),
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )?;
        let t =
            in_root(&root, "sys", OFlags::DIRECTORY).map_err(|e| sys_err("open /sys".into(), e))?;
        mount(
            None,
            &fd_path(&t),
            None,
            libc::MS_REMOUNT | libc::MS_BIND | sys_flags,
            None,
        )?;
    }

    for m in &spec.mounts {
        spec_mount(&root, m)?;
    }
    if let Some(slave) = console {
        let src = console_source(slave)?;
        let t = create_in_root(&root, "/dev/console", false)?;
        mount(
            Some(&fd_path(&src)),
            &fd_path(&t),
            None,
            libc::MS_BIND,
            None,
        )?;
    }
    drop((root, dev));
    pivot(rootfs)?;

    if !spec.privileged {
        for p in &spec.masked_paths {
            mask(p)?;
        }
        for p in &spec.readonly_paths {
            readonly(p)?;
        }
    }
    if spec.readonly_rootfs {
        mount(
            None,
            "/",
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            None,
        )?;
    }
    Ok(())
}

/// The pty slave, opened again in our own mount namespace (a bind mount's source must
/// be a mount of the caller's namespace; the inherited fd is of the host's). Opened
/// without following symlinks and checked to be the very same device (CVE-2025-52565).
fn console_source(slave: i32) -> Result<OwnedFd, SetupError> {
    let path = std::fs::read_link(format!("/proc/self/fd/{slave}"))
        .map_err(super::sys("readlink pty slave"))?;
    let fd = rustix::fs::open(
        &path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| sys_err(format!("open {}", path.display()), e))?;
    // SAFETY: `slave` is an open fd the supervisor passed us; borrowed only for fstat.
    let want = rustix::fs::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(slave) })
        .map_err(|e| sys_err("fstat pty slave".into(), e))?;
    let got = rustix::fs::fstat(&fd).map_err(|e| sys_err("fstat console".into(), e))?;
    let is_chr =
        rustix::fs::FileType::from_raw_mode(got.st_mode) == rustix::fs::FileType::CharacterDevice;
    if !is_chr || got.st_rdev != want.st_rdev {
        return Err(SetupError::Invalid(format!(
            "{} is not the container's terminal",
            path.display()
        )));
    }
    Ok(fd)
}

fn spec_mount(root: &OwnedFd, m: &MountSpec) -> Result<(), SetupError> {
    match &m.kind {
        MountKind::Bind {
            source,
            readonly,
            recursive,
        } => {
            let src = source.to_str().ok_or_else(|| {
                SetupError::Invalid(format!("mount source {source:?} is not UTF-8"))
            })?;
            let is_dir = std::fs::metadata(source)
                .map_err(super::sys(format!("mount source {src}")))?
                .is_dir();
            let t = create_in_root(root, &m.destination, is_dir)?;
            let mut flags = libc::MS_BIND;
            if *recursive {
                flags |= libc::MS_REC;
            }
            mount(Some(src), &fd_path(&t), None, flags, None)?;
            if *readonly {
                // A bind mount takes MS_RDONLY only on a remount, of the new mount itself.
                let t = create_in_root(root, &m.destination, is_dir)?;
                mount(
                    None,
                    &fd_path(&t),
                    None,
                    libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                    None,
                )?;
            }
        }
        MountKind::Tmpfs { options, readonly } => {
            let (mut flags, data) = tmpfs_options(options);
            if *readonly {
                flags |= libc::MS_RDONLY;
            }
            let t = create_in_root(root, &m.destination, true)?;
            mount(
                Some("tmpfs"),
                &fd_path(&t),
                Some("tmpfs"),
                flags,
                Some(&data),
            )?;
        }
    }
    Ok(())
}

/// Splits `mount -o` style options into flags and the filesystem's data string.
/// tmpfs defaults to nosuid,nodev as Docker's `--tmpfs`.
pub fn tmpfs_options(options: &str) -> (libc::c_ulong, String) {
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV;
    let mut data = Vec::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => flags |= libc::MS_RDONLY,
            "rw" => flags &= !libc::MS_RDONLY,
            "nosuid" => flags |= libc::MS_NOSUID,
            "suid" => flags &= !libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "dev" => flags &= !libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            "exec" => flags &= !libc::MS_NOEXEC,
            "noatime" => flags |= libc::MS_NOATIME,
            "nodiratime" => flags |= libc::MS_NODIRATIME,
            "relatime" => flags |= libc::MS_RELATIME,
            "strictatime" => flags |= libc::MS_STRICTATIME,
            "sync" => flags |= libc::MS_SYNCHRONOUS,
            "atime" | "async" => {}
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

/// `pivot_root(".", ".")` then detach the old root, as runc does: no directory for the
/// old root is needed and the host's tree is gone from the container's view.
fn pivot(rootfs: &str) -> Result<(), SetupError> {
    std::env::set_current_dir(Path::new(rootfs)).map_err(super::sys(format!("chdir {rootfs}")))?;
    let dot = cstring(".")?;
    // SAFETY: pivot_root and umount2 with NUL-terminated paths.
    unsafe {
        let r = libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr());
        check(r as libc::c_int, || "pivot_root".into())?;
        check(libc::umount2(dot.as_ptr(), libc::MNT_DETACH), || {
            "unmount old root".into()
        })?;
    }
    std::env::set_current_dir("/").map_err(super::sys("chdir /"))
}

fn lstat(path: &str) -> Option<rustix::fs::FileType> {
    rustix::fs::lstat(path)
        .ok()
        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode))
}

/// Hides `path`: /dev/null over a file, an empty read-only tmpfs over a directory.
/// Missing paths and symlinks are skipped (a mount would follow the link).
fn mask(path: &str) -> Result<(), SetupError> {
    match lstat(path) {
        None | Some(rustix::fs::FileType::Symlink) => Ok(()),
        Some(rustix::fs::FileType::Directory) => mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            libc::MS_RDONLY,
            Some("size=0"),
        ),
        Some(_) => mount(Some("/dev/null"), path, None, libc::MS_BIND, None),
    }
}

/// Binds `path` onto itself and remounts it read-only.
fn readonly(path: &str) -> Result<(), SetupError> {
    match lstat(path) {
        None | Some(rustix::fs::FileType::Symlink) => Ok(()),
        Some(_) => {
            mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None)?;
            mount(
                None,
                path,
                None,
                libc::MS_REMOUNT
                    | libc::MS_BIND
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV
                    | libc::MS_NOEXEC,
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_split() {
        let (flags, data) = tmpfs_options("size=64m,noexec,mode=1777,ro");
        assert_eq!(data, "size=64m,mode=1777");
        assert_ne!(flags & libc::MS_NOEXEC, 0);
        assert_ne!(flags & libc::MS_RDONLY, 0);
        assert_ne!(flags & libc::MS_NOSUID, 0);
    }
}
