//! `berth shim --bundle <dir>`: the per-container supervisor.
//!
//! The process the agent spawns forks; the child daemonises (new session, stdio on
//! /dev/null, SIGPIPE and SIGHUP ignored, non-dumpable before it touches any container
//! namespace — CVE-2019-5736 — and a child subreaper so exec processes come back to it),
//! creates the main process, which waits just before `execve`, binds the socket, writes
//! `shim.pid` and `init.pid`, and reports over a pipe. The original process prints that
//! report as one JSON line ([`Reply::Started`] or [`Reply::Error`]) and exits, so the
//! agent's spawn returns at once while the supervisor lives on, reparented.
//!
//! The supervisor is single-threaded and has no async runtime: one `poll` loop
//! ([`supervisor`]).

pub mod files;
pub mod launch;
pub mod log;
pub mod memory;
pub mod server;
pub mod supervisor;

use crate::runtime::protocol::Reply;
use std::io::{BufRead, Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

/// Most bytes of the report read from the daemonised child.
const MAX_REPORT: u64 = 64 * 1024;

/// Why the supervisor could not start the container.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid spec.json: {0}")]
    Spec(#[from] serde_json::Error),
    /// The container process reported a failure during its setup.
    #[error("{message}")]
    Child { message: String, exit_code: i32 },
}

impl LaunchError {
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::Child { exit_code, .. } => *exit_code,
            _ => 125,
        }
    }
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let context = context.into();
    move |source| LaunchError::Io { context, source }
}

/// Entry point of `berth shim`. Returns the exit code of the original process: 0 when
/// the container process was created, 1 otherwise.
pub fn run(bundle: &Path) -> i32 {
    // Whatever the spawner leaked stays out of the supervisor and its containers.
    // SAFETY: close_range on fds we do not use.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    let (r, w) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok(p) => p,
        Err(e) => return print_reply(&error_reply(&format!("pipe: {e}"), 125)),
    };
    // SAFETY: fork while single-threaded (clap parsing only so far).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return print_reply(&error_reply("fork supervisor", 125));
    }
    if pid == 0 {
        drop(r);
        daemon(bundle, w);
    }
    drop(w);
    // One line, not to end-of-file: the container process holds a copy of the write end
    // until it execs.
    let mut line = String::new();
    let _ = std::io::BufReader::new(std::fs::File::from(r).take(MAX_REPORT)).read_line(&mut line);
    match serde_json::from_str::<Reply>(line.trim()) {
        Ok(reply) => print_reply(&reply),
        Err(_) => print_reply(&error_reply("the supervisor exited before reporting", 125)),
    }
}

fn error_reply(message: &str, exit_code: i32) -> Reply {
    Reply::Error {
        message: message.to_string(),
        exit_code,
    }
}

fn print_reply(reply: &Reply) -> i32 {
    let json = serde_json::to_string(reply).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}");
    let _ = out.flush();
    match reply {
        Reply::Started { .. } => 0,
        _ => 1,
    }
}

/// The daemonised supervisor. Never returns.
fn daemon(bundle: &Path, report: OwnedFd) -> ! {
    // SAFETY: process-wide setup syscalls in the fresh, single-threaded child.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            libc::close(null);
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::chdir(c"/".as_ptr());
    }
    let result = supervisor::Supervisor::create(bundle);
    let reply = match &result {
        Ok(s) => Reply::Started { pid: s.init_pid() },
        Err(e) => error_reply(&e.to_string(), e.exit_code()),
    };
    let mut f = std::fs::File::from(report);
    let _ = writeln!(f, "{}", serde_json::to_string(&reply).unwrap_or_default());
    drop(f);
    let code = match result {
        Ok(mut s) => {
            s.run();
            0
        }
        Err(_) => 1,
    };
    std::process::exit(code)
}
