//! [`TestAgent`]: the real `berth serve` process on its own temp data root, socket and port.
//!
//! Layout of one agent's temp dir (`$BERTH_TEST_TMPDIR` or the system temp dir):
//!
//! ```text
//! berth-test-XXXXXX/          its name also names the agent's cgroups (see BERTH_CGROUP_PARENT)
//!   root/                     the data root (--root)
//!   berth.sock                the unix socket (--socket)
//!   agent.stdout.log          everything the agent printed, across restarts
//!   agent.stderr.log
//! ```

use std::fs::{self, File, OpenOptions};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::Method;
use rustix::process::{Pid, Signal, kill_process};

use crate::process::{Finished, run_with_timeout};
use crate::{cleanup, ports, unix_http};

/// How long the agent may take to answer on both listeners after it was spawned.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop()` waits after SIGTERM before it gives up and kills.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Time limit for one `berth token …` style CLI call.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
/// The stdout marker before the one-time dashboard login URL.
const LOGIN_MARKER: &str = "dashboard login (one-time): ";
/// The stdout marker before a `--tls` agent's certificate fingerprint.
const FINGERPRINT_MARKER: &str = "TLS certificate SHA-256 fingerprint: ";

/// Finds the `berth` binary: `$BERTH_BIN`, else `berth` next to the test executable's target
/// directory (`target/debug/deps/<test>` → `target/debug/berth`), else
/// `<workspace>/target/debug/berth`.
pub fn berth_bin() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("BERTH_BIN") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!("BERTH_BIN={} does not exist", path.display());
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join("berth"));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(workspace.join("target/debug/berth"));
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    bail!(
        "the berth binary was not found (looked at {candidates:?}); run `tests/run`, or \
         `cargo build -p agent` before `cargo test`, or set BERTH_BIN"
    )
}

/// One running Berth agent owned by a test. Dropping it kills the agent and removes every
/// trace of it (processes, mounts, cgroups, files).
pub struct TestAgent {
    bin: PathBuf,
    dir: PathBuf,
    name: String,
    root: PathBuf,
    socket: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
    admin_token: String,
    login_url: Option<String>,
    http: reqwest::Client,
    extra_args: Vec<String>,
}

impl TestAgent {
    /// Starts an agent on a fresh temp root, socket and loopback port, and waits until both
    /// listeners answer, the login URL is printed and the admin token is written.
    pub fn start() -> Result<TestAgent> {
        Self::start_with_args(&[])
    }

    /// [`start`](Self::start) with more `berth serve` flags (e.g. `--storage-driver vfs`),
    /// kept for restarts too.
    pub fn start_with_args(extra_args: &[&str]) -> Result<TestAgent> {
        Self::start_inner(extra_args, None)
    }

    /// [`start`](Self::start) on a data root that is a tmpfs of `size` (`"24m"`): a disk
    /// that fills up, for full-disk tests. Drop unmounts it with the rest.
    pub fn start_on_small_disk(size: &str) -> Result<TestAgent> {
        Self::start_inner(&[], Some(size))
    }

    fn start_inner(extra_args: &[&str], disk_size: Option<&str>) -> Result<TestAgent> {
        crate::require_root()?;
        let bin = berth_bin()?;
        let parent = std::env::var_os("BERTH_TEST_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir_in(&parent)
            .with_context(|| format!("creating a temp dir in {}", parent.display()))?
            .keep();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("temp dir has no name")?;
        let root = dir.join("root");
        if let Some(size) = disk_size {
            fs::create_dir_all(&root).context("creating the data root")?;
            let status = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0700"),
                    "tmpfs",
                ])
                .arg(&root)
                .status()
                .context("running mount")?;
            if !status.success() {
                let _ = fs::remove_dir_all(&dir);
                bail!("mounting a {size} tmpfs at {} failed", root.display());
            }
        }
        let http = http_client()?;
        let mut agent = TestAgent {
            bin,
            socket: dir.join("berth.sock"),
            addr: ports::free_loopback_addr()?,
            root,
            name,
            dir,
            child: None,
            admin_token: String::new(),
            login_url: None,
            http,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        };
        // On error the half-built agent is dropped here, which cleans up.
        agent.spawn_and_wait(true)?;
        Ok(agent)
    }

    /// Replaces the extra `berth serve` flags used from the next `restart()` on (e.g. an
    /// `--advertise-url` that needs the agent's port first).
    pub fn set_extra_args(&mut self, extra_args: &[&str]) {
        self.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
    }

    /// Starts the agent again on the same root, socket and port (after `stop()` or
    /// `kill_hard()`; stops it first if it is still running). The login URL is updated if the
    /// agent prints one again.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            self.stop()?;
        }
        self.spawn_and_wait(false)
    }

    fn spawn_and_wait(&mut self, need_login_url: bool) -> Result<()> {
        // A fresh client: pooled keep-alive connections to the previous process are dead.
        self.http = http_client()?;
        let stdout_start = fs::metadata(self.stdout_path()).map_or(0, |m| m.len());
        let stdout = self.open_log(&self.stdout_path())?;
        let stderr = self.open_log(&self.stderr_path())?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--root")
            .arg(&self.root)
            .arg("--socket")
            .arg(&self.socket)
            .arg("--listen")
            .arg(self.addr.to_string())
            .args(&self.extra_args)
            .env_remove("BERTH_ROOT")
            .env_remove("BERTH_SOCKET")
            .env_remove("BERTH_LISTEN")
            // Where the agent should put its cgroups, so Drop can find and remove them.
            .env("BERTH_CGROUP_PARENT", &self.name)
            // Its own default bridge, and its network namespaces under the temp dir, so
            // agents running side by side never share them and Drop removes them.
            .env("BERTH_BRIDGE", self.bridge_name())
            .env("BERTH_NETNS_DIR", self.dir.join("netns"))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("spawning {} serve", self.bin.display()))?;
        self.child = Some(child);
        self.wait_ready(stdout_start, need_login_url)?;
        if let Some(cert) = self.tls_certificate() {
            // The certificate exists once the agent has started (self-signed on first start).
            self.http = https_client(&cert)?;
        }
        Ok(())
    }

    /// The certificate a `--tls` agent serves (its own self-signed one, or `--tls-cert`).
    pub fn tls_certificate(&self) -> Option<PathBuf> {
        let given = self
            .extra_args
            .iter()
            .position(|a| a == "--tls-cert")
            .and_then(|i| self.extra_args.get(i + 1))
            .map(PathBuf::from);
        let self_signed = self.extra_args.iter().any(|a| a == "--tls");
        given.or_else(|| self_signed.then(|| self.root.join("auth/tls/cert.pem")))
    }

    /// The SHA-256 fingerprint the agent printed for its certificate (newest start).
    pub fn printed_fingerprint(&self) -> Option<String> {
        self.stdout_log().lines().rev().find_map(|line| {
            let (_, fingerprint) = line.split_once(FINGERPRINT_MARKER)?;
            Some(fingerprint.trim().to_owned())
        })
    }

    fn open_log(&self, path: &Path) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))
    }

    /// Polls until the socket and the TCP port accept, the login URL is on stdout (when
    /// required) and the admin token file is readable; fails early if the agent exits.
    fn wait_ready(&mut self, stdout_start: u64, need_login_url: bool) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "berth serve exited early with {status}; stderr:\n{}",
                    self.stderr_log()
                );
            }
            let problem = match self.check_ready(stdout_start, need_login_url) {
                Ok(()) => return Ok(()),
                Err(problem) => format!("{problem:#}"),
            };
            if Instant::now() >= deadline {
                bail!(
                    "berth serve was not ready within {START_TIMEOUT:?} ({problem}); \
                     stdout:\n{}\nstderr:\n{}",
                    self.stdout_log(),
                    self.stderr_log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn check_ready(&mut self, stdout_start: u64, need_login_url: bool) -> Result<()> {
        UnixStream::connect(&self.socket)
            .with_context(|| format!("unix socket {} not accepting", self.socket.display()))?;
        TcpStream::connect_timeout(&self.addr, Duration::from_millis(500))
            .with_context(|| format!("TCP {} not accepting", self.addr))?;
        let printed = self.stdout_log();
        let printed = printed
            .get(usize::try_from(stdout_start).unwrap_or(0)..)
            .unwrap_or("");
        if self.tls_certificate().is_some() && !printed.contains(FINGERPRINT_MARKER) {
            bail!("no `{FINGERPRINT_MARKER}…` line on stdout yet");
        }
        match parse_login_url(printed) {
            Some(url) => self.login_url = Some(url),
            None if need_login_url => bail!("no `{LOGIN_MARKER}…` line on stdout yet"),
            None => {}
        }
        let token_path = self.root.join("auth/admin.token");
        let token = fs::read_to_string(&token_path)
            .with_context(|| format!("reading {}", token_path.display()))?;
        let token = token.trim();
        if token.is_empty() {
            bail!("{} is empty", token_path.display());
        }
        self.admin_token = token.to_owned();
        Ok(())
    }

    /// `http://127.0.0.1:PORT` (`https://` for a `--tls` agent), without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls_certificate().is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// `base_url()` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The TCP listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The agent's unix socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The agent's data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The temp dir holding the root, the socket and the logs.
    pub fn temp_dir(&self) -> &Path {
        &self.dir
    }

    /// The name (`berth-test-XXXXXX`) that also names this agent's cgroups.
    /// The interface name of this agent's default bridge (`bt` + the temp dir's suffix).
    pub fn bridge_name(&self) -> String {
        self.interface_name("bt")
    }

    /// The default bridge of agents started through [`TestAgent::command`].
    fn cli_bridge_name(&self) -> String {
        self.interface_name("bc")
    }

    fn interface_name(&self, prefix: &str) -> String {
        let suffix: String = self
            .name
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{prefix}{suffix}")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The admin token the agent wrote to `<root>/auth/admin.token`.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The one-time dashboard login URL from stdout (`http://…/login?ticket=…`). Always set
    /// after `start()`; after `restart()` it is the newest one printed.
    pub fn login_url(&self) -> Option<&str> {
        self.login_url.as_deref()
    }

    /// The agent's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A plain HTTP client (no credentials, no proxy).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request to `path` over TCP carrying the admin token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(&self.admin_token, method, path)
    }

    /// A request to `path` over TCP carrying `token`.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// `GET path` over TCP with the admin token.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `GET path` over the unix socket (no credentials needed there).
    pub async fn unix_get(&self, path: &str) -> Result<unix_http::Response> {
        unix_http::get(&self.socket, path).await
    }

    /// Any request over the unix socket.
    pub async fn unix_request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<unix_http::Response> {
        unix_http::request(&self.socket, method, path, headers, body).await
    }

    /// A `berth` command with `BERTH_ROOT`/`BERTH_SOCKET`/`BERTH_LISTEN` pointing at this
    /// agent; add the subcommand and its arguments.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("BERTH_ROOT", &self.root)
            .env("BERTH_SOCKET", &self.socket)
            .env("BERTH_LISTEN", self.addr.to_string())
            // A `berth serve` started this way (tests of refused starts) makes its default
            // bridge before it gives up: one of its own, which Drop removes too.
            .env("BERTH_BRIDGE", self.cli_bridge_name())
            .env("BERTH_NETNS_DIR", self.dir.join("netns"));
        cmd
    }

    /// Runs `berth <args…>` against this agent's root and returns its output.
    pub fn cli(&self, args: &[&str]) -> Result<Finished> {
        run_with_timeout(self.command().args(args), None, CLI_TIMEOUT)
    }

    /// Creates a token with `berth token create --role ROLE --root DIR` and returns its secret.
    pub fn create_token(&self, role: &str) -> Result<String> {
        self.create_token_with(role, None)
    }

    /// Like [`create_token`](Self::create_token), with `--name NAME`.
    pub fn create_named_token(&self, role: &str, name: &str) -> Result<String> {
        self.create_token_with(role, Some(name))
    }

    fn create_token_with(&self, role: &str, name: Option<&str>) -> Result<String> {
        let root = self.root.to_string_lossy().into_owned();
        let mut args = vec!["token", "create", "--role", role, "--root", &root];
        if let Some(name) = name {
            args.extend(["--name", name]);
        }
        let out = self.cli(&args)?;
        if !out.status.success() {
            bail!(
                "berth {} failed with {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let secret = stdout.lines().next().unwrap_or("").trim();
        if secret.is_empty() {
            bail!("berth token create printed no token");
        }
        Ok(secret.to_owned())
    }

    /// True while the agent process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the agent with SIGKILL (a crash, for crash-safety tests) and reaps it. Nothing
    /// else is cleaned up: the root stays for a `restart()`.
    pub fn kill_hard(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            // std's kill() knows whether the child was already reaped (no stray pid signalled).
            child.kill().context("killing the agent")?;
            child.wait().context("waiting for the killed agent")?;
        }
        Ok(())
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status. If the agent has not
    /// exited after 15 s it is killed and this fails.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the agent is not running");
        };
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        signal(&child, Signal::TERM)?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the agent did not exit within {STOP_TIMEOUT:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stdout_path(&self) -> PathBuf {
        self.dir.join("agent.stdout.log")
    }

    fn stderr_path(&self) -> PathBuf {
        self.dir.join("agent.stderr.log")
    }

    /// Everything the agent printed on stdout so far (all runs).
    pub fn stdout_log(&self) -> String {
        fs::read(self.stdout_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Everything the agent printed on stderr so far (all runs).
    pub fn stderr_log(&self) -> String {
        fs::read(self.stderr_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let stderr = self.stderr_log();
            let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
            eprintln!(
                "--- berth agent {} stderr (last {} lines) ---",
                self.name,
                tail.len()
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
            eprintln!("--- end of agent stderr ---");
        }
        let _ = self.kill_hard();
        let mut notes = Vec::new();
        cleanup::kill_processes_of(&self.dir, Some(&self.name), &mut notes);
        cleanup::unmount_all_under(&self.dir, &mut notes);
        cleanup::remove_bridges_of(&self.root, &self.bridge_name(), &mut notes);
        cleanup::remove_bridges_of(&self.root, &self.cli_bridge_name(), &mut notes);
        cleanup::remove_cgroups_named(&self.name, &mut notes);
        cleanup::remove_dir(&self.dir, &mut notes);
        for note in notes {
            eprintln!("test agent cleanup: {note}");
        }
    }
}

/// The reqwest client the agent's helpers use: no proxy, a generous overall timeout.
fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// [`http_client`] trusting one certificate (a `--tls` agent's self-signed one, or a CA).
pub fn https_client(certificate: &Path) -> Result<reqwest::Client> {
    let pem = fs::read(certificate)
        .with_context(|| format!("reading certificate {}", certificate.display()))?;
    let root = reqwest::Certificate::from_pem(&pem).context("parsing the certificate")?;
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .build()
        .context("building the HTTPS client")
}

fn signal(child: &Child, sig: Signal) -> Result<()> {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(Pid::from_raw)
        .context("child pid out of range")?;
    match kill_process(pid, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(err) => Err(err).with_context(|| format!("sending {sig:?} to the agent")),
    }
}

/// The newest `dashboard login (one-time): URL` in `stdout`.
fn parse_login_url(stdout: &str) -> Option<String> {
    stdout.lines().rev().find_map(|line| {
        let (_, rest) = line.split_once(LOGIN_MARKER)?;
        let url = rest.split_whitespace().next()?;
        url.starts_with("http").then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_login_url() {
        let out = "listening on http://127.0.0.1:7070\n\
                   2026 INFO dashboard login (one-time): http://127.0.0.1:7070/login?ticket=abc\n";
        assert_eq!(
            parse_login_url(out).as_deref(),
            Some("http://127.0.0.1:7070/login?ticket=abc")
        );
        assert_eq!(parse_login_url("listening on http://x\n"), None);
    }
}
