//! The supervisor's `poll` loop: the socket, its clients, the processes' stdio, SIGCHLD.

use super::files::{self, exit_status, now_nanos, valid_exec_id, write_exit};
use super::launch::{self, ProcIo};
use super::log::{JsonLog, Stream};
use super::{LaunchError, io_err};
use crate::runtime::bundle::BundleDir;
use crate::runtime::process::child::{ExecTarget, write_cgroup_procs};
use crate::runtime::process::status::{self, Status};
use crate::runtime::protocol::{EXIT_FILE, ExitStatus, Reply, Request};
use crate::runtime::spec::{ProcessSpec, RuntimeSpec};
use rustix::event::{PollFd, PollFlags};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// A client that has this much unsent output is too slow and is dropped, so it can block
/// neither the supervisor nor the container.
const MAX_CLIENT_BACKLOG: usize = 1 << 20;
/// Stdin bytes buffered for a process before clients stop being read.
const MAX_STDIN_BUFFER: usize = 64 * 1024;
/// Longest request line.
const MAX_REQUEST: usize = 1 << 20;
/// Largest spec.json read.
const MAX_SPEC: u64 = 16 << 20;
/// How long, after the main process exited, clients get to take their last bytes.
const LINGER: Duration = Duration::from_secs(5);
/// Exits of unknown children remembered (an exec's process can be reaped before its
/// PID arrives over the status pipe).
const MAX_ORPHANS: usize = 64;

/// A process the supervisor owns the stdio of: the main one or an exec.
struct Proc {
    pid: i32,
    io: ProcIo,
    stdin_buf: Vec<u8>,
    /// Close stdin once `stdin_buf` is written.
    close_stdin: bool,
    status: Option<OwnedFd>,
    status_buf: Vec<u8>,
    error: Option<(i32, String)>,
    exited: Option<i32>,
}

impl Proc {
    fn new(pid: i32, io: ProcIo, status: OwnedFd) -> Proc {
        Proc {
            pid,
            io,
            stdin_buf: Vec::new(),
            close_stdin: false,
            status: Some(status),
            status_buf: Vec::new(),
            error: None,
            exited: None,
        }
    }

    fn tty(&self) -> bool {
        self.io.pty.is_some()
    }

    fn stdin_fd(&self) -> Option<&OwnedFd> {
        self.io.pty.as_ref().or(self.io.stdin.as_ref())
    }

    /// Reads the status pipe; returns true at end-of-file.
    fn read_status(&mut self) -> bool {
        let Some(fd) = &self.status else { return true };
        let mut buf = [0u8; 4096];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => {
                    self.status = None;
                    self.apply_status();
                    return true;
                }
                Ok(n) => self.status_buf.extend_from_slice(&buf[..n]),
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => {
                    self.status = None;
                    self.apply_status();
                    return true;
                }
            }
        }
        self.apply_status();
        false
    }

    fn apply_status(&mut self) {
        for s in status::parse(&mut self.status_buf) {
            match s {
                Status::Ready => {}
                Status::Pid(pid) => self.pid = pid,
                Status::Error { exit_code, message } => self.error = Some((exit_code, message)),
            }
        }
    }

    fn exit_record(&self) -> Option<ExitStatus> {
        let w = self.exited?;
        let mut st = exit_status(w, self.error.as_ref().map(|e| e.1.clone()));
        if let Some((code, _)) = &self.error {
            st.exit_code = *code;
        }
        Some(st)
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    Main,
    Exec(usize),
}

struct Exec {
    id: String,
    proc: Proc,
    /// The client slot it streams to.
    client: usize,
    /// `Started` was sent: output may flow.
    started: bool,
    done: bool,
}

#[derive(PartialEq, Debug)]
enum Role {
    /// Reading the request line.
    Request,
    /// Replied; closes once the reply is sent.
    Done,
    StartWaiter,
    Waiter,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
        target: Target,
    },
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    role: Role,
    read_eof: bool,
    /// Close once `out` is sent.
    closing: bool,
    dead: bool,
}

impl Client {
    fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    fn queue(&mut self, bytes: &[u8]) {
        if self.pending() + bytes.len() > MAX_CLIENT_BACKLOG {
            self.dead = true;
            return;
        }
        if self.out_pos > 0 && self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        self.out.extend_from_slice(bytes);
    }

    fn reply(&mut self, reply: &Reply) {
        let mut line = serde_json::to_vec(reply).unwrap_or_default();
        line.push(b'\n');
        self.queue(&line);
    }

    fn flush(&mut self) {
        while self.pending() > 0 {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.closing {
            self.dead = true;
        }
    }
}

#[derive(Clone, Copy)]
enum Tag {
    Listener,
    Signal,
    Status(Target),
    Out(Target, u8),
    In(Target),
    Client(usize),
}

pub struct Supervisor {
    dir: BundleDir,
    spec: RuntimeSpec,
    listener: UnixListener,
    sigfd: OwnedFd,
    log: JsonLog,
    main: Proc,
    release: Option<OwnedFd>,
    /// The answer to `Start`, once known.
    started: Option<Reply>,
    clients: Vec<Option<Client>>,
    execs: Vec<Exec>,
    exit: Option<ExitStatus>,
    linger_until: Option<Instant>,
    orphans: Vec<(i32, i32)>,
    last_cap: u32,
    buf: Vec<u8>,
}

fn sigchld_fd() -> std::io::Result<OwnedFd> {
    // SAFETY: signal mask and signalfd with a set we own; the fd is owned right after.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == -1 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(<OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd))
    }
}

impl Supervisor {
    /// Reads the spec, creates the main process (waiting before exec), binds the socket
    /// and writes the PID files.
    pub fn create(bundle: &Path) -> Result<Supervisor, LaunchError> {
        let dir = BundleDir::open(bundle).map_err(io_err(format!("open {}", bundle.display())))?;
        let mut text = Vec::new();
        std::fs::File::open(dir.path("spec.json"))
            .and_then(|f| f.take(MAX_SPEC).read_to_end(&mut text))
            .map_err(io_err("read spec.json"))?;
        let spec: RuntimeSpec = serde_json::from_slice(&text)?;
        let last_cap = crate::runtime::process::capabilities::last_cap();
        let sigfd = sigchld_fd().map_err(io_err("signalfd"))?;
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&spec.log_path)
            .map_err(io_err(format!("open log {}", spec.log_path.display())))?;
        let p = &spec.process;
        let (io, ends, status_r, release) =
            launch::make_io(p.tty, p.open_stdin, p.console_size, true).map_err(io_err("stdio"))?;
        let pid = launch::spawn_main(&spec, ends, last_cap).map_err(io_err("clone"))?;
        let kill = |e: LaunchError| {
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            e
        };
        let mut main = Proc::new(pid, io, status_r);
        write_cgroup_procs(&spec.cgroup_procs, pid).map_err(|e| {
            kill(LaunchError::Child {
                message: e.to_string(),
                exit_code: 125,
            })
        })?;
        wait_ready(&mut main).map_err(kill)?;
        let listener = bind(&dir).map_err(kill)?;
        let write = |name: &str, v: i32| {
            files::write_atomic(&dir, name, v.to_string().as_bytes())
                .map_err(io_err(format!("write {name}")))
        };
        // SAFETY: getpid.
        write("shim.pid", unsafe { libc::getpid() }).map_err(kill)?;
        write("init.pid", pid).map_err(kill)?;
        Ok(Supervisor {
            dir,
            spec,
            listener,
            sigfd,
            log: JsonLog::new(Some(log)),
            main,
            release,
            started: None,
            clients: Vec::new(),
            execs: Vec::new(),
            exit: None,
            linger_until: None,
            orphans: Vec::new(),
            last_cap,
            buf: vec![0; 32 * 1024],
        })
    }

    pub fn init_pid(&self) -> i32 {
        self.main.pid
    }

    /// Serves until the main process has exited and its clients are served.
    pub fn run(&mut self) {
        loop {
            if let Some(until) = self.linger_until {
                let busy = self
                    .clients
                    .iter()
                    .flatten()
                    .any(|c| c.pending() > 0 || c.role == Role::Request);
                if !busy || Instant::now() >= until {
                    break;
                }
            }
            let events = match self.poll_once() {
                Ok(e) => e,
                Err(_) => continue,
            };
            // Status pipes first: an exec's PID must be known before its exit is reaped.
            for &(tag, rev) in &events {
                if let Tag::Status(t) = tag {
                    self.on_status(t, rev);
                }
            }
            for &(tag, rev) in &events {
                match tag {
                    Tag::Listener => self.accept(),
                    Tag::Signal => self.reap(),
                    Tag::Status(_) => {}
                    Tag::Out(t, which) => self.on_output(t, which),
                    Tag::In(t) => self.write_stdin(t),
                    Tag::Client(i) => self.on_client(i, rev),
                }
            }
            self.finish_execs();
            if self.main.exited.is_some() && self.exit.is_none() {
                self.finish_main();
            }
            self.sweep();
        }
        let _ = std::fs::remove_file(self.dir.socket_path());
    }

    fn poll_once(&mut self) -> std::io::Result<Vec<(Tag, PollFlags)>> {
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        let mut tags = Vec::new();
        let r = PollFlags::IN;
        fds.push(PollFd::new(&self.listener, r));
        tags.push(Tag::Listener);
        fds.push(PollFd::new(&self.sigfd, r));
        tags.push(Tag::Signal);
        let stdin_room = |p: &Proc| p.stdin_buf.len() < MAX_STDIN_BUFFER;
        let mut procs: Vec<(Target, &Proc, bool)> = vec![(Target::Main, &self.main, true)];
        for (i, e) in self.execs.iter().enumerate() {
            if !e.done {
                procs.push((Target::Exec(i), &e.proc, e.started));
            }
        }
        for (t, p, output) in &procs {
            if let Some(fd) = &p.status {
                fds.push(PollFd::new(fd, r));
                tags.push(Tag::Status(*t));
            }
            if *output {
                for (which, fd) in [&p.io.stdout, &p.io.stderr, &p.io.pty]
                    .into_iter()
                    .enumerate()
                {
                    if let Some(fd) = fd {
                        fds.push(PollFd::new(fd, r));
                        tags.push(Tag::Out(*t, which as u8));
                    }
                }
            }
            if !p.stdin_buf.is_empty()
                && let Some(fd) = p.stdin_fd()
            {
                fds.push(PollFd::new(fd, PollFlags::OUT));
                tags.push(Tag::In(*t));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            let Some(c) = c else { continue };
            let mut ev = PollFlags::empty();
            let wants_input = match &c.role {
                Role::Request => true,
                Role::Attach { target, .. } => {
                    let p = match target {
                        Target::Main => Some(&self.main),
                        Target::Exec(e) => self.execs.get(*e).map(|e| &e.proc),
                    };
                    p.is_some_and(stdin_room)
                }
                _ => true,
            };
            if wants_input && !c.read_eof {
                ev |= PollFlags::IN;
            }
            if c.pending() > 0 {
                ev |= PollFlags::OUT;
            }
            fds.push(PollFd::new(&c.stream, ev));
            tags.push(Tag::Client(i));
        }
        let timeout = self.linger_until.map(|_| rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
        Ok(fds
            .iter()
            .zip(tags)
            .filter(|(f, _)| !f.revents().is_empty())
            .map(|(f, t)| (t, f.revents()))
            .collect())
    }

    fn proc_mut(&mut self, t: Target) -> Option<&mut Proc> {
        match t {
            Target::Main => Some(&mut self.main),
            Target::Exec(i) => self.execs.get_mut(i).map(|e| &mut e.proc),
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let c = Client {
                        stream,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        out_pos: 0,
                        role: Role::Request,
                        read_eof: false,
                        closing: false,
                        dead: false,
                    };
                    match self.clients.iter().position(Option::is_none) {
                        Some(i) => self.clients[i] = Some(c),
                        None => self.clients.push(Some(c)),
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn reap(&mut self) {
        let mut info = [0u8; 128];
        while rustix::io::read(&self.sigfd, &mut info).is_ok_and(|n| n > 0) {}
        loop {
            let mut st = 0;
            // SAFETY: waitpid on our children.
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == self.main.pid {
                self.main.exited = Some(st);
            } else if let Some(e) = self
                .execs
                .iter_mut()
                .find(|e| e.proc.pid == pid && e.proc.status.is_none())
            {
                e.proc.exited = Some(st);
            } else {
                if self.orphans.len() >= MAX_ORPHANS {
                    self.orphans.remove(0);
                }
                self.orphans.push((pid, st));
            }
        }
    }

    fn on_status(&mut self, t: Target, _rev: PollFlags) {
        let Some(p) = self.proc_mut(t) else { return };
        if !p.read_status() {
            return;
        }
        match t {
            Target::Main => self.main_started(),
            Target::Exec(i) => self.exec_started(i),
        }
    }

    /// The main process exec'd, or failed to: answer `Start`.
    fn main_started(&mut self) {
        let reply = match &self.main.error {
            Some((exit_code, message)) => Reply::Error {
                message: message.clone(),
                exit_code: *exit_code,
            },
            None => Reply::Started { pid: self.main.pid },
        };
        self.started = Some(reply.clone());
        for c in self.clients.iter_mut().flatten() {
            if c.role == Role::StartWaiter {
                c.reply(&reply);
                c.role = Role::Done;
                c.closing = true;
                // Now, not at the next turn of the loop: the agent's start waits for it.
                c.flush();
            }
        }
        // Setup is over: from here on the supervisor only relays and waits.
        super::memory::release_startup_code();
    }

    fn exec_started(&mut self, i: usize) {
        let e = &mut self.execs[i];
        // An exit reaped before the PID was known.
        if let Some(pos) = self.orphans.iter().position(|(pid, _)| *pid == e.proc.pid) {
            e.proc.exited = Some(self.orphans.remove(pos).1);
        }
        let reply = match &e.proc.error {
            Some((exit_code, message)) => Reply::Error {
                message: message.clone(),
                exit_code: *exit_code,
            },
            None => Reply::Started { pid: e.proc.pid },
        };
        if let Some(Some(c)) = self.clients.get_mut(e.client) {
            c.reply(&reply);
        }
        e.started = true;
        if e.proc.error.is_some() {
            // Nothing ran; the first child's exit is all there is. Record and close.
            e.proc.exited.get_or_insert(0);
        }
    }

    fn on_output(&mut self, t: Target, which: u8) {
        let mut buf = std::mem::take(&mut self.buf);
        self.read_output(t, which, &mut buf, false);
        self.buf = buf;
    }

    /// Reads what is available (all of it when `drain`) from one output fd and fans it out.
    fn read_output(&mut self, t: Target, which: u8, buf: &mut [u8], drain: bool) {
        loop {
            let Some(p) = self.proc_mut(t) else { return };
            let slot = match which {
                0 => &mut p.io.stdout,
                1 => &mut p.io.stderr,
                _ => &mut p.io.pty,
            };
            let Some(fd) = slot else { return };
            let n = match rustix::io::read(&*fd, &mut *buf) {
                Ok(0) => {
                    *slot = None;
                    return;
                }
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return,
                // EIO on a pty master: every slave is closed.
                Err(_) => {
                    *slot = None;
                    return;
                }
            };
            let stream = if which == 1 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            self.fan_out(t, stream, &buf[..n]);
            if !drain {
                return;
            }
        }
    }

    fn fan_out(&mut self, t: Target, stream: Stream, data: &[u8]) {
        let tty = match t {
            Target::Main => {
                self.log.write(stream, data);
                self.main.tty()
            }
            Target::Exec(i) => self.execs[i].proc.tty(),
        };
        let header = [if stream == Stream::Stdout { 1 } else { 2 }, 0, 0, 0];
        let len = (data.len() as u32).to_be_bytes();
        for c in self.clients.iter_mut().flatten() {
            if let Role::Attach {
                stdout,
                stderr,
                target,
                ..
            } = c.role
            {
                let wanted = match stream {
                    Stream::Stdout => stdout,
                    Stream::Stderr => stderr,
                };
                if target != t || !wanted || c.closing {
                    continue;
                }
                if !tty {
                    let mut frame = [0u8; 8];
                    frame[..4].copy_from_slice(&header);
                    frame[4..].copy_from_slice(&len);
                    c.queue(&frame);
                }
                c.queue(data);
                c.flush();
            }
        }
    }

    fn write_stdin(&mut self, t: Target) {
        let Some(p) = self.proc_mut(t) else { return };
        let Some(fd) = p.stdin_fd() else {
            p.stdin_buf.clear();
            return;
        };
        match rustix::io::write(fd, &p.stdin_buf) {
            Ok(n) => {
                p.stdin_buf.drain(..n);
            }
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => {
                p.stdin_buf.clear();
                p.io.stdin = None;
            }
        }
        if p.stdin_buf.is_empty() && p.close_stdin {
            p.io.stdin = None;
        }
    }

    fn on_client(&mut self, i: usize, rev: PollFlags) {
        let Some(Some(mut c)) = self.clients.get_mut(i).map(Option::take) else {
            return;
        };
        if rev.contains(PollFlags::OUT) {
            c.flush();
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) && !c.read_eof && !c.dead
        {
            let mut buf = [0u8; 16 * 1024];
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    c.read_eof = true;
                    self.client_eof(&mut c);
                }
                Ok(n) => self.client_input(i, &mut c, &buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => c.dead = true,
            }
        } else if rev.intersects(PollFlags::HUP | PollFlags::ERR) && c.read_eof {
            c.dead = true;
        }
        self.clients[i] = Some(c);
    }

    fn client_eof(&mut self, c: &mut Client) {
        match c.role {
            Role::Request => c.dead = true,
            Role::Attach {
                stdin: true,
                target,
                ..
            } => {
                let once = match target {
                    Target::Main => self.spec.process.stdin_once,
                    Target::Exec(_) => true,
                };
                if let Some(p) = self.proc_mut(target)
                    && once
                    && p.io.stdin.is_some()
                {
                    p.close_stdin = true;
                    if p.stdin_buf.is_empty() {
                        p.io.stdin = None;
                    }
                }
            }
            Role::Waiter | Role::StartWaiter => c.dead = true,
            _ => {}
        }
    }

    fn client_input(&mut self, slot: usize, c: &mut Client, data: &[u8]) {
        match c.role {
            Role::Request => {
                c.inbuf.extend_from_slice(data);
                let Some(nl) = c.inbuf.iter().position(|&b| b == b'\n') else {
                    if c.inbuf.len() > MAX_REQUEST {
                        c.dead = true;
                    }
                    return;
                };
                let rest = c.inbuf.split_off(nl + 1);
                let line = std::mem::take(&mut c.inbuf);
                match serde_json::from_slice::<Request>(&line[..nl]) {
                    Ok(req) => self.request(slot, c, req),
                    Err(e) => {
                        c.reply(&Reply::Error {
                            message: format!("invalid request: {e}"),
                            exit_code: 125,
                        });
                        c.role = Role::Done;
                        c.closing = true;
                    }
                }
                if !rest.is_empty() {
                    self.client_input(slot, c, &rest);
                }
            }
            Role::Attach {
                stdin: true,
                target,
                ..
            } => {
                if let Some(p) = self.proc_mut(target)
                    && p.stdin_fd().is_some()
                    && !p.close_stdin
                {
                    p.stdin_buf.extend_from_slice(data);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, slot: usize, c: &mut Client, req: Request) {
        let done = |c: &mut Client, reply: Reply| {
            c.reply(&reply);
            c.role = Role::Done;
            c.closing = true;
        };
        match req {
            Request::Start => {
                if let Some(reply) = &self.started {
                    done(c, reply.clone());
                } else {
                    if let Some(release) = self.release.take() {
                        let _ = rustix::io::write(&release, b"1");
                    }
                    c.role = Role::StartWaiter;
                }
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                c.reply(&Reply::Ok);
                let stdin = stdin && self.spec.process.open_stdin;
                c.role = Role::Attach {
                    stdin,
                    stdout,
                    stderr,
                    target: Target::Main,
                };
                if self.exit.is_some() {
                    c.closing = true;
                }
            }
            Request::Wait => match &self.exit {
                Some(st) => done(c, Reply::Exited(st.clone())),
                None => c.role = Role::Waiter,
            },
            Request::Resize {
                exec,
                height,
                width,
            } => {
                let pty = match &exec {
                    None => self.main.io.pty.as_ref(),
                    Some(id) => self
                        .execs
                        .iter()
                        .find(|e| &e.id == id && !e.done)
                        .and_then(|e| e.proc.io.pty.as_ref()),
                };
                let reply = match pty.map(|p| launch::set_winsize(p, height, width)) {
                    Some(Ok(())) => Reply::Ok,
                    Some(Err(e)) => error(format!("resize: {e}")),
                    None => error("no terminal to resize".into()),
                };
                done(c, reply);
            }
            Request::Kill { signal, all } => {
                let reply = self.kill(signal, all);
                done(c, reply);
            }
            Request::State => done(
                c,
                Reply::State {
                    pid: self.main.pid,
                    running: self.main.exited.is_none(),
                },
            ),
            Request::Exec {
                id,
                process,
                stdin,
                stdout,
                stderr,
            } => match self.exec(slot, &id, &process) {
                Ok(idx) => {
                    c.role = Role::Attach {
                        stdin,
                        stdout,
                        stderr,
                        target: Target::Exec(idx),
                    }
                }
                Err(reply) => done(c, reply),
            },
        }
    }

    fn kill(&mut self, signal: i32, all: bool) -> Reply {
        // Never signal a reaped PID: it may belong to another process by now.
        if self.main.exited.is_some() {
            return error("the container is not running".into());
        }
        let mut pids = Vec::new();
        if all
            && let Some(f) = self.spec.cgroup_procs.first()
            && let Ok(text) = std::fs::read_to_string(f)
        {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if pids.is_empty() {
            pids.push(self.main.pid);
        }
        let mut result = Reply::Ok;
        for pid in pids {
            // SAFETY: kill with a PID and a signal number.
            if unsafe { libc::kill(pid, signal) } == -1 && pid == self.main.pid {
                result = error(format!("kill {pid}: {}", std::io::Error::last_os_error()));
            }
        }
        result
    }

    fn exec(&mut self, client: usize, id: &str, process: &ProcessSpec) -> Result<usize, Reply> {
        if !valid_exec_id(id) {
            return Err(error(format!("invalid exec id {id:?}")));
        }
        if self.main.exited.is_some() || self.started.is_none() && self.release.is_some() {
            return Err(error("the container is not running".into()));
        }
        let (io, ends, status_r, _) =
            launch::make_io(process.tty, true, process.console_size, false)
                .map_err(|e| error(format!("exec stdio: {e}")))?;
        let target = ExecTarget {
            init_pid: self.main.pid,
            cgroup_procs: &self.spec.cgroup_procs,
            last_cap: self.last_cap,
        };
        launch::spawn_exec(&target, process, ends).map_err(|e| error(format!("fork exec: {e}")))?;
        launch::set_nonblocking(&status_r).map_err(|e| error(format!("exec status pipe: {e}")))?;
        let proc = Proc::new(0, io, status_r);
        let e = Exec {
            id: id.to_string(),
            proc,
            client,
            started: false,
            done: false,
        };
        match self.execs.iter().position(|e| e.done) {
            Some(i) => {
                self.execs[i] = e;
                Ok(i)
            }
            None => {
                self.execs.push(e);
                Ok(self.execs.len() - 1)
            }
        }
    }

    /// Execs that exited: drain their output, record `exec/<id>.json`, close the client.
    fn finish_execs(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        for i in 0..self.execs.len() {
            let e = &self.execs[i];
            if e.done || e.proc.status.is_some() || !e.started || e.proc.exited.is_none() {
                continue;
            }
            for which in 0..3 {
                self.read_output(Target::Exec(i), which, &mut buf, true);
            }
            let e = &mut self.execs[i];
            if let Some(st) = e.proc.exit_record() {
                let _ = std::fs::create_dir(self.dir.path("exec"));
                let _ = write_exit(&self.dir, &format!("exec/{}.json", e.id), &st);
            }
            e.done = true;
            e.proc.io = ProcIo::default();
            if let Some(Some(c)) = self.clients.get_mut(e.client) {
                c.closing = true;
                c.flush();
            }
        }
        self.buf = buf;
    }

    /// The main process was reaped: drain, record exit.json, answer Wait, close attaches.
    fn finish_main(&mut self) {
        // Every writer is gone, so the status pipe reads to its end.
        let _ = self.main.status.as_ref().map(launch::set_nonblocking);
        if self.started.is_none() {
            self.main.read_status();
            if self.main.error.is_none() && self.release.is_some() {
                self.main.error = Some((
                    125,
                    "the container process exited before it was started".into(),
                ));
            }
            self.main_started();
        }
        let mut buf = std::mem::take(&mut self.buf);
        for which in 0..3 {
            self.read_output(Target::Main, which, &mut buf, true);
        }
        self.buf = buf;
        self.log.finish();
        let st = self.main.exit_record().unwrap_or(ExitStatus {
            exit_code: 125,
            signal: None,
            finished_at: now_nanos(),
            error: None,
        });
        let _ = write_exit(&self.dir, EXIT_FILE, &st);
        for c in self.clients.iter_mut().flatten() {
            match c.role {
                Role::Waiter => {
                    c.reply(&Reply::Exited(st.clone()));
                    c.closing = true;
                }
                Role::Attach { .. } | Role::StartWaiter => c.closing = true,
                _ => {}
            }
            c.flush();
        }
        self.exit = Some(st);
        self.main.io = ProcIo::default();
        self.linger_until = Some(Instant::now() + LINGER);
    }

    fn sweep(&mut self) {
        for slot in self.clients.iter_mut() {
            if let Some(c) = slot {
                if c.closing && c.pending() == 0 {
                    c.dead = true;
                }
                if c.dead {
                    *slot = None;
                }
            }
        }
        while matches!(self.clients.last(), Some(None)) {
            self.clients.pop();
        }
    }
}

fn error(message: String) -> Reply {
    Reply::Error {
        message,
        exit_code: 125,
    }
}

/// Blocks until the main process reports it is set up (or fails, or dies).
fn wait_ready(main: &mut Proc) -> Result<(), LaunchError> {
    let fd = main.status.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1);
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: blocking read into a local buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return Err(LaunchError::Child {
                message: "the container process exited during setup".into(),
                exit_code: 125,
            });
        }
        main.status_buf.extend_from_slice(&buf[..n as usize]);
        for s in status::parse(&mut main.status_buf) {
            match s {
                Status::Ready => {
                    if let Some(f) = &main.status {
                        launch::set_nonblocking(f).map_err(io_err("status pipe"))?;
                    }
                    return Ok(());
                }
                Status::Error { exit_code, message } => {
                    return Err(LaunchError::Child { message, exit_code });
                }
                Status::Pid(_) => {}
            }
        }
    }
}

/// Binds `shim.sock` (mode 0600) through the short `/proc/self/fd` path.
fn bind(dir: &BundleDir) -> Result<UnixListener, LaunchError> {
    let path = dir.socket_path();
    let _ = std::fs::remove_file(&path);
    // SAFETY: umask around bind, so the socket is never reachable by others.
    let old = unsafe { libc::umask(0o177) };
    let l = UnixListener::bind(&path);
    // SAFETY: restore the umask.
    unsafe { libc::umask(old) };
    let l = l.map_err(io_err("bind shim.sock"))?;
    l.set_nonblocking(true)
        .map_err(io_err("shim.sock nonblocking"))?;
    Ok(l)
}
