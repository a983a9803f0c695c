//! `--init`: the container's PID 1 stays in the berth binary (non-dumpable, so the
//! container cannot open it through /proc) and runs the real process as its child. It
//! forwards the usual termination and user signals to it, reaps every orphan that lands
//! on PID 1, and exits with the real process's status — what tini does for Docker.

use super::exec;
use crate::runtime::spec::ProcessSpec;
use std::os::fd::RawFd;

/// Signals passed on to the real process.
pub const FORWARDED: &[libc::c_int] = &[
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Never returns. `status_fd` is the status pipe: the child reports exec failures on it,
/// PID 1 closes its own copy so a successful exec reads as end-of-file.
pub fn run(process: &ProcessSpec, status_fd: RawFd) -> ! {
    // SAFETY: signal mask manipulation, fork, waitpid, kill: plain syscalls.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in FORWARDED.iter().chain(&[libc::SIGCHLD]) {
            libc::sigaddset(&mut set, s);
        }
        // Blocked before the fork so no signal between fork and the wait loop is lost;
        // blocked signals are queued even for a namespace's PID 1.
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let child = libc::fork();
        if child == 0 {
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            if let Err(e) = exec::cloexec_from_3() {
                super::child::fail(status_fd, &e);
            }
            let e = exec::exec(process);
            super::child::fail(status_fd, &e);
        }
        if child < 0 {
            let e = super::SetupError::Sys {
                context: "fork init child".into(),
                source: std::io::Error::last_os_error(),
            };
            super::child::fail(status_fd, &e);
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&set, &mut info);
            if sig == libc::SIGCHLD {
                loop {
                    let mut st = 0;
                    let pid = libc::waitpid(-1, &mut st, libc::WNOHANG);
                    if pid <= 0 {
                        break;
                    }
                    if pid == child {
                        let code = if libc::WIFSIGNALED(st) {
                            128 + libc::WTERMSIG(st)
                        } else {
                            libc::WEXITSTATUS(st)
                        };
                        libc::_exit(code);
                    }
                }
            } else if sig > 0 {
                libc::kill(child, sig);
            }
        }
    }
}
