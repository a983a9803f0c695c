//! [`TestRegistry`]: Debian's distribution registry (`docker-registry`, CNCF distribution 2.8)
//! on `127.0.0.1:<free port>`, with its own config file and storage dir.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::ports;

/// Where Debian's `docker-registry` package puts the binary (`$REGISTRY_BIN` overrides).
const DEFAULT_REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// How long the registry may take to answer `GET /v2/`.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// bcrypt cost for htpasswd entries: the minimum, tests need no strength.
const BCRYPT_COST: u32 = 4;

/// Bearer-token auth (`auth.token` in the registry config), for tests that run their own
/// token server: the registry sends clients to `realm` and trusts tokens signed by a key
/// whose certificate is in `root_cert_bundle`.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub realm: String,
    pub service: String,
    pub issuer: String,
    pub root_cert_bundle: PathBuf,
}

/// How to start a registry. `Default` is anonymous, deletes enabled.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Basic auth with one user (an htpasswd file with a bcrypt hash is generated).
    pub htpasswd: Option<(String, String)>,
    /// Bearer-token auth (takes precedence over `htpasswd` if both are set).
    pub token_auth: Option<TokenAuth>,
    /// Accept pushes of (signed) schema 1 manifests (`compatibility.schema1.enabled`), so
    /// tests can store one: the registry converts a Docker v2 manifest to schema 1 for a
    /// client whose `Accept` lacks v2, signed with its own key, and takes that back.
    pub schema1: bool,
}

/// One running registry. Dropping it kills the process and removes its storage.
pub struct TestRegistry {
    child: Option<Child>,
    dir: TempDir,
    addr: SocketAddr,
    credentials: Option<(String, String)>,
}

impl TestRegistry {
    /// Starts an anonymous registry.
    pub fn start() -> Result<TestRegistry> {
        Self::start_with(RegistryOptions::default())
    }

    /// Starts a registry with `options`, and waits until `GET /v2/` answers.
    pub fn start_with(options: RegistryOptions) -> Result<TestRegistry> {
        let bin = std::env::var_os("REGISTRY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_REGISTRY_BIN));
        if !bin.is_file() {
            bail!(
                "{} is missing: install Debian's docker-registry package (tests/run does)",
                bin.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .context("creating the registry temp dir")?;
        let addr = ports::free_loopback_addr()?;
        let config = render_config(dir.path(), addr, &options)?;
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).context("writing the registry config")?;
        let log = File::create(dir.path().join("registry.log"))?;
        let child = Command::new(&bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {} serve", bin.display()))?;
        let mut registry = TestRegistry {
            child: Some(child),
            dir,
            addr,
            credentials: options.htpasswd.clone(),
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!("docker-registry exited with {status}:\n{}", self.log());
            }
            if let Ok(status) = v2_status(self.addr)
                && (status == 200 || status == 401)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "docker-registry did not answer GET /v2/ within {START_TIMEOUT:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` + `path` (e.g. `/v2/busybox/manifests/latest`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The user and password of basic auth, if enabled.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The storage root (`storage.filesystem.rootdirectory`).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// What the registry logged (level warn and up).
    pub fn log(&self) -> String {
        fs::read(self.dir.path().join("registry.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The registry's config.yml for `options`, storing under `dir/storage`.
fn render_config(dir: &Path, addr: SocketAddr, options: &RegistryOptions) -> Result<String> {
    let storage = dir.join("storage");
    fs::create_dir_all(&storage)?;
    let mut yaml = String::new();
    writeln!(yaml, "version: 0.1")?;
    writeln!(
        yaml,
        "log:\n  level: warn\n  accesslog:\n    disabled: true"
    )?;
    writeln!(
        yaml,
        "storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true",
        yaml_string(&storage.to_string_lossy())
    )?;
    // A fixed secret only silences the "generating a random secret" warning; nothing signs
    // anything that outlives the test.
    writeln!(
        yaml,
        "http:\n  addr: {addr}\n  secret: berth-test-registry-secret"
    )?;
    if options.schema1 {
        writeln!(yaml, "compatibility:\n  schema1:\n    enabled: true")?;
    }
    if let Some(token) = &options.token_auth {
        writeln!(
            yaml,
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}",
            yaml_string(&token.realm),
            yaml_string(&token.service),
            yaml_string(&token.issuer),
            yaml_string(&token.root_cert_bundle.to_string_lossy())
        )?;
    } else if let Some((user, password)) = &options.htpasswd {
        let htpasswd = dir.join("htpasswd");
        fs::write(&htpasswd, htpasswd_line(user, password)?)?;
        writeln!(
            yaml,
            "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}",
            yaml_string(&htpasswd.to_string_lossy())
        )?;
    }
    Ok(yaml)
}

/// One htpasswd line, `user:$2y$…`, the only hash format distribution accepts.
fn htpasswd_line(user: &str, password: &str) -> Result<String> {
    if user.contains(':') || user.contains('\n') {
        bail!("htpasswd user names cannot contain ':' or newlines");
    }
    let hash = bcrypt::hash_with_result(password, BCRYPT_COST)
        .context("bcrypt hashing the registry password")?
        .format_for_version(bcrypt::Version::TwoY);
    Ok(format!("{user}:{hash}\n"))
}

/// A double-quoted YAML scalar (JSON strings are valid YAML).
fn yaml_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// The status code of `GET /v2/` (one short-lived HTTP/1.0 exchange).
fn v2_status(addr: SocketAddr) -> Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let line = String::from_utf8_lossy(&head);
    line.get(9..12)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_uses_bcrypt_2y() {
        let line = htpasswd_line("alice", "secret").expect("hash");
        let (user, hash) = line.trim().split_once(':').expect("user:hash");
        assert_eq!(user, "alice");
        assert!(hash.starts_with("$2y$04$"), "{hash}");
        assert!(bcrypt::verify("secret", hash).expect("verify"));
    }
}
