//! The several-hosts views in real headless Chromium: the Hosts overview with a card per
//! host, the header's host switcher showing B's containers and acting on them through A,
//! B's events on A's Events page with their host, "Copy to host…" on an image with the
//! target's progress, and peers management in Settings (an https peer's fingerprint
//! confirmed before it is added; removal).

use berth_tests::browser::{
    click, dashboard_built, log_in_as_admin, type_into, wait_count, wait_for, wait_text,
};
use berth_tests::peers::{add_peer, wait_for_state};
use berth_tests::{Browser, TestAgent};
use fantoccini::Locator;
use fantoccini::key::Key;

#[tokio::test]
async fn hosts_overview_switcher_copy_and_peers_in_settings() {
    berth_tests::require_root().expect("root");
    let (a, _docker_a) = berth_tests::agent_with_busybox(&[]).unwrap();
    if !dashboard_built(&a, "dashboard_hosts").await {
        return;
    }
    let (b, docker_b) = berth_tests::agent_with_busybox(&[]).unwrap();
    let c_agent = TestAgent::start().unwrap();
    let d = TestAgent::start_with_args(&["--tls"]).unwrap();
    docker_b
        .run(&[
            "run",
            "-d",
            "--name",
            "on-b",
            "busybox",
            "sh",
            "-c",
            "echo logged-on-b; exec sleep 300",
        ])
        .unwrap()
        .ok()
        .unwrap();
    add_peer(&a, "b", &b).await.unwrap();
    add_peer(&a, "c", &c_agent).await.unwrap();
    wait_for_state(&a, "c", "up").await.unwrap();

    let Some(browser) = Browser::start("hosts_overview_switcher_copy_and_peers_in_settings")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    log_in_as_admin(c, a.login_url().unwrap()).await;

    // Hosts: one card per host, live.
    click(c, "#nav-hosts").await;
    let card = wait_text(c, "#host-card-b", |t| t.contains("1 running")).await;
    assert!(card.to_lowercase().contains(" up"), "{card}");
    assert!(card.contains(&b.base_url()), "{card}");
    wait_text(c, "#host-card-c", |t| t.contains("0 running")).await;
    wait_for(c, "#hosts-overview .host-card[data-state='up']").await;

    // Show B's containers through the card (which sets the switcher), and act on one.
    click(c, "#host-card-b .show-host").await;
    let switched = wait_for(c, "#host-switch")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(switched.as_deref(), Some("b"));
    let row = "#containers tr[data-name='on-b']";
    wait_text(c, &format!("{row} td.state"), |t| t == "running").await;

    // B's container page: its log and a console come from B, through A's proxy.
    // (In-app navigation: a page load would start over on this host.)
    c.execute("location.hash = '#/container/on-b/logs'", vec![])
        .await
        .unwrap();
    wait_text(c, "#logs", |t| t.contains("logged-on-b")).await;
    click(c, "#tab-console").await;
    wait_text(c, "#console-status", |t| t.starts_with("Connected")).await;
    let term = wait_for(c, "#console").await;
    term.click().await.unwrap();
    term.send_keys(&format!("hostname; echo on-b-$((40+2)){}", Key::Enter))
        .await
        .unwrap();
    wait_text(c, "#console", |t| t.contains("on-b-42")).await;
    let b_hostname = docker_b
        .stdout(&["inspect", "-f", "{{.Config.Hostname}}", "on-b"])
        .unwrap();
    wait_text(c, "#console", |t| t.contains(b_hostname.trim())).await;
    click(c, "#nav-containers").await;
    wait_text(c, &format!("{row} td.state"), |t| t == "running").await;
    click(c, &format!("{row} button.act-stop")).await;
    wait_text(c, &format!("{row} td.state"), |t| t == "exited").await;
    let state = docker_b
        .stdout(&["inspect", "-f", "{{.State.Status}}", "on-b"])
        .unwrap();
    assert_eq!(state.trim(), "exited", "stopped on B itself");

    // Back to this host with the switcher: B's container is not here.
    wait_for(c, "#host-switch option[value='']")
        .await
        .click()
        .await
        .unwrap();
    wait_count(c, row, 0).await;

    // Events: B's show with their host.
    click(c, "#nav-events").await;
    wait_text(c, "#events tbody", |t| {
        t.lines().any(|l| l.contains("b") && l.contains("die"))
    })
    .await;
    let hosts: Vec<String> = {
        let mut seen = Vec::new();
        for cell in c.find_all(Locator::Css("#events td.host")).await.unwrap() {
            seen.push(cell.text().await.unwrap());
        }
        seen
    };
    assert!(hosts.iter().any(|h| h == "b"), "{hosts:?}");

    // Copy busybox from this host to C, with C's pull progress.
    click(c, "#nav-images").await;
    let busybox = "#images tr[data-id] button.copy";
    click(c, busybox).await;
    wait_for(c, "select.copy-target option[value='c']")
        .await
        .click()
        .await
        .unwrap();
    click(c, "button.copy-go").await;
    wait_for(c, "#copy-progress[data-state='done']").await;
    let progress = wait_text(c, "#copy-progress", |t| !t.is_empty()).await;
    assert!(progress.contains("Copied"), "{progress}");
    let on_c: serde_json::Value = c_agent
        .get("/images/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(on_c.to_string().contains("busybox:latest"), "{on_c}");

    // Settings: add D over https, confirming its certificate's fingerprint first.
    click(c, "#nav-settings").await;
    type_into(c, "#peer-name", "d").await;
    type_into(c, "#peer-url", &d.base_url()).await;
    type_into(c, "#peer-token", d.admin_token()).await;
    click(c, "#peer-add").await;
    let shown = wait_text(c, "#peer-fingerprint", |t| !t.is_empty()).await;
    assert_eq!(Some(shown), d.printed_fingerprint());
    assert!(
        c.find(Locator::Css("#peers-list tr[data-name='d']"))
            .await
            .is_err(),
        "not yet added"
    );
    click(c, "#peer-confirm-yes").await;
    wait_text(c, "#peers-list tr[data-name='d']", |t| {
        t.to_lowercase().contains("up")
    })
    .await;
    wait_count(c, "#peer-confirm", 0).await;
    let (entry, _) = wait_for_state(&a, "d", "up").await.unwrap();
    assert_eq!(
        entry["fingerprint"],
        d.printed_fingerprint().unwrap().as_str()
    );

    click(c, "#peers-list tr[data-name='d'] button.remove-host").await;
    wait_count(c, "#peers-list tr[data-name='d']", 0).await;
    browser.close().await.unwrap();
}
