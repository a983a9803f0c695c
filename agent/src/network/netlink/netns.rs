//! The syscall side: namespace files (`ip netns add`/`del` without `ip`), and netlink
//! sockets opened inside a namespace by a short-lived helper thread.
//!
//! Namespaces are per thread, and a socket stays in the namespace it was created in, so a
//! helper thread that `setns`es (or `unshare`s) and opens a netlink socket hands back a
//! socket the caller can drive from any thread. The caller's own thread never changes
//! namespace: it may be a pooled `spawn_blocking` thread.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::thread::{Scope, ScopedJoinHandle};

use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use super::NetlinkError;

/// `statfs` magic of nsfs, the filesystem of `/proc/<pid>/ns/*` and their bind mounts.
const NSFS_MAGIC: i64 = 0x6e73_6673;

fn netns_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> NetlinkError {
    let path = path.to_path_buf();
    move |source| NetlinkError::Netns { path, op, source }
}

/// Opens a namespace file made by [`create`], checking that it is one.
pub(super) fn open(path: &Path) -> Result<File, NetlinkError> {
    let file = File::open(path).map_err(netns_err(path, "open"))?;
    if !is_nsfs(file.as_fd()).map_err(netns_err(path, "statfs"))? {
        return Err(NetlinkError::NotANetns(path.to_path_buf()));
    }
    Ok(file)
}

fn is_nsfs(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(rustix::fs::fstatfs(fd)?.f_type == NSFS_MAGIC)
}

/// A netlink route socket inside the namespace `ns` (opened by `path`, for messages).
pub(super) fn socket_in(ns: &File, path: &Path) -> Result<Socket, NetlinkError> {
    std::thread::scope(|scope| join(spawn_socket_in(scope, ns, path)?, path))
}

/// [`socket_in`] started on a helper thread of `scope`, for the caller to do other work
/// while the thread starts (under load, starting a thread can take milliseconds); get the
/// socket with [`join`].
pub(super) fn spawn_socket_in<'scope>(
    scope: &'scope Scope<'scope, '_>,
    ns: &'scope File,
    path: &'scope Path,
) -> Result<ScopedJoinHandle<'scope, Result<Socket, NetlinkError>>, NetlinkError> {
    let fd = ns.as_fd();
    spawn_helper(scope, path, move || {
        // SAFETY: setns on an open namespace fd; only this helper thread moves.
        if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } == -1 {
            return Err(netns_err(path, "setns")(io::Error::last_os_error()));
        }
        Socket::new(NETLINK_ROUTE).map_err(netns_err(path, "open netlink socket in"))
    })
}

/// Makes a new namespace pinned by a bind mount at `path` (see [`super::create_netns`]) and
/// returns a netlink socket inside it. On failure nothing is left at `path`.
pub(super) fn create(path: &Path) -> Result<Socket, NetlinkError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => {
            return Err(netns_err(path, "no parent directory")(
                io::ErrorKind::InvalidInput.into(),
            ));
        }
    };
    std::fs::create_dir_all(dir).map_err(netns_err(dir, "create directory"))?;
    make_shared_mount(dir)?;

    // A file left by a crash is reused; a live namespace is not.
    if let Ok(st) = rustix::fs::statfs(path)
        && st.f_type == NSFS_MAGIC
    {
        return Err(NetlinkError::NetnsExists(path.to_path_buf()));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(netns_err(path, "create file"))?;

    let made = on_helper_thread(path, || {
        // SAFETY: unshare of the network namespace of this helper thread only.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } == -1 {
            return Err(netns_err(path, "unshare")(io::Error::last_os_error()));
        }
        rustix::mount::mount_bind("/proc/thread-self/ns/net", path)
            .map_err(|e| netns_err(path, "bind mount")(e.into()))?;
        Socket::new(NETLINK_ROUTE).map_err(netns_err(path, "open netlink socket in"))
    });
    if made.is_err() {
        let _ = remove(path);
    }
    made
}

/// `ip netns add` does the same: the directory becomes a mount point of its own, shared,
/// so that unmounting a namespace file also unmounts the copies that mount namespaces
/// cloned later (containers) hold, and the namespace can go away.
fn make_shared_mount(dir: &Path) -> Result<(), NetlinkError> {
    let shared = MountPropagationFlags::SHARED | MountPropagationFlags::REC;
    match rustix::mount::mount_change(dir, shared) {
        Ok(()) => return Ok(()),
        // EINVAL: not a mount point yet.
        Err(rustix::io::Errno::INVAL) => {}
        Err(e) => return Err(netns_err(dir, "make shared mount")(e.into())),
    }
    rustix::mount::mount_bind_recursive(dir, dir)
        .map_err(|e| netns_err(dir, "bind mount directory on itself")(e.into()))?;
    rustix::mount::mount_change(dir, shared)
        .map_err(|e| netns_err(dir, "make shared mount")(e.into()))
}

/// Unmounts and unlinks a namespace file; `Ok` if it is already gone.
pub(super) fn remove(path: &Path) -> Result<(), NetlinkError> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        // EINVAL: not mounted (a half-made namespace); ENOENT: no file.
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(netns_err(path, "unmount")(e.into())),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(netns_err(path, "remove file")(e)),
    }
}

/// Runs `f` on a new thread that ends with it, so whatever namespace `f` enters dies with it.
fn on_helper_thread<T: Send>(
    path: &Path,
    f: impl FnOnce() -> Result<T, NetlinkError> + Send,
) -> Result<T, NetlinkError> {
    std::thread::scope(|scope| join(spawn_helper(scope, path, f)?, path))
}

fn spawn_helper<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    path: &Path,
    f: impl FnOnce() -> Result<T, NetlinkError> + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, Result<T, NetlinkError>>, NetlinkError> {
    std::thread::Builder::new()
        .name("berth-netns".into())
        .spawn_scoped(scope, f)
        .map_err(netns_err(path, "spawn helper thread for"))
}

/// The result of a helper thread (`path` names its namespace if it panicked).
pub(super) fn join<T>(
    thread: ScopedJoinHandle<'_, Result<T, NetlinkError>>,
    path: &Path,
) -> Result<T, NetlinkError> {
    thread
        .join()
        .map_err(|_| NetlinkError::HelperPanicked(PathBuf::from(path)))?
}
