//! `berth shim-server`: forks supervisors for the agent, so that a container start costs a
//! `fork` of a small process instead of an `exec` of the whole `berth` binary.
//!
//! Executing `berth shim` for every container costs ~1.5 ms (loading a 20 MB PIE, its
//! 23,000 relocations, libc's start-up) and ~400 KB of private memory per supervisor: each
//! process relocates the read-only data itself, so each gets its own copy of those pages.
//! Supervisors forked from one server share them. The agent starts one server when it
//! first starts a container ([`crate::runtime::spawner`]) as
//! `berth shim-server <data root>/containers <padding>`, with one end of a
//! `SOCK_SEQPACKET` socket pair as fd 0; nobody else can connect to it, and the server
//! checks at start that its peer is its parent with its own user id. A request is one
//! message: the container directory's path (at most [`MAX_REQUEST`] bytes), with the write
//! end of a pipe attached (`SCM_RIGHTS`). The path must name a directory (not a symbolic
//! link) directly under the containers directory; anything else is answered with an error
//! on the pipe. The server forks; the child becomes the supervisor exactly as `berth shim`
//! does after its own fork ([`super::daemon`]: new session, stdio on /dev/null,
//! non-dumpable) and reports its one line on that pipe. The server is non-dumpable, keeps
//! nothing open but its socket, ignores SIGCHLD (the kernel reaps supervisors that end)
//! and exits when the agent's end of the socket closes; supervisors outlive it as they
//! outlive the agent.
//!
//! Operators and tests find a supervisor by its command line, `berth shim --bundle <dir>`:
//! the agent starts the server with room at the end of its own command line
//! ([`TITLE_ROOM`]) and each child writes its title there.

use rustix::io::Errno;
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, recvmsg};
use std::ffi::OsStr;
use std::io::{IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The hidden subcommand.
pub const SUBCOMMAND: &str = "shim-server";
/// Bytes of room the agent leaves at the end of the server's command line for the
/// supervisors' titles (a container directory's path must fit in it).
pub const TITLE_ROOM: usize = 4096;
/// Longest request (a path) accepted.
pub const MAX_REQUEST: usize = 4096;
/// Exit code when fd 0 is not a socket to the parent (the server refuses to run).
const EXIT_BAD_SOCKET: i32 = 2;

/// Entry point of `berth shim-server <containers dir> [padding]` (fd 0: the agent's
/// socket). Returns the exit code: 0 when the agent closed its end.
pub fn serve(containers: &Path) -> i32 {
    // SAFETY: process-wide setup of this fresh, single-threaded process: close what the
    // agent may have leaked, let the kernel reap supervisors, never die of a closed pipe,
    // and keep other processes of this user out of its memory (/proc/<pid>/mem, ptrace).
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        // Whatever stdout and stderr the agent had (a terminal, a log pipe) are not ours.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            libc::close(null);
        }
        // Hold no directory of the agent's busy.
        libc::chdir(c"/".as_ptr());
    }
    // SAFETY: fd 0 is the socket the agent gave us; it stays open for our whole life.
    let socket = unsafe { BorrowedFd::borrow_raw(0) };
    if !is_socket_to_parent(socket) || !containers.is_absolute() {
        return EXIT_BAD_SOCKET;
    }
    let title = Title::find();
    let mut buf = vec![0u8; MAX_REQUEST];
    loop {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = match recvmsg(
            socket,
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(msg) => msg,
            Err(Errno::INTR) => continue,
            Err(_) => return 1,
        };
        let mut report: Option<OwnedFd> = None;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                for fd in fds {
                    report.get_or_insert(fd);
                }
            }
        }
        if msg.bytes == 0 && report.is_none() {
            return 0; // the agent closed its end
        }
        let Some(report) = report else { continue };
        if msg.flags.contains(ReturnFlags::TRUNC) || msg.bytes == 0 {
            reply_error(report, "invalid supervisor request");
            continue;
        }
        let bundle = match container_dir(containers, &buf[..msg.bytes]) {
            Ok(bundle) => bundle,
            Err(why) => {
                reply_error(report, &format!("invalid supervisor request: {why}"));
                continue;
            }
        };
        // SAFETY: fork in a single-threaded process.
        match unsafe { libc::fork() } {
            0 => supervisor(&bundle, report, title.as_ref()),
            -1 => reply_error(report, "fork supervisor"),
            _ => drop(report),
        }
    }
}

/// The forked child: becomes the container's supervisor. Never returns.
fn supervisor(bundle: &Path, report: OwnedFd, title: Option<&Title>) -> ! {
    // SAFETY: undo the server's SIGCHLD disposition (the supervisor reaps its children
    // itself), then keep only the report pipe, as fd 3, above stdio.
    let report = unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        let raw = std::os::fd::IntoRawFd::into_raw_fd(report);
        if raw != 3 {
            libc::dup2(raw, 3);
        }
        libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
        OwnedFd::from_raw_fd(3)
    };
    if let Some(title) = title {
        title.set(bundle);
    }
    super::daemon(bundle, report)
}

/// Whether `socket` is a `SOCK_SEQPACKET` socket whose peer is this process's parent,
/// running as this process's user (what the agent's socket pair is).
fn is_socket_to_parent(socket: BorrowedFd<'_>) -> bool {
    use rustix::net::{SocketType, sockopt};
    let Ok(SocketType::SEQPACKET) = sockopt::socket_type(socket) else {
        return false;
    };
    let Ok(peer) = sockopt::socket_peercred(socket) else {
        return false;
    };
    Some(peer.pid) == rustix::process::getppid() && peer.uid == rustix::process::geteuid()
}

/// The container directory a request names: `containers/<name>`, one plain component
/// under the containers directory, an existing directory and not a symbolic link. The
/// path is rebuilt from `containers` and that one name, so what the supervisor opens is
/// exactly what was checked.
pub fn container_dir(containers: &Path, request: &[u8]) -> Result<PathBuf, &'static str> {
    if request.contains(&0) {
        return Err("a NUL byte in the path");
    }
    let path = Path::new(OsStr::from_bytes(request));
    let mut components = path.components();
    let Some(Component::Normal(name)) = components.next_back() else {
        return Err("not a container directory");
    };
    if components.as_path() != containers
        || path.components().any(|c| c == Component::ParentDir)
        || path.as_os_str().as_bytes().ends_with(b"/.")
    {
        return Err("not under the containers directory");
    }
    let bundle = containers.join(name);
    match std::fs::symlink_metadata(&bundle) {
        Ok(meta) if meta.file_type().is_dir() => Ok(bundle),
        Ok(_) => Err("not a directory"),
        Err(_) => Err("no such container directory"),
    }
}

fn reply_error(report: OwnedFd, message: &str) {
    let reply = crate::runtime::protocol::Reply::Error {
        message: message.to_string(),
        exit_code: 125,
    };
    let line = serde_json::to_string(&reply).unwrap_or_default();
    let _ = writeln!(std::fs::File::from(report), "{line}");
}

/// This process's command-line area (`arg_start..arg_end` of /proc/self/stat): where
/// `/proc/<pid>/cmdline`, and so `ps`, read its arguments from.
struct Title {
    start: usize,
    end: usize,
}

impl Title {
    fn find() -> Option<Title> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces), from field 3 on;
        // arg_start and arg_end are fields 48 and 49.
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace().skip(48 - 3);
        let start: usize = fields.next()?.parse().ok()?;
        let end: usize = fields.next()?.parse().ok()?;
        (end > start).then_some(Title { start, end })
    }

    /// Rewrites the area as `<argv[0]> shim --bundle <bundle>`, NUL-separated, padded with
    /// NULs (what `berth shim --bundle <bundle>` would show); cut short if it does not fit.
    fn set(&self, bundle: &Path) {
        let len = self.end - self.start;
        // SAFETY: [start, end) holds this process's own argument strings, on its own stack,
        // writable, and nothing reads them after start-up (std copies the arguments when
        // asked; this process never asks again).
        let area = unsafe { std::slice::from_raw_parts_mut(self.start as *mut u8, len) };
        let argv0_len = area.iter().position(|&b| b == 0).unwrap_or(0);
        let mut title = area[..argv0_len].to_vec();
        for part in [
            OsStr::new("shim"),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
        ] {
            title.push(0);
            title.extend_from_slice(part.as_bytes());
        }
        title.truncate(len - 1);
        area[..title.len()].copy_from_slice(&title);
        area[title.len()..].fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_directly_under_the_containers_directory_are_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = tmp.path().join("containers");
        std::fs::create_dir_all(containers.join("abc/rootfs")).unwrap();
        std::fs::write(containers.join("file"), "").unwrap();
        std::os::unix::fs::symlink(tmp.path(), containers.join("link")).unwrap();
        let root = containers.display().to_string();
        let ok = |p: &str| container_dir(&containers, p.as_bytes());
        assert_eq!(ok(&format!("{root}/abc")), Ok(containers.join("abc")));
        assert_eq!(ok(&format!("{root}//abc")), Ok(containers.join("abc")));
        for bad in [
            format!("{root}/abc/rootfs"),
            format!("{root}/../containers/abc"),
            format!("{root}/abc/.."),
            format!("{root}/abc/."),
            format!("{root}/link"),
            format!("{root}/file"),
            format!("{root}/missing"),
            format!("{root}/abc\0x"),
            root.clone(),
            tmp.path().display().to_string(),
            "abc".to_string(),
            "/".to_string(),
            String::new(),
        ] {
            assert!(ok(&bad).is_err(), "{bad:?} accepted");
        }
    }
}
