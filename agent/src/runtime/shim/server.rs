//! `berth shim-server`: forks supervisors for the agent, so that a container start costs a
//! `fork` of a small process instead of an `exec` of the whole `berth` binary.
//!
//! Executing `berth shim` for every container costs ~1.5 ms (loading a 20 MB PIE, its
//! 23,000 relocations, libc's start-up) and ~400 KB of private memory per supervisor: each
//! process relocates the read-only data itself, so each gets its own copy of those pages.
//! Supervisors forked from one server share them. The agent starts one server when it
//! first starts a container ([`crate::runtime::spawner`]), with a `SOCK_SEQPACKET` socket
//! as fd 0. A request is one message: the container directory's path, with the write end
//! of a pipe attached (`SCM_RIGHTS`). The server forks; the child becomes the supervisor
//! exactly as `berth shim` does after its own fork ([`super::daemon`]) and reports its one
//! line on that pipe. The server keeps nothing else open, ignores SIGCHLD (the kernel
//! reaps supervisors that end) and exits when the agent's end of the socket closes;
//! supervisors outlive it as they outlive the agent.
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
use std::path::Path;

/// The hidden subcommand.
pub const SUBCOMMAND: &str = "shim-server";
/// Bytes of room the agent leaves at the end of the server's command line for the
/// supervisors' titles (a container directory's path must fit in it).
pub const TITLE_ROOM: usize = 4096;
/// Longest request (a path) accepted.
const MAX_REQUEST: usize = 4096;

/// Entry point of `berth shim-server` (fd 0: the agent's socket). Returns the exit code.
pub fn serve() -> i32 {
    // SAFETY: process-wide setup of this fresh, single-threaded process: close what the
    // agent may have leaked, let the kernel reap supervisors, never die of a closed pipe.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let title = Title::find();
    // SAFETY: fd 0 is the socket the agent gave us; it stays open for our whole life.
    let socket = unsafe { BorrowedFd::borrow_raw(0) };
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
        let bundle = Path::new(OsStr::from_bytes(&buf[..msg.bytes]));
        // SAFETY: fork in a single-threaded process.
        match unsafe { libc::fork() } {
            0 => supervisor(bundle, report, title.as_ref()),
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
