//! The Containers and Container pages in real headless Chromium, against real containers: a
//! running container is listed, Stop from the page turns its row exited through the live
//! event stream (and a start from the CLI turns it back without a reload), its page shows its
//! logs with stderr apart, another container's page lists the file it made and commits it into
//! an image the Images page then lists, a running container is removed after a confirmation,
//! and a viewer sees no actions.

use berth_tests::browser::{dashboard_built, wait_text};
use berth_tests::{Browser, DockerCli, TestAgent, TestImage};
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

/// A guard against hanging, not a speed check.
const WAIT: Duration = Duration::from_secs(30);

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn click(c: &Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

/// Polls until exactly `n` elements match.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = c.find_all(Locator::Css(css)).await.unwrap().len();
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

fn docker(cli: &DockerCli, args: &[&str]) -> String {
    cli.run(args)
        .expect("docker ran")
        .ok()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
        .stdout
}

#[tokio::test]
async fn containers_pages_act_live_show_logs_diff_and_commit() {
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
    docker(
        &cli,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo hello-from-web; echo oops-on-stderr >&2; sleep 1000",
        ],
    );

    let Some(browser) = Browser::start("containers_pages_act_live_show_logs_diff_and_commit")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.goto(agent.login_url().unwrap()).await.unwrap();
    wait_text(c, "#whoami-role", |t| t == "admin").await;
    wait_text(c, "#ws-state", |t| t.contains("live")).await;

    // The list: web runs, with image, status text and command.
    click(c, "#nav-containers").await;
    let web = "#containers tr[data-name='web']";
    wait_text(c, &format!("{web} td.state"), |t| t == "running").await;
    let row = wait_text(c, web, |t| t.contains("Up")).await;
    assert!(row.contains("busybox"), "{row}");
    assert!(row.contains("hello-from-web"), "{row}");
    wait_text(c, "#containers-count", |t| t.contains("1 running")).await;

    // Stop from the page: the row turns exited through the container events (sh as PID 1
    // ignores SIGTERM, so this is the SIGKILL after the 10 s grace period).
    click(c, &format!("{web} button.act-stop")).await;
    wait_text(c, &format!("{web} td.state"), |t| t == "exited").await;
    wait_text(c, &format!("{web} td.status"), |t| {
        t.starts_with("Exited (")
    })
    .await;
    wait_for(c, &format!("{web} button.act-start")).await;
    browser.screenshot("containers").await.unwrap();

    // A start from the CLI arrives as an event: no click, no reload.
    docker(&cli, &["start", "web"]);
    wait_text(c, &format!("{web} td.state"), |t| t == "running").await;
    wait_for(c, &format!("{web} button.act-pause")).await;

    // The container's page: state, image link, logs with stderr marked.
    click(c, &format!("{web} a.name")).await;
    wait_text(c, "#container-name", |t| t == "web").await;
    wait_text(c, "#container-state", |t| t == "running").await;
    wait_text(c, "#container-image", |t| t == "busybox").await;
    wait_text(c, "#logs", |t| t.contains("hello-from-web")).await;
    wait_text(c, "#logs span.err", |t| t.contains("oops-on-stderr")).await;
    wait_text(c, "#stats-memory", |t| t.contains("memory")).await;
    wait_for(c, "#top tbody tr").await;

    // What a container changed, then commit it from its page.
    docker(
        &cli,
        &[
            "run",
            "-d",
            "--name",
            "w2",
            "busybox",
            "sh",
            "-c",
            "echo x > /made; sleep 1000",
        ],
    );
    let deadline = Instant::now() + WAIT;
    while !docker(&cli, &["diff", "w2"]).contains("/made") {
        assert!(Instant::now() < deadline, "w2 never wrote /made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(c, "#back").await;
    click(c, "#containers tr[data-name='w2'] a.name").await;
    wait_text(c, "#container-name", |t| t == "w2").await;
    wait_text(c, "#changes li[data-kind='A']", |t| t.contains("/made")).await;
    wait_text(c, "#changes-summary", |t| t.starts_with("1 added")).await;
    wait_for(c, "#commit-ref")
        .await
        .send_keys("snap/w2:v1")
        .await
        .unwrap();
    click(c, "#commit").await;
    wait_text(c, "#commit-done", |t| t.contains("snap/w2:v1")).await;
    browser.screenshot("container").await.unwrap();
    assert!(c.find(Locator::Css("#commit-error")).await.is_err());
    click(c, "#commit-done a").await;
    wait_text(c, "#image-tags", |t| t.contains("snap/w2:v1")).await;
    click(c, "#nav-images").await;
    wait_text(c, "#images", |t| t.contains("snap/w2:v1")).await;

    // Remove the running w2 from the list: asked once more, then its row goes.
    click(c, "#nav-containers").await;
    let w2 = "#containers tr[data-name='w2']";
    click(c, &format!("{w2} button.act-remove")).await;
    wait_text(c, &format!("{w2} .confirm-text"), |t| t.contains("killed")).await;
    click(c, &format!("{w2} button.confirm")).await;
    wait_count(c, w2, 0).await;
    wait_count(c, web, 1).await;
    assert!(c.find(Locator::Css("#containers-error")).await.is_err());
    assert!(!docker(&cli, &["ps", "-a"]).contains("w2"));

    // A viewer sees the list and the page, but no buttons and no commit form.
    click(c, "#logout").await;
    let viewer = agent.create_token("viewer").unwrap();
    wait_for(c, "#token")
        .await
        .send_keys(&viewer)
        .await
        .unwrap();
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-containers").await;
    wait_text(c, &format!("{web} td.state"), |t| t == "running").await;
    assert!(
        c.find_all(Locator::Css("#containers button"))
            .await
            .unwrap()
            .is_empty()
    );
    click(c, &format!("{web} a.name")).await;
    wait_text(c, "#logs", |t| t.contains("hello-from-web")).await;
    wait_for(c, "#changes-summary").await;
    assert!(c.find(Locator::Css("#commit-ref")).await.is_err());
    assert!(c.find(Locator::Css(".actions button")).await.is_err());
    browser.close().await.unwrap();
    docker(&cli, &["rm", "-f", "web"]);
}
