//! The container's /dev: a fresh tmpfs with only the standard nodes and links, so no host
//! device is reachable unless the spec binds it in.

use super::{SetupError, check, cstring};
use std::os::fd::{AsRawFd, BorrowedFd};

/// `(name, major, minor)`: the character devices every container gets, mode 0666.
pub const DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// `(link, target)` created in /dev.
pub const LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

/// Fills the freshly mounted /dev tmpfs (`dev` is a directory fd of it). A node that
/// cannot be created (no CAP_MKNOD) is bound from the host's /dev instead.
pub fn populate(dev: BorrowedFd<'_>) -> Result<(), SetupError> {
    for &(name, major, minor) in DEVICES {
        let c = cstring(name)?;
        // SAFETY: mknodat relative to an open directory fd.
        let r = unsafe {
            libc::mknodat(
                dev.as_raw_fd(),
                c.as_ptr(),
                libc::S_IFCHR | 0o666,
                libc::makedev(major, minor),
            )
        };
        if r == -1 {
            bind_host_device(dev, name)?;
        } else {
            // SAFETY: fchmodat relative to an open directory fd (umask may have masked bits).
            let r = unsafe { libc::fchmodat(dev.as_raw_fd(), c.as_ptr(), 0o666, 0) };
            check(r, || format!("chmod /dev/{name}"))?;
        }
    }
    for &(link, target) in LINKS {
        let (l, t) = (cstring(link)?, cstring(target)?);
        // SAFETY: symlinkat relative to an open directory fd.
        let r = unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), l.as_ptr()) };
        check(r, || format!("symlink /dev/{link}"))?;
    }
    for dir in ["pts", "shm", "mqueue"] {
        let d = cstring(dir)?;
        // SAFETY: mkdirat relative to an open directory fd.
        let r = unsafe { libc::mkdirat(dev.as_raw_fd(), d.as_ptr(), 0o755) };
        check(r, || format!("mkdir /dev/{dir}"))?;
    }
    Ok(())
}

fn bind_host_device(dev: BorrowedFd<'_>, name: &str) -> Result<(), SetupError> {
    let c = cstring(name)?;
    // SAFETY: openat relative to an open directory fd; the fd is closed right after.
    let fd = unsafe {
        libc::openat(
            dev.as_raw_fd(),
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o666,
        )
    };
    check(fd, || format!("create /dev/{name}"))?;
    // SAFETY: closing the fd we just opened.
    unsafe { libc::close(fd) };
    let target = format!("/proc/self/fd/{}/{name}", dev.as_raw_fd());
    super::mounts::mount(
        Some(&format!("/dev/{name}")),
        &target,
        None,
        libc::MS_BIND,
        None,
    )
}
