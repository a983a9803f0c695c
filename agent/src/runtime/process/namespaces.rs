//! Namespaces: which ones a container gets new, loopback up in a new network namespace,
//! joining a running container's for an exec, and the hostname.

use super::{SetupError, check, cstring};
use crate::runtime::spec::{NetworkNamespace, RuntimeSpec};

/// `clone` flags for the main process: a new mount namespace always; PID, UTS, IPC unless
/// shared with the host; network when `New` (a `Join` is a `setns` in the child).
pub fn clone_flags(spec: &RuntimeSpec) -> libc::c_int {
    let ns = &spec.namespaces;
    let mut flags = libc::CLONE_NEWNS;
    if !ns.host_pid {
        flags |= libc::CLONE_NEWPID;
    }
    if !ns.host_uts {
        flags |= libc::CLONE_NEWUTS;
    }
    if !ns.host_ipc {
        flags |= libc::CLONE_NEWIPC;
    }
    if matches!(ns.network, NetworkNamespace::New) {
        flags |= libc::CLONE_NEWNET;
    }
    flags
}

/// The network namespace part that the child does itself: join a path, or bring `lo` up.
pub fn setup_network(net: &NetworkNamespace) -> Result<(), SetupError> {
    match net {
        NetworkNamespace::Host => Ok(()),
        NetworkNamespace::New => loopback_up(),
        NetworkNamespace::Join { path } => {
            let fd = std::fs::File::open(path).map_err(super::sys(format!(
                "open network namespace {}",
                path.display()
            )))?;
            join(&fd, libc::CLONE_NEWNET, "net")
        }
    }
}

/// `setns` into the namespace `fd` refers to.
pub fn join(
    fd: &impl std::os::fd::AsRawFd,
    kind: libc::c_int,
    name: &str,
) -> Result<(), SetupError> {
    // SAFETY: setns on an open namespace fd.
    let r = unsafe { libc::setns(fd.as_raw_fd(), kind) };
    check(r, || format!("setns {name}")).map(drop)
}

/// `ifconfig lo up` with an ioctl: SIOCGIFFLAGS, add IFF_UP, SIOCSIFFLAGS.
fn loopback_up() -> Result<(), SetupError> {
    // SAFETY: a datagram socket and ioctls on an ifreq we own.
    unsafe {
        let sock = check(
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0),
            || "socket for loopback".into(),
        )?;
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let r = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if r == -1 {
            libc::close(sock);
            return check(r, || "SIOCGIFFLAGS lo".into()).map(drop);
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        let r = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        libc::close(sock);
        check(r, || "SIOCSIFFLAGS lo up".into()).map(drop)
    }
}

pub fn set_hostname(name: &str) -> Result<(), SetupError> {
    if name.is_empty() {
        return Ok(());
    }
    let c = cstring(name)?;
    // SAFETY: sethostname with a buffer and its length.
    let r = unsafe { libc::sethostname(c.as_ptr(), name.len()) };
    check(r, || format!("sethostname {name}")).map(drop)
}

/// The namespaces of a running container an exec joins, in the order they are joined:
/// mount last, because after it /proc/<pid> of the host is no longer reachable.
pub const EXEC_NAMESPACES: &[(&str, libc::c_int)] = &[
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
];

/// Opens all of `/proc/<pid>/ns/*` first, then joins them. Joining our own namespace
/// (shared with the host) is harmless.
pub fn join_container(pid: i32) -> Result<(), SetupError> {
    let mut fds = Vec::with_capacity(EXEC_NAMESPACES.len());
    for (name, kind) in EXEC_NAMESPACES {
        let path = format!("/proc/{pid}/ns/{name}");
        let f = std::fs::File::open(&path).map_err(super::sys(format!("open {path}")))?;
        fds.push((f, *kind, *name));
    }
    for (f, kind, name) in &fds {
        join(f, *kind, name)?;
    }
    Ok(())
}
