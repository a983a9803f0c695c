//! The stock `docker` CLI (client only) pointed at a Berth agent, with its own empty config.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::TestAgent;
use crate::process::run_with_timeout;

/// Default time limit for one CLI call.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Environment variables of the CLI that must not leak in from the caller's environment.
const DOCKER_ENV: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_API_VERSION",
    "DOCKER_DEFAULT_PLATFORM",
    "DOCKER_CONTENT_TRUST",
    "BUILDKIT_PROGRESS",
];

/// What one `docker …` call did.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// True when the CLI exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Fails with the CLI's output unless it exited 0; returns `self` for chaining.
    pub fn ok(self) -> Result<CliOutput> {
        if self.success() {
            Ok(self)
        } else {
            bail!(
                "docker exited with {}\nstdout:\n{}\nstderr:\n{}",
                self.status,
                self.stdout,
                self.stderr
            )
        }
    }
}

/// A `docker` CLI bound to one daemon address with a fresh `DOCKER_CONFIG` dir (removed on
/// drop), `DOCKER_BUILDKIT=0` (Berth implements the legacy builder) and no inherited
/// `DOCKER_HOST`.
pub struct DockerCli {
    bin: PathBuf,
    host: String,
    config: TempDir,
    timeout: Duration,
}

impl DockerCli {
    /// The CLI talking to `unix://<socket>`.
    pub fn unix(socket: &Path) -> Result<DockerCli> {
        Self::with_host(format!("unix://{}", socket.display()), None)
    }

    /// The CLI talking to `tcp://<addr>`, sending `Authorization: Bearer <token>` on every
    /// request (through `HttpHeaders` in its config.json).
    pub fn tcp(addr: SocketAddr, token: &str) -> Result<DockerCli> {
        Self::with_host(format!("tcp://{addr}"), Some(token))
    }

    /// The CLI on `agent`'s unix socket.
    pub fn for_agent(agent: &TestAgent) -> Result<DockerCli> {
        Self::unix(agent.socket())
    }

    /// The CLI on `agent`'s TCP port with `token`.
    pub fn for_agent_tcp(agent: &TestAgent, token: &str) -> Result<DockerCli> {
        Self::tcp(agent.addr(), token)
    }

    fn with_host(host: String, token: Option<&str>) -> Result<DockerCli> {
        let config = tempfile::Builder::new()
            .prefix("berth-docker-config-")
            .tempdir()
            .context("creating a DOCKER_CONFIG dir")?;
        let mut json = serde_json::json!({});
        if let Some(token) = token {
            json["HttpHeaders"] = serde_json::json!({ "Authorization": format!("Bearer {token}") });
        }
        std::fs::write(
            config.path().join("config.json"),
            serde_json::to_vec_pretty(&json)?,
        )
        .context("writing the docker config.json")?;
        let bin = std::env::var_os("DOCKER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("docker"));
        Ok(DockerCli {
            bin,
            host,
            config,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Changes the time limit for each call (default 120 s).
    pub fn with_timeout(mut self, timeout: Duration) -> DockerCli {
        self.timeout = timeout;
        self
    }

    /// The `DOCKER_CONFIG` dir (e.g. to inspect what `docker login` stored).
    pub fn config_dir(&self) -> &Path {
        self.config.path()
    }

    /// The `-H` value, e.g. `unix:///tmp/…/berth.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A `docker -H <host>` command with the isolated environment, ready for more arguments.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        for var in DOCKER_ENV {
            cmd.env_remove(var);
        }
        cmd.env("DOCKER_CONFIG", self.config.path())
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_CLI_HINTS", "false")
            .args(["-H", &self.host]);
        cmd
    }

    /// Runs `docker -H <host> <args…>` and collects its output.
    pub fn run(&self, args: &[&str]) -> Result<CliOutput> {
        self.run_inner(args, None)
    }

    /// Runs the CLI and returns its stdout; a non-zero exit is an error carrying its output.
    pub fn stdout(&self, args: &[&str]) -> Result<String> {
        Ok(self.run(args)?.ok()?.stdout)
    }

    /// Like [`run`](Self::run), feeding `stdin` to the CLI.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Result<CliOutput> {
        self.run_inner(args, Some(stdin))
    }

    fn run_inner(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<CliOutput> {
        let finished = run_with_timeout(self.command().args(args), stdin, self.timeout)
            .with_context(|| format!("running docker {}", args.join(" ")))?;
        Ok(CliOutput {
            status: finished.status,
            stdout: String::from_utf8_lossy(&finished.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&finished.stderr).into_owned(),
        })
    }
}
