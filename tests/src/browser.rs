//! [`Browser`]: headless Debian Chromium driven through `chromedriver` by fantoccini.
//!
//! Each browser gets its own chromedriver on a free loopback port and a fresh profile dir.
//! When Chromium or chromedriver is missing, [`Browser::start`] returns `Ok(None)` after
//! printing a SKIP line — unless `E2E_REQUIRED=1`, where it fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::ports;

/// How long chromedriver plus a new Chromium session may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// `$CHROMIUM_BIN` or Debian's `/usr/bin/chromium`.
fn chromium_bin() -> PathBuf {
    std::env::var_os("CHROMIUM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// `$CHROMEDRIVER_BIN` or Debian's `/usr/bin/chromedriver`.
fn chromedriver_bin() -> PathBuf {
    std::env::var_os("CHROMEDRIVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// One headless Chromium session. Call [`close`](Self::close) at the end of a test; dropping
/// it without closing still kills chromedriver (and with it Chromium) and removes the profile.
pub struct Browser {
    client: Client,
    // Field order matters: the session handle first, then the driver, then the profile dir.
    driver: Child,
    profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. `Ok(None)` means "skip this test"
    /// (a SKIP line was printed for `test`); with `E2E_REQUIRED=1` a missing browser fails.
    pub async fn start(test: &str) -> Result<Option<Browser>> {
        let (chromium, driver_bin) = (chromium_bin(), chromedriver_bin());
        for bin in [&chromium, &driver_bin] {
            if !bin.is_file() {
                let reason = format!(
                    "{} is missing (install Debian's chromium and chromium-driver; tests/run does)",
                    bin.display()
                );
                if crate::e2e_required() {
                    bail!("E2E_REQUIRED=1 but {reason}");
                }
                crate::skip(test, &reason);
                return Ok(None);
            }
        }
        let port = ports::free_loopback_port()?;
        let profile = tempfile::Builder::new()
            .prefix("berth-chromium-")
            .tempdir()
            .context("creating the Chromium profile dir")?;
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", driver_bin.display()))?;
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=900,500",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            bail!("capabilities must be a JSON object");
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() >= deadline => {
                    bail!("could not start a Chromium session through chromedriver: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Some(Browser {
            client,
            driver,
            profile,
        }))
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// When `E2E_SCREENSHOT_DIR` is set, saves a PNG of the page as `<dir>/<name>.png` and
    /// returns its path; otherwise does nothing.
    pub async fn screenshot(&self, name: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = std::env::var_os("E2E_SCREENSHOT_DIR").map(PathBuf::from) else {
            return Ok(None);
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(Some(path))
    }

    /// Ends the session, stops chromedriver and removes the profile.
    pub async fn close(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        let _ = self.driver.kill().await;
        closed.context("closing the WebDriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Without close() Chromium may outlive its killed chromedriver: it is found by the
        // profile dir on its command line.
        let _ = self.driver.start_kill();
        let mut notes = Vec::new();
        crate::cleanup::kill_processes_of(self.profile.path(), None, &mut notes);
    }
}

/// How long the dashboard helpers wait: a guard against hanging, not a speed check.
pub const UI_WAIT: Duration = Duration::from_secs(60);

/// Waits for the element `css` to be in the page and returns it; panics (failing the test)
/// after [`UI_WAIT`].
pub async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(UI_WAIT)
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// Clicks the element `css` once it is there. Pages that redraw rows live (the Containers
/// table on every container event) may replace the element between finding and clicking it:
/// a stale element is looked up again.
pub async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + UI_WAIT;
    loop {
        match wait_for(c, css).await.click().await {
            Ok(()) => return,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("clicking {css}: {e}"),
        }
    }
}

/// Replaces the text of the field `css` with `text`.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    let field = wait_for(c, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Polls until exactly `n` elements match `css`.
pub async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + UI_WAIT;
    loop {
        let found = c
            .find_all(fantoccini::Locator::Css(css))
            .await
            .map_or(0, |all| all.len());
        if found == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: {found} elements, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the one-time `login_url` and waits until the dashboard shows an admin's session
/// with its WebSocket live.
pub async fn log_in_as_admin(c: &Client, login_url: &str) {
    c.goto(login_url).await.expect("open the login link");
    wait_text(c, "#whoami-role", |t| t == "admin").await;
    wait_text(c, "#ws-state", |t| t.contains("live")).await;
}

/// Polls until the JavaScript expression `expr` is true in the page (`what` names it in
/// the failure).
pub async fn wait_js(c: &Client, expr: &str, what: &str) {
    let deadline = Instant::now() + UI_WAIT;
    let script = format!("return !!({expr});");
    loop {
        if let Ok(value) = c.execute(&script, vec![]).await
            && value.as_bool() == Some(true)
        {
            return;
        }
        assert!(Instant::now() < deadline, "never true: {what} ({expr})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until the text of the element `css` satisfies `check`, and returns it. Panics
/// (failing the test) after [`UI_WAIT`], showing the last text seen.
pub async fn wait_text(c: &Client, css: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + UI_WAIT;
    let mut last = String::new();
    loop {
        if let Ok(element) = c.find(fantoccini::Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if check(&text) {
                return text;
            }
            last = text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never reached the expected text; last seen: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `agent` serves the real dashboard. An agent built with `BERTH_SKIP_WASM` serves a
/// placeholder: then `test` is skipped (a SKIP line is printed), or fails with
/// `E2E_REQUIRED=1`.
pub async fn dashboard_built(agent: &crate::TestAgent, test: &str) -> bool {
    let page = agent
        .http()
        .get(agent.url("/"))
        .send()
        .await
        .expect("GET / from the agent")
        .text()
        .await
        .expect("the dashboard page");
    if page.contains("BERTH_SKIP_WASM") {
        assert!(
            !crate::e2e_required(),
            "E2E_REQUIRED=1 but the dashboard was not built"
        );
        crate::skip(test, "the agent was built with BERTH_SKIP_WASM");
        return false;
    }
    true
}
