//! `berth shim` against the real kernel (run as root): a busybox rootfs, the spec the
//! agent would write, and the supervisor's socket protocol spoken with std and serde_json.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

const BERTH: &str = env!("CARGO_BIN_EXE_berth");
const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "sleep", "true", "ls", "id", "hostname", "mount", "ps",
];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// One container directory with its rootfs; kills what is left of it when dropped.
struct Container {
    _tmp: tempfile::TempDir,
    bundle: PathBuf,
    rootfs: PathBuf,
}

impl Container {
    fn new() -> Container {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        for d in ["bin", "etc", "mnt", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for a in APPLETS {
            symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        let bundle = tmp.path().join("c");
        std::fs::create_dir(&bundle).unwrap();
        Container {
            _tmp: tmp,
            bundle,
            rootfs,
        }
    }

    /// Writes spec.json: Docker's defaults plus `process` fields merged in.
    fn spec(&self, process: Value) -> &Self {
        let caps = [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
        ];
        let mut p = json!({"env": ["PATH=/bin"], "capabilities": caps});
        for (k, v) in process.as_object().unwrap() {
            p[k] = v.clone();
        }
        let spec = json!({
            "id": "c0ffee",
            "rootfs": self.rootfs,
            "hostname": "box",
            "process": p,
            "namespaces": {"network": {"mode": "new"}},
            "masked_paths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonly_paths": ["/proc/sys", "/proc/sysrq-trigger"],
            "log_path": self.bundle.join("log.json"),
        });
        std::fs::write(self.bundle.join("spec.json"), spec.to_string()).unwrap();
        self
    }

    /// Runs `berth shim` and returns its one-line reply.
    fn spawn(&self) -> Value {
        let out = std::process::Command::new(BERTH)
            .args(["shim", "--bundle"])
            .arg(&self.bundle)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().count(), 1, "one line: {text:?}");
        serde_json::from_str(text.trim()).unwrap()
    }

    fn connect(&self, req: Value) -> (Value, UnixStream) {
        self.try_connect(&req).unwrap()
    }

    fn try_connect(&self, req: &Value) -> std::io::Result<(Value, UnixStream)> {
        let mut s = UnixStream::connect(self.bundle.join("shim.sock"))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        writeln!(s, "{req}")?;
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while s.read(&mut b)? == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        Ok((serde_json::from_slice(&line)?, s))
    }

    fn call(&self, req: Value) -> Value {
        self.connect(req).0
    }

    fn start(&self) -> Value {
        self.call(json!({"op": "start"}))
    }

    /// Wait on the socket or, once the supervisor is gone, exit.json.
    fn wait(&self) -> Value {
        let v = match self.try_connect(&json!({"op": "wait"})) {
            Ok((v, _)) => v,
            Err(_) => {
                let mut v = self.exit_file();
                v["reply"] = json!("exited");
                v
            }
        };
        assert_eq!(v["reply"], "exited", "{v}");
        v
    }

    /// `(stream, text)` of every json-file log line.
    fn log(&self) -> Vec<(String, String)> {
        // The supervisor writes exit.json after the last log line.
        for _ in 0..100 {
            if self.bundle.join("exit.json").exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(self.bundle.join("log.json")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                assert!(v["time"].as_str().unwrap().ends_with('Z'));
                (
                    v["stream"].as_str().unwrap().to_string(),
                    v["log"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn stdout(&self) -> String {
        self.log()
            .into_iter()
            .filter(|(s, _)| s == "stdout")
            .map(|(_, l)| l)
            .collect()
    }

    fn exit_file(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.bundle.join("exit.json")).unwrap()).unwrap()
    }

    fn pid_file(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.bundle.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        for f in ["init.pid", "shim.pid"] {
            if let Some(pid) = self.pid_file(f) {
                // SAFETY: kill by PID (only of processes this test started).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Splits Docker's multiplexed stream into (stdout, stderr).
fn demux(mut bytes: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while bytes.len() >= 8 {
        let len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let payload = &bytes[8..8 + len];
        match bytes[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            other => panic!("stream {other}"),
        }
        bytes = &bytes[8 + len..];
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn read_all(mut s: UnixStream) -> Vec<u8> {
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

macro_rules! root_only {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

#[test]
fn pid_one_exit_zero_log_and_survives_spawner() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sh", "-c", "echo $$; echo oops >&2"]}));
    let r = c.spawn();
    assert_eq!(r["reply"], "started", "{r}");
    let init = r["pid"].as_i64().unwrap() as i32;
    assert_eq!(c.pid_file("init.pid"), Some(init));
    // The spawner has exited; the supervisor lives on, reparented.
    let shim = c.pid_file("shim.pid").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{shim}/stat")).unwrap();
    assert_ne!(
        stat.split(' ').nth(3).unwrap(),
        std::process::id().to_string()
    );
    let st = c.call(json!({"op": "state"}));
    assert_eq!(st, json!({"reply": "state", "pid": init, "running": true}));
    assert_eq!(c.start(), json!({"reply": "started", "pid": init}));
    let w = c.wait();
    assert_eq!(w["exit_code"], 0);
    assert_eq!(c.exit_file()["exit_code"], 0);
    let log = c.log();
    assert!(log.contains(&("stdout".into(), "1\n".into())), "{log:?}");
    assert!(log.contains(&("stderr".into(), "oops\n".into())), "{log:?}");
}

#[test]
fn exit_code_propagates() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sh", "-c", "exit 3"]}));
    assert_eq!(c.spawn()["reply"], "started");
    assert_eq!(c.start()["reply"], "started");
    assert_eq!(c.wait()["exit_code"], 3);
    assert_eq!(c.exit_file()["exit_code"], 3);
}

#[test]
fn missing_binary_is_127_and_not_executable_126() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["nope"]}));
    assert_eq!(c.spawn()["reply"], "started");
    let r = c.start();
    assert_eq!(r["reply"], "error", "{r}");
    assert_eq!(r["exit_code"], 127);
    assert_eq!(
        r["message"],
        "exec: \"nope\": executable file not found in $PATH"
    );
    assert_eq!(c.wait()["exit_code"], 127);

    let c = Container::new();
    c.spec(json!({"args": ["/etc"]}));
    assert_eq!(c.spawn()["reply"], "started");
    let r = c.start();
    assert_eq!(r["exit_code"], 126, "{r}");
    assert_eq!(r["message"], "exec: \"/etc\": permission denied");
}

#[test]
fn isolation_hostname_fds_mount_procsys() {
    root_only!();
    let c = Container::new();
    let script = "hostname; ls /proc/self/fd | tr '\\n' ' '; echo; \
        mount -t tmpfs x /mnt && echo MOUNTED; \
        (echo x > /proc/sys/kernel/domainname) 2>/dev/null || echo PROCSYS-RO; \
        cat /proc/kcore | wc -c";
    // `tr` and `wc` are not linked: use busybox directly through sh functions.
    let script = format!("tr() {{ busybox tr \"$@\"; }}; wc() {{ busybox wc \"$@\"; }}; {script}");
    c.spec(json!({"args": ["sh", "-c", script]}));
    assert_eq!(c.spawn()["reply"], "started");
    assert_eq!(c.start()["reply"], "started");
    c.wait();
    let out = c.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "box", "{out}");
    // 3 is the directory ls itself opened.
    assert_eq!(lines[1].trim(), "0 1 2 3", "{out}");
    assert!(!out.contains("MOUNTED"), "{out}");
    assert!(out.contains("PROCSYS-RO"), "{out}");
    assert_eq!(
        lines.last().unwrap().trim(),
        "0",
        "/proc/kcore masked: {out}"
    );
}

#[test]
fn user_nobody() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sh", "-c", "id -u; id -g; echo $HOME"], "user": "nobody"}));
    assert_eq!(c.spawn()["reply"], "started");
    assert_eq!(c.start()["reply"], "started");
    c.wait();
    assert_eq!(c.stdout(), "65534\n65534\n/nonexistent\n");

    let c = Container::new();
    c.spec(json!({"args": ["true"], "user": "foo"}));
    let r = c.spawn();
    assert_eq!(r["reply"], "error");
    assert_eq!(r["exit_code"], 125);
    assert_eq!(
        r["message"],
        "unable to find user foo: no matching entries in passwd file"
    );
}

#[test]
fn stdin_attach_with_cat() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["cat"], "open_stdin": true, "stdin_once": true}));
    assert_eq!(c.spawn()["reply"], "started");
    let (ok, mut s) =
        c.connect(json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true}));
    assert_eq!(ok["reply"], "ok");
    assert_eq!(c.start()["reply"], "started");
    s.write_all(b"hello\nworld\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let (out, err) = demux(&read_all(s));
    assert_eq!(out, "hello\nworld\n");
    assert_eq!(err, "");
    assert_eq!(c.wait()["exit_code"], 0);
    assert_eq!(c.stdout(), "hello\nworld\n");
}

#[test]
fn tty_mode() {
    root_only!();
    let c = Container::new();
    c.spec(
        json!({"args": ["sh", "-c", "test -t 0 && test -t 1 && echo TTY; ls /dev/console"],
        "tty": true, "console_size": [30, 100]}),
    );
    let r = c.spawn();
    assert_eq!(r["reply"], "started", "{r}");
    let (ok, s) =
        c.connect(json!({"op": "attach", "stdin": false, "stdout": true, "stderr": true}));
    assert_eq!(ok["reply"], "ok");
    assert_eq!(c.start()["reply"], "started");
    let raw = String::from_utf8(read_all(s)).unwrap();
    assert!(raw.contains("TTY\r\n"), "{raw:?}");
    assert!(raw.contains("/dev/console"), "{raw:?}");
    assert_eq!(c.wait()["exit_code"], 0);
    assert!(c.log().iter().all(|(s, _)| s == "stdout"));
}

#[test]
fn exec_into_running_container_and_kill() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sleep", "100"]}));
    assert_eq!(c.spawn()["reply"], "started");
    assert_eq!(c.start()["reply"], "started");
    let (r, s) = c.connect(json!({"op": "exec", "id": "e1",
        "process": {"args": ["sh", "-c", "hostname; ps -o pid,comm | busybox grep -c sleep; echo err >&2; exit 5"],
            "env": ["PATH=/bin"], "capabilities": ["CAP_KILL"]},
        "stdin": false, "stdout": true, "stderr": true}));
    assert_eq!(r["reply"], "started", "{r}");
    let (out, err) = demux(&read_all(s));
    assert_eq!(out, "box\n1\n", "{out}");
    assert_eq!(err, "err\n");
    let st: Value =
        serde_json::from_slice(&std::fs::read(c.bundle.join("exec/e1.json")).unwrap()).unwrap();
    assert_eq!(st["exit_code"], 5);

    let (r, _s) = c.connect(json!({"op": "exec", "id": "e2",
        "process": {"args": ["nope"], "env": ["PATH=/bin"]}, "stdin": false, "stdout": true, "stderr": true}));
    assert_eq!(r["exit_code"], 127, "{r}");

    assert_eq!(
        c.call(json!({"op": "kill", "signal": 9})),
        json!({"reply": "ok"})
    );
    let w = c.wait();
    assert_eq!(
        (w["exit_code"].as_i64(), w["signal"].as_i64()),
        (Some(137), Some(9))
    );
    // Never signal after the init was reaped: the supervisor has exited or refuses.
    std::thread::sleep(Duration::from_millis(100));
    if let Ok(mut s) = UnixStream::connect(c.bundle.join("shim.sock")) {
        writeln!(s, "{}", json!({"op": "kill", "signal": 9})).unwrap();
        let mut line = String::new();
        let _ = BufReader::new(s).read_line(&mut line);
        assert!(!line.contains("\"ok\""), "{line}");
    }
}

#[test]
fn init_reaper_forwards_and_exits_with_child_status() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sh", "-c", "echo $$; exit 7"]}));
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(c.bundle.join("spec.json")).unwrap()).unwrap();
    spec["init"] = json!(true);
    std::fs::write(c.bundle.join("spec.json"), spec.to_string()).unwrap();
    assert_eq!(c.spawn()["reply"], "started");
    assert_eq!(c.start()["reply"], "started");
    assert_eq!(c.wait()["exit_code"], 7);
    assert_eq!(c.stdout(), "2\n");
}

/// `berth shim-server <containers>` with one end of a socket pair as its stdin, as the
/// agent starts it; the test speaks the server's protocol on the other end.
struct ShimServer {
    process: std::process::Child,
    socket: Option<std::os::fd::OwnedFd>,
}

impl ShimServer {
    fn start(containers: &std::path::Path) -> ShimServer {
        use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let process = std::process::Command::new(BERTH)
            .arg("shim-server")
            .arg(containers)
            .arg(" ".repeat(4096))
            .stdin(std::process::Stdio::from(theirs))
            .spawn()
            .unwrap();
        ShimServer {
            process,
            socket: Some(ours),
        }
    }

    /// Sends `path` with a report pipe; returns the one line that comes back on it.
    fn request(&self, path: &[u8]) -> Value {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
        use std::os::fd::AsFd;
        let (read, write) = rustix::pipe::pipe().unwrap();
        let fds = [write.as_fd()];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        let socket = self.socket.as_ref().unwrap();
        sendmsg(
            socket,
            &[std::io::IoSlice::new(path)],
            &mut control,
            SendFlags::NOSIGNAL,
        )
        .unwrap();
        drop(write);
        let mut line = String::new();
        BufReader::new(std::fs::File::from(read))
            .read_line(&mut line)
            .unwrap();
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// Closes the agent's end, as the agent's death does, and returns the exit status.
    fn close(&mut self) -> std::process::ExitStatus {
        drop(self.socket.take());
        // A hang guard, not a speed limit: the server exits as soon as it reads the close.
        for _ in 0..500 {
            if let Some(status) = self.process.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the shim server did not exit when its socket closed");
    }
}

impl Drop for ShimServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn shim_server_forks_independent_supervisors_that_outlive_it() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["sh", "-c", "echo forked; sleep 1000"]}));
    let containers = c.bundle.parent().unwrap();
    let mut server = ShimServer::start(containers);
    let r = server.request(c.bundle.as_os_str().as_encoded_bytes());
    assert_eq!(r["reply"], "started", "{r}");
    let init = r["pid"].as_i64().unwrap() as i32;
    let shim = c.pid_file("shim.pid").unwrap();
    // Found as operators and tests find supervisors; a session of its own; its stdio on
    // /dev/null and nothing of the server's left open.
    let title = cmdline(shim);
    assert!(
        title.contains(&format!("shim --bundle {}", c.bundle.display())),
        "{title:?}"
    );
    // SAFETY: getsid by PID has no preconditions.
    assert_eq!(unsafe { libc::getsid(shim) }, shim);
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{shim}/fd/{fd}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    // The server: its socket, stdout and stderr on /dev/null, nothing else.
    let mut server_fds: Vec<_> = std::fs::read_dir(format!("/proc/{}/fd", server.process.id()))
        .unwrap()
        .flatten()
        .map(|e| (e.file_name(), std::fs::read_link(e.path()).unwrap()))
        .collect();
    server_fds.sort();
    assert_eq!(server_fds.len(), 3, "{server_fds:?}");
    assert!(
        server_fds[0].1.to_string_lossy().starts_with("socket:"),
        "{server_fds:?}"
    );
    for (_, target) in &server_fds[1..] {
        assert_eq!(target, std::path::Path::new("/dev/null"), "{server_fds:?}");
    }
    assert_eq!(c.start(), json!({"reply": "started", "pid": init}));
    // The agent's end closes: the server exits, the supervisor and container stay.
    assert!(server.close().success());
    assert!(std::path::Path::new(&format!("/proc/{shim}")).exists());
    assert!(std::path::Path::new(&format!("/proc/{init}")).exists());
    c.call(json!({"op": "kill", "signal": 9}));
    assert_eq!(c.wait()["exit_code"], 137);
    assert!(c.stdout().contains("forked"), "{:?}", c.log());
}

#[test]
fn shim_server_refuses_paths_outside_its_containers_directory() {
    root_only!();
    let c = Container::new();
    c.spec(json!({"args": ["true"]}));
    let containers = c.bundle.parent().unwrap().to_path_buf();
    // A complete container directory elsewhere, and a link to it among the containers.
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("c");
    std::fs::create_dir(&outside).unwrap();
    std::fs::copy(c.bundle.join("spec.json"), outside.join("spec.json")).unwrap();
    symlink(&outside, containers.join("link")).unwrap();
    std::fs::write(containers.join("file"), "").unwrap();
    let server = ShimServer::start(&containers);
    let bad: Vec<Vec<u8>> = vec![
        outside.as_os_str().as_encoded_bytes().to_vec(),
        format!(
            "{}/../{}",
            containers.display(),
            outside.strip_prefix("/").unwrap().display()
        )
        .into_bytes(),
        format!("{}/c/..", containers.display()).into_bytes(),
        format!("{}/link", containers.display()).into_bytes(),
        format!("{}/file", containers.display()).into_bytes(),
        format!("{}/missing", containers.display()).into_bytes(),
        format!("{}/c/rootfs", containers.display()).into_bytes(),
        containers.as_os_str().as_encoded_bytes().to_vec(),
        b"c".to_vec(),
        b"/".to_vec(),
        vec![b'/'; 5000],
    ];
    for path in &bad {
        let r = server.request(path);
        let shown = String::from_utf8_lossy(path);
        assert_eq!(r["reply"], "error", "{shown}: {r}");
        assert_eq!(r["exit_code"], 125, "{shown}: {r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid supervisor request"),
            "{shown}: {r}"
        );
    }
    assert!(
        !outside.join("shim.pid").exists(),
        "a supervisor ran elsewhere"
    );
    assert!(!c.bundle.join("shim.pid").exists());
    // Still serving: the real container directory starts.
    let r = server.request(c.bundle.as_os_str().as_encoded_bytes());
    assert_eq!(r["reply"], "started", "{r}");
    assert_eq!(c.start()["reply"], "started");
    assert_eq!(c.wait()["exit_code"], 0);
}

#[test]
fn shim_server_runs_only_on_a_socket_to_its_parent() {
    root_only!();
    let dir = tempfile::tempdir().unwrap();
    for stdin in [std::process::Stdio::null(), std::process::Stdio::piped()] {
        let status = std::process::Command::new(BERTH)
            .arg("shim-server")
            .arg(dir.path())
            .stdin(stdin)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2));
    }
}
