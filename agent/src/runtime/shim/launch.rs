//! Creating a process's stdio (pipes or a pty) and forking the container children.

use crate::runtime::process::child::{self, ChildIo, ExecTarget};
use crate::runtime::spec::{ProcessSpec, RuntimeSpec};
use rustix::pipe::PipeFlags;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// The supervisor's ends of a process's stdio.
#[derive(Debug, Default)]
pub struct ProcIo {
    /// The pty master, with a TTY: output and input both.
    pub pty: Option<OwnedFd>,
    /// Write end of the stdin pipe (only with open stdin and no TTY).
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// The child's ends, closed in the supervisor once the child is forked.
pub struct ChildEnds {
    pub io: ChildIo,
    keep: Vec<OwnedFd>,
}

pub fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: fcntl on an open fd.
    unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if fl == -1 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?)
}

/// Terminal size on a pty master.
pub fn set_winsize(pty: &OwnedFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    Ok(rustix::termios::tcsetwinsize(pty, ws)?)
}

/// Pipes or a pty for a process, plus its status pipe; `release` adds the pipe the main
/// process waits on before exec.
pub fn make_io(
    tty: bool,
    open_stdin: bool,
    size: Option<[u16; 2]>,
    release: bool,
) -> io::Result<(ProcIo, ChildEnds, OwnedFd, Option<OwnedFd>)> {
    let mut ours = ProcIo::default();
    let mut keep = Vec::new();
    let (stdin, stdout, stderr);
    if tty {
        use rustix::pty::OpenptFlags;
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        // The peer is opened from the master itself, not through a path in /dev/pts.
        let slave = rustix::pty::ioctl_tiocgptpeer(
            &master,
            OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
        )?;
        if let Some([rows, cols]) = size {
            set_winsize(&master, rows, cols)?;
        }
        set_nonblocking(&master)?;
        stdin = slave.as_raw_fd();
        stdout = stdin;
        stderr = stdin;
        keep.push(slave);
        ours.pty = Some(master);
    } else {
        if open_stdin {
            let (r, w) = pipe()?;
            set_nonblocking(&w)?;
            stdin = r.as_raw_fd();
            keep.push(r);
            ours.stdin = Some(w);
        } else {
            let null = std::fs::File::open("/dev/null")?;
            stdin = null.as_raw_fd();
            keep.push(null.into());
        }
        let (r, w) = pipe()?;
        set_nonblocking(&r)?;
        stdout = w.as_raw_fd();
        keep.push(w);
        ours.stdout = Some(r);
        let (r, w) = pipe()?;
        set_nonblocking(&r)?;
        stderr = w.as_raw_fd();
        keep.push(w);
        ours.stderr = Some(r);
    }
    let (status_r, status_w) = pipe()?;
    let status = status_w.as_raw_fd();
    keep.push(status_w);
    let (release_r, release_w) = if release {
        let (r, w) = pipe()?;
        (Some(r.as_raw_fd()), Some((r, w)))
    } else {
        (None, None)
    };
    let release_w = release_w.map(|(r, w)| {
        keep.push(r);
        w
    });
    let io = ChildIo {
        stdin,
        stdout,
        stderr,
        tty,
        status,
        release: release_r,
    };
    Ok((ours, ChildEnds { io, keep }, status_r, release_w))
}

/// Clones the main process into its new namespaces; it is PID 1 of a new PID namespace.
/// Returns its host PID. The child's ends are closed here.
pub fn spawn_main(spec: &RuntimeSpec, ends: ChildEnds, last_cap: u32) -> io::Result<i32> {
    let flags = crate::runtime::process::namespaces::clone_flags(spec) | libc::SIGCHLD;
    // SAFETY: a raw clone without CLONE_VM and without a new stack behaves as fork: the
    // child runs on a copy of our (single-threaded) address space.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid == 0 {
        child::main_process(spec, ends.io, last_cap);
    }
    drop(ends.keep);
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid as i32)
}

/// Forks an exec's first child (which joins the container and forks the real one).
/// Returns the first child's PID.
pub fn spawn_exec(
    target: &ExecTarget<'_>,
    process: &ProcessSpec,
    ends: ChildEnds,
) -> io::Result<i32> {
    // SAFETY: fork in a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        child::exec_process(target, process, ends.io);
    }
    drop(ends.keep);
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
}
