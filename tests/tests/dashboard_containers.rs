//! The Containers and Container pages in real headless Chromium, against real containers:
//! run a web server with a port mapping through the Run dialog and fetch the page through the
//! row's port link; the row appears without a reload; the Logs tab follows output as it is
//! written; the Console tab runs a shell (a command typed, its output read, a file written);
//! the Changes tab shows that file with its size; the Commit dialog makes an image with one
//! more history layer; Stop and Remove change the row, then drop it. A viewer sees no action
//! and no console. Screenshots of each page go to `E2E_SCREENSHOT_DIR` when it is set.

use berth_tests::browser::{
    click, dashboard_built, log_in_as_admin, type_into, wait_count, wait_for, wait_js, wait_text,
};
use berth_tests::{Browser, DockerCli, TestAgent, TestImage};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

/// A guard against hanging, not a speed check.
const WAIT: Duration = Duration::from_secs(30);

/// An element that is absent or not shown (error lines wait hidden).
async fn assert_hidden(c: &Client, css: &str) {
    if let Ok(el) = c.find(Locator::Css(css)).await {
        let text = el.text().await.unwrap_or_default();
        assert!(!el.is_displayed().await.unwrap(), "{css} is shown: {text}");
    }
}

async fn shot(browser: &Browser, name: &str) {
    browser.screenshot(name).await.unwrap();
}

#[tokio::test]
async fn containers_pages_run_follow_console_commit_and_remove() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    if !dashboard_built(&agent, "dashboard_containers").await {
        return;
    }
    let cli = DockerCli::for_agent(&agent).expect("docker cli");
    berth_tests::load_image(
        &agent,
        &cli,
        &TestImage::busybox().expect("busybox image"),
        "busybox:latest",
    )
    .expect("docker load");
    let Some(browser) = Browser::start("containers_pages_run_follow_console_commit_and_remove")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.set_window_size(1280, 720).await.unwrap();
    log_in_as_admin(c, agent.login_url().unwrap()).await;
    click(c, "#nav-containers").await;
    wait_text(c, "#containers-count", |t| t.contains("No containers")).await;

    // Run dialog: a web server with a port mapping; the port check sees it free.
    let port = berth_tests::ports::free_loopback_port().unwrap();
    click(c, "#run-open").await;
    type_into(c, "#run-image", "busybox").await;
    type_into(c, "#run-name", "web").await;
    type_into(
        c,
        "#run-cmd",
        "sh -c 'mkdir -p /www && echo served-by-berth > /www/index.html && echo web-started && exec httpd -f -p 80 -h /www'",
    )
    .await;
    type_into(c, ".port-row .port-host", &port.to_string()).await;
    type_into(c, ".port-row .port-container", "80").await;
    wait_text(c, ".port-row .port-check", |t| t == "free").await;
    type_into(c, ".env-row .env-key", "GREETING").await;
    type_into(c, ".env-row .env-value", "hello there").await;
    wait_text(c, "#run-cmdline", |t| {
        t.contains(&format!("-p {port}:80")) && t.contains("-e 'GREETING=hello there'")
    })
    .await;
    shot(&browser, "run-dialog").await;
    click(c, "#run").await;
    wait_text(c, "#run-done", |t| t.contains("web")).await;
    click(c, "#run-close").await;

    // The row arrives by itself, with the port as a link that serves the page.
    let web = "#containers tr[data-name='web']";
    wait_text(c, &format!("{web} td.state"), |t| t == "running").await;
    wait_text(c, &format!("{web} td.status"), |t| t.starts_with("Up")).await;
    let link = wait_for(c, &format!("{web} a.port")).await;
    let href = link.attr("href").await.unwrap().expect("port link href");
    assert!(href.ends_with(&format!(":{port}/")), "{href}");
    let served = async {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = reqwest::get(&href).await
                && let Ok(body) = r.text().await
                && body.contains("served-by-berth")
            {
                return body;
            }
            assert!(Instant::now() < deadline, "{href} never served the page");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    assert!(served.contains("served-by-berth"));
    wait_text(c, &format!("{web} td.mem"), |t| t.ends_with("B")).await;
    shot(&browser, "containers").await;

    // A container made by the CLI appears without a reload.
    cli.stdout(&["run", "-d", "--name", "side", "busybox", "sleep", "1000"])
        .unwrap();
    wait_text(c, "#containers tr[data-name='side'] td.state", |t| {
        t == "running"
    })
    .await;
    // Filter: `/` focuses the box, Enter opens the first match.
    let body = wait_for(c, "body").await;
    body.send_keys("/").await.unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("sid")
        .await
        .unwrap();
    wait_count(c, "#containers tbody tr[data-name]", 1).await;
    wait_for(c, "#containers tr[data-name='side']").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    wait_text(c, "#container-name", |t| t == "side").await;
    click(c, "#back").await;

    // The container's page: overview with the port, env and state.
    click(c, &format!("{web} a.name")).await;
    wait_text(c, "#container-name", |t| t == "web").await;
    wait_text(c, "#container-state", |t| t == "running").await;
    wait_text(c, "#container-image", |t| t == "busybox").await;
    wait_text(c, "#container-env", |t| t.contains("GREETING=hello there")).await;
    wait_text(c, "#container-ports", |t| {
        t.contains(&format!(":{port} → 80/tcp"))
    })
    .await;
    shot(&browser, "container-overview").await;

    // Logs: the backlog, then a line written now arrives by itself.
    click(c, "#tab-logs").await;
    wait_text(c, "#logs", |t| t.contains("web-started")).await;
    cli.stdout(&[
        "exec",
        "web",
        "sh",
        "-c",
        "echo arrived-later > /proc/1/fd/1; echo to-stderr > /proc/1/fd/2",
    ])
    .unwrap();
    wait_text(c, "#logs", |t| t.contains("arrived-later")).await;
    wait_text(c, "#logs .ln.err", |t| t.contains("to-stderr")).await;

    // Follow: scrolling up to read stops it (new lines leave the view where it is), and
    // scrolling back to the end resumes it.
    cli.stdout(&["exec", "web", "sh", "-c", "seq 1 300 > /proc/1/fd/1"])
        .unwrap();
    wait_js(
        c,
        "document.querySelectorAll('#logs .ln').length >= 303",
        "300 more lines",
    )
    .await;
    wait_js(
        c,
        "document.querySelector('#logs-follow').checked",
        "following",
    )
    .await;
    c.execute("document.getElementById('logs').scrollTop = 0", vec![])
        .await
        .unwrap();
    wait_js(
        c,
        "!document.querySelector('#logs-follow').checked",
        "follow off after scrolling up",
    )
    .await;
    cli.stdout(&[
        "exec",
        "web",
        "sh",
        "-c",
        "echo while-reading > /proc/1/fd/1",
    ])
    .unwrap();
    wait_text(c, "#logs", |t| t.contains("while-reading")).await;
    let top = c
        .execute("return document.getElementById('logs').scrollTop", vec![])
        .await
        .unwrap();
    assert_eq!(
        top.as_f64(),
        Some(0.0),
        "the view stayed where the reader is"
    );
    c.execute(
        "const p = document.getElementById('logs'); p.scrollTop = p.scrollHeight",
        vec![],
    )
    .await
    .unwrap();
    wait_js(
        c,
        "document.querySelector('#logs-follow').checked",
        "follow on again at the end",
    )
    .await;
    type_into(c, "#logs-search", "later").await;
    wait_text(c, "#logs mark", |t| t == "later").await;
    wait_count(c, "#logs .ln", 1).await;
    shot(&browser, "container-logs").await;

    // Console: a shell; type a command, read its output; write a file.
    click(c, "#tab-console").await;
    wait_text(c, "#console-status", |t| t.starts_with("Connected")).await;
    wait_text(c, "#console", |t| t.contains("#")).await;
    let term = wait_for(c, "#console").await;
    term.click().await.unwrap();
    let enter = Key::Enter.to_string();
    term.send_keys(&format!("echo answer-$((6*7)){enter}"))
        .await
        .unwrap();
    wait_text(c, "#console", |t| t.contains("answer-42")).await;
    term.send_keys(&format!(
        "echo made-in-console > /console-file; cat /console-file | tr a-z A-Z{enter}"
    ))
    .await
    .unwrap();
    wait_text(c, "#console", |t| t.contains("MADE-IN-CONSOLE")).await;
    shot(&browser, "container-console").await;

    // Stats: live charts.
    click(c, "#tab-stats").await;
    wait_text(c, "#stats-memory .chart-now", |t| t.contains(" of ")).await;
    wait_for(c, "#stats-cpu polyline").await;
    wait_for(c, "#top tbody tr").await;
    shot(&browser, "container-stats").await;

    // Changes: the file from the console, with its size; then commit it.
    click(c, "#tab-changes").await;
    wait_text(c, "#changes li[data-kind='A']", |t| {
        t.contains("/console-file") && t.contains("16 B")
    })
    .await;
    wait_text(c, "#changes-summary", |t| t.contains("new layer")).await;
    shot(&browser, "container-changes").await;
    let base_layers = c
        .execute(
            "return fetch('/images/busybox/history').then(r => r.json()).then(h => h.length)",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    click(c, "#changes-commit").await;
    wait_text(c, "#commit-summary", |t| t.contains("new layer")).await;
    type_into(c, "#commit-ref", "snap/web:v1").await;
    type_into(c, "#commit-message", "from the console").await;
    type_into(c, "#commit-changes", "ENV FROM_DIALOG=yes").await;
    shot(&browser, "commit-dialog").await;
    click(c, "#commit").await;
    wait_text(c, "#commit-done", |t| t.contains("snap/web:v1")).await;
    assert_hidden(c, "#commit-error").await;
    click(c, "#commit-done a").await;
    wait_text(c, "#image-name", |t| t.contains("snap/web:v1")).await;
    wait_count(c, "#history tbody tr", base_layers as usize + 1).await;
    wait_text(c, "#history", |t| t.contains("from the console")).await;
    let env = cli
        .stdout(&["inspect", "-f", "{{json .Config.Env}}", "snap/web:v1"])
        .unwrap();
    assert!(env.contains("FROM_DIALOG=yes"), "{env}");

    // Inspect: the raw JSON.
    c.goto(&format!("{}/#/container/web/inspect", agent.base_url()))
        .await
        .unwrap();
    wait_text(c, "#inspect", |t| t.contains("\"Name\": \"/web\"")).await;
    shot(&browser, "container-inspect").await;

    // Stop from the list: the row changes; then remove (asked once more) and it goes.
    click(c, "#nav-containers").await;
    click(c, &format!("{web} button.act-stop")).await;
    wait_text(c, &format!("{web} td.state"), |t| t == "exited").await;
    wait_text(c, &format!("{web} td.status"), |t| {
        t.starts_with("Exited (")
    })
    .await;
    click(c, &format!("{web} summary.act-more")).await;
    click(c, &format!("{web} button.act-remove")).await;
    wait_text(c, &format!("{web} .confirm-text"), |t| {
        t.contains("Remove web?")
    })
    .await;
    click(c, &format!("{web} button.confirm")).await;
    wait_count(c, web, 0).await;
    assert_hidden(c, "#containers-error").await;
    assert!(!cli.stdout(&["ps", "-a"]).unwrap().contains(" web"));

    // Bulk: select side and kill it.
    click(c, "#containers tr[data-name='side'] input.pick-row").await;
    wait_text(c, "#bulk .bulk-count", |t| t == "1 selected:").await;
    click(c, "#bulk .bulk-kill").await;
    wait_text(c, "#containers tr[data-name='side'] td.state", |t| {
        t == "exited"
    })
    .await;

    // Phone width: the table still reads.
    c.set_window_size(390, 844).await.unwrap();
    wait_for(c, "#containers tr[data-name='side'] a.name").await;
    shot(&browser, "containers-phone").await;
    c.set_window_size(1280, 720).await.unwrap();

    // A viewer: no actions, no Run, no console.
    click(c, "#logout").await;
    let viewer = agent.create_token("viewer").unwrap();
    type_into(c, "#token", &viewer).await;
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-containers").await;
    wait_text(c, "#containers tr[data-name='side'] td.state", |t| {
        t == "exited"
    })
    .await;
    assert!(
        c.find_all(Locator::Css("#containers button"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(c.find(Locator::Css("#run-open")).await.is_err());
    click(c, "#containers tr[data-name='side'] a.name").await;
    wait_text(c, "#container-name", |t| t == "side").await;
    assert!(c.find(Locator::Css(".actions button")).await.is_err());
    assert!(c.find(Locator::Css("#open-commit")).await.is_err());
    click(c, "#tab-console").await;
    wait_text(c, "#console-refused", |t| t.contains("Only operators")).await;
    click(c, "#tab-changes").await;
    wait_for(c, "#changes-summary").await;
    assert!(c.find(Locator::Css("#changes-commit")).await.is_err());
    browser.close().await.unwrap();
    cli.stdout(&["rm", "-f", "side", "from-image"]).unwrap();
}

#[tokio::test]
async fn run_dialog_pulls_a_missing_image_offers_a_free_port_and_says_what_is_wrong() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    if !dashboard_built(&agent, "dashboard_containers").await {
        return;
    }
    let registry = berth_tests::TestRegistry::start().expect("registry");
    let host = registry.host();
    TestImage::busybox()
        .expect("busybox image")
        .push(&host, "busybox", "latest", None)
        .await
        .expect("push busybox");
    let cli = DockerCli::for_agent(&agent).expect("docker cli");
    let Some(browser) = Browser::start("run_dialog_pulls_a_missing_image")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.set_window_size(1280, 720).await.unwrap();
    c.goto(agent.login_url().unwrap()).await.unwrap();
    wait_text(c, "#whoami-role", |t| t == "admin").await;
    click(c, "#nav-containers").await;
    click(c, "#run-open").await;

    // Words the engine cannot take are refused in the dialog, in plain words.
    type_into(c, "#run-image", &format!("{host}/busybox:latest")).await;
    type_into(c, "#run-memory", "lots").await;
    click(c, "#run").await;
    wait_text(c, "#run-error", |t| t.contains("not a size like 256m")).await;
    type_into(c, "#run-memory", "64m").await;

    // A host port some other program holds is named, and a free one offered.
    let holder = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    type_into(c, ".port-row .port-host", &held.to_string()).await;
    type_into(c, ".port-row .port-container", "80").await;
    wait_text(c, ".port-row .port-check", |t| {
        t.contains("another program")
    })
    .await;
    click(c, ".port-row .port-use").await;
    wait_text(c, ".port-row .port-check", |t| t == "free").await;
    let offered = wait_for(c, ".port-row .port-host")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_ne!(offered, held.to_string());
    wait_text(c, "#run-cmdline", |t| {
        t.contains(&format!("-p {offered}:80"))
    })
    .await;

    // The image is not on the agent: pulled with its progress, then run.
    type_into(c, "#run-name", "pulled").await;
    type_into(c, "#run-cmd", "sleep 1000").await;
    click(c, "#run").await;
    wait_text(c, "#run-done", |t| t.contains("pulled")).await;
    let progress = wait_for(c, "#pull-progress").await;
    assert_eq!(
        progress.attr("data-state").await.unwrap().as_deref(),
        Some("done")
    );
    browser.screenshot("run-dialog-pulled").await.unwrap();
    click(c, "#run-close").await;
    wait_text(c, "#containers tr[data-name='pulled'] td.state", |t| {
        t == "running"
    })
    .await;
    let limits = cli
        .stdout(&["inspect", "-f", "{{.HostConfig.Memory}}", "pulled"])
        .unwrap();
    assert_eq!(limits.trim(), (64 << 20).to_string());

    // The engine's own refusal shows in the dialog: the name is taken now.
    click(c, "#run-open").await;
    type_into(c, "#run-image", &format!("{host}/busybox:latest")).await;
    type_into(c, "#run-name", "pulled").await;
    click(c, "#run").await;
    wait_text(c, "#run-error", |t| t.contains("already in use")).await;
    drop(holder);
    browser.close().await.unwrap();
    cli.stdout(&["rm", "-f", "pulled"]).unwrap();
}

/// The WebSocket drops when the agent dies: the header says so, and once the agent is back
/// (same session: sessions outlive a restart) the page catches up by itself with what
/// happened meanwhile — here a container that exited while no agent was watching.
#[tokio::test]
async fn the_dashboard_reconnects_after_an_agent_restart_and_catches_up() {
    berth_tests::require_root().expect("root");
    let (mut agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    if !dashboard_built(&agent, "dashboard_reconnect").await {
        return;
    }
    let Some(browser) = Browser::start("the_dashboard_reconnects_after_an_agent_restart")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.set_window_size(1280, 720).await.unwrap();
    log_in_as_admin(c, agent.login_url().unwrap()).await;
    cli.stdout(&["run", "-d", "--name", "napper", "busybox", "sleep", "600"])
        .unwrap();
    let pid: i32 = cli
        .stdout(&["inspect", "-f", "{{.State.Pid}}", "napper"])
        .unwrap()
        .trim()
        .parse()
        .expect("the container's pid");
    click(c, "#nav-containers").await;
    let row = "#containers tr[data-name='napper']";
    wait_text(c, &format!("{row} td.state"), |t| t == "running").await;

    agent.kill_hard().expect("agent killed");
    wait_text(c, "#ws-state", |t| t.contains("reconnecting")).await;
    shot(&browser, "reconnecting").await;
    // The container ends while no agent runs; its supervisor keeps the exit status.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).expect("a pid"),
        rustix::process::Signal::KILL,
    )
    .expect("kill the container's process");
    agent.restart().expect("agent restarted");

    wait_text(c, "#ws-state", |t| t.contains("live")).await;
    wait_text(c, &format!("{row} td.state"), |t| t == "exited").await;
    wait_text(c, &format!("{row} td.status"), |t| t.contains("137")).await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("#/containers"),
        "still on the page, no login asked"
    );
    cli.stdout(&["rm", "napper"]).unwrap();
    wait_count(c, row, 0).await;
    browser.close().await.unwrap();
}
