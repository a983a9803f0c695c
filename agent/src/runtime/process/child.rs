//! The two kinds of container child: the main process (created in new namespaces, waits
//! for the release byte before exec) and an exec (joins a running container's namespaces).

use super::status::{self, Status};
use super::{SetupError, capabilities, exec, mounts, namespaces, user};
use crate::runtime::spec::{ProcessSpec, RuntimeSpec};
use std::os::fd::RawFd;
use std::path::PathBuf;

/// The fds a child starts from, all opened by the supervisor.
#[derive(Clone, Copy, Debug)]
pub struct ChildIo {
    /// With a TTY all three are the pty slave.
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub tty: bool,
    /// Write end of the status pipe (CLOEXEC).
    pub status: RawFd,
    /// Read end of the release pipe (main process only).
    pub release: Option<RawFd>,
}

/// Reports `err` over the status pipe and exits with its Docker exit code.
pub fn fail(status_fd: RawFd, err: &SetupError) -> ! {
    let exit_code = err.exit_code();
    status::send(
        status_fd,
        &Status::Error {
            exit_code,
            message: err.to_string(),
        },
    );
    // SAFETY: _exit skips atexit handlers and buffered stdio of the supervisor's copy.
    unsafe { libc::_exit(exit_code) }
}

/// Undoes the supervisor's signal setup: SIGCHLD blocked for its signalfd, SIGPIPE and
/// SIGHUP ignored — both would otherwise survive execve into the container.
pub fn reset_signals() {
    // SAFETY: sigprocmask with an empty set; signal() with SIG_DFL.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in [libc::SIGPIPE, libc::SIGHUP, libc::SIGCHLD] {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// New session, controlling terminal with a TTY, and the stdio fds on 0, 1, 2.
fn stdio(io: &ChildIo) -> Result<(), SetupError> {
    // SAFETY: setsid, ioctl and dup2 on fds the supervisor gave us.
    unsafe {
        libc::setsid();
        if io.tty {
            super::check(libc::ioctl(io.stdin, libc::TIOCSCTTY, 0), || {
                "TIOCSCTTY".into()
            })?;
        }
        for (from, to) in [(io.stdin, 0), (io.stdout, 1), (io.stderr, 2)] {
            super::check(libc::dup2(from, to), || format!("dup2 {from} to {to}"))?;
        }
    }
    Ok(())
}

/// `HOME` from passwd when the environment has none.
fn with_home(process: &ProcessSpec, home: &str) -> ProcessSpec {
    let mut p = process.clone();
    if !p.env.iter().any(|e| e.starts_with("HOME=")) {
        p.env.push(format!("HOME={home}"));
    }
    p
}

/// User, capabilities, rlimits, no_new_privs, cwd — everything after the mounts.
fn identity(process: &ProcessSpec, last_cap: u32) -> Result<ProcessSpec, SetupError> {
    let u = user::lookup(&process.user, &process.additional_groups)?;
    let process = with_home(process, &u.home);
    exec::set_rlimits(&process.rlimits)?;
    exec::create_cwd(&process.cwd)?;
    // With --privileged the agent lists every capability it holds itself (a host may
    // withhold some; asking for those would fail capset).
    let caps = capabilities::mask(&process.capabilities)?;
    capabilities::drop_bounding(caps, last_cap)?;
    capabilities::keep_across_setuid(true)?;
    user::switch(&u)?;
    capabilities::keep_across_setuid(false)?;
    capabilities::set(caps)?;
    if process.no_new_privileges {
        capabilities::no_new_privs()?;
    }
    // A uid change resets dumpable; the berth image must stay unreadable (CVE-2019-5736).
    // SAFETY: prctl and umask with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::umask(0o022);
    }
    exec::enter_cwd(&process.cwd)?;
    Ok(process)
}

/// The main process, just after `clone` into its new namespaces. Never returns.
pub fn main_process(spec: &RuntimeSpec, io: ChildIo, last_cap: u32) -> ! {
    let process = match setup_main(spec, &io, last_cap) {
        Ok(p) => p,
        Err(e) => fail(io.status, &e),
    };
    exec::close_except(&[io.status, io.release.unwrap_or(-1)]);
    status::send(io.status, &Status::Ready);
    if let Some(release) = io.release {
        let mut byte = 0u8;
        // SAFETY: read one byte into a local.
        let n = unsafe { libc::read(release, (&mut byte as *mut u8).cast(), 1) };
        if n != 1 {
            // The supervisor is gone: nobody would ever see this process's output.
            // SAFETY: _exit.
            unsafe { libc::_exit(125) }
        }
        // SAFETY: closing our own fd.
        unsafe { libc::close(release) };
    }
    if spec.init {
        super::reaper::run(&process, io.status);
    }
    if let Err(e) = exec::cloexec_from_3() {
        fail(io.status, &e);
    }
    let e = exec::exec(&process);
    fail(io.status, &e)
}

fn setup_main(spec: &RuntimeSpec, io: &ChildIo, last_cap: u32) -> Result<ProcessSpec, SetupError> {
    // SAFETY: umask; device nodes get exactly the modes we ask for.
    unsafe { libc::umask(0) };
    reset_signals();
    stdio(io)?;
    namespaces::setup_network(&spec.namespaces.network)?;
    if !spec.namespaces.host_uts {
        namespaces::set_hostname(&spec.hostname)?;
    }
    mounts::setup(spec, io.tty.then_some(io.stdin))?;
    identity(&spec.process, last_cap)
}

/// What an exec needs from the container.
pub struct ExecTarget<'a> {
    pub init_pid: i32,
    pub cgroup_procs: &'a [PathBuf],
    pub last_cap: u32,
}

/// An exec, just after `fork` from the supervisor: joins the cgroup and namespaces, forks
/// once more so the process is inside the PID namespace, reports that grandchild's host
/// PID and exits; the grandchild (reparented to the supervisor, a subreaper) execs.
pub fn exec_process(target: &ExecTarget<'_>, process: &ProcessSpec, io: ChildIo) -> ! {
    reset_signals();
    if let Err(e) = join(target) {
        fail(io.status, &e);
    }
    // SAFETY: fork in a single-threaded child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail(
            io.status,
            &SetupError::Sys {
                context: "fork exec process".into(),
                source: std::io::Error::last_os_error(),
            },
        );
    }
    if pid > 0 {
        status::send(io.status, &Status::Pid(pid));
        // SAFETY: _exit.
        unsafe { libc::_exit(0) }
    }
    let process = match stdio(&io).and_then(|()| identity(process, target.last_cap)) {
        Ok(p) => p,
        Err(e) => fail(io.status, &e),
    };
    if let Err(e) = exec::cloexec_from_3() {
        fail(io.status, &e);
    }
    let e = exec::exec(&process);
    fail(io.status, &e)
}

fn join(target: &ExecTarget<'_>) -> Result<(), SetupError> {
    // SAFETY: getpid.
    let me = unsafe { libc::getpid() };
    write_cgroup_procs(target.cgroup_procs, me)?;
    namespaces::join_container(target.init_pid)
}

/// Writes `pid` into every `cgroup.procs` file (none: nothing to do).
pub fn write_cgroup_procs(files: &[PathBuf], pid: i32) -> Result<(), SetupError> {
    for f in files {
        std::fs::write(f, pid.to_string())
            .map_err(super::sys(format!("join cgroup {}", f.display())))?;
    }
    Ok(())
}
