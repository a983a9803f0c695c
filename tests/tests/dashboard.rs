//! The dashboard in real headless Chromium: the printed one-time link logs in, the Hosts
//! page shows this host's facts and keeps them live over the WebSocket, events appear as
//! they happen, and a viewer logs in with a pasted token.

use berth_tests::browser::{dashboard_built, wait_text};
use berth_tests::{Browser, TestAgent};
use fantoccini::{Client, Locator};
use std::time::Duration;

/// A guard against hanging, not a speed check.
const WAIT: Duration = Duration::from_secs(30);

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_link_shows_live_host_facts_and_events() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    if !dashboard_built(&agent, "login_link_shows_live_host_facts_and_events").await {
        return;
    }
    let Some(browser) = Browser::start("login_link_shows_live_host_facts_and_events")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.goto(agent.login_url().unwrap()).await.unwrap();

    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(text_of(c, "#host-kernel").await, kernel.trim());
    assert_eq!(text_of(c, "#whoami-role").await, "admin");
    assert!(
        text_of(c, "#host-root")
            .await
            .contains(&agent.root().display().to_string())
    );
    wait_text(c, "#ws-state", |t| t.contains("live")).await;
    // Facts keep arriving: the time of the last report moves on.
    let first = wait_text(c, "#host-updated", |t| t != "—").await;
    wait_text(c, "#host-updated", |t| t != first).await;
    browser.screenshot("hosts").await.unwrap();

    // An event made elsewhere shows up on the Events page.
    c.find(Locator::Css("#nav-events"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let made = agent
        .request(reqwest::Method::POST, "/berth/v1/tokens")
        .json(&serde_json::json!({"role": "viewer", "name": "seen-in-browser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), reqwest::StatusCode::CREATED);
    wait_text(c, "#events", |t| t.contains("seen-in-browser")).await;
    browser.screenshot("events").await.unwrap();

    // Filters: `/` focuses the text filter; words that match nothing hide every row, the
    // event's name brings it back; the type filter keeps only that type.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("events-filter")
    );
    focused.send_keys("no-such-thing").await.unwrap();
    wait_text(c, "#events-none-match", |t| t.contains("No event matches")).await;
    focused.clear().await.unwrap();
    focused.send_keys("seen-in-browser").await.unwrap();
    wait_text(c, "#events tbody", |t| t.contains("seen-in-browser")).await;
    let kind = c
        .find(Locator::Css("#events tbody tr td:nth-child(3)"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    focused.clear().await.unwrap();
    c.find(Locator::Css("#events-type"))
        .await
        .unwrap()
        .select_by_value(&kind)
        .await
        .unwrap();
    for cell in c
        .find_all(Locator::Css("#events tbody tr td:nth-child(3)"))
        .await
        .unwrap()
    {
        assert_eq!(cell.text().await.unwrap(), kind);
    }

    // The link was one-time: opening it again does not log a new browser in.
    c.find(Locator::Css("#logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#token"))
        .await
        .unwrap();
    c.goto(agent.login_url().unwrap()).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#token"))
        .await
        .unwrap();

    // A viewer logs in by pasting a token.
    let viewer = agent.create_token("viewer").unwrap();
    let field = c.find(Locator::Css("#token")).await.unwrap();
    field.send_keys(&viewer).await.unwrap();
    c.find(Locator::Css("#login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn dashboard_files_have_types_and_compression() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    let index = agent.http().get(agent.url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    if index.text().await.unwrap().contains("BERTH_SKIP_WASM") {
        berth_tests::skip("dashboard files", "built with BERTH_SKIP_WASM");
        return;
    }
    let raw = reqwest::Client::builder().no_proxy().build().unwrap();
    for (path, kind) in [
        ("/web_bg.wasm", "application/wasm"),
        ("/web.js", "javascript"),
    ] {
        let r = raw
            .get(agent.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"].to_str().unwrap().contains(kind),
            "{path}"
        );
        assert_eq!(r.headers()["content-encoding"], "gzip", "{path}");
        let etag = r.headers()["etag"].clone();
        let again = raw
            .get(agent.url(path))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
}
