//! "All hosts" in real headless Chromium: agent A with peers `far` (agent B) and `gone`
//! (agent C, stopped during the test). The Containers table lists A's and B's containers with
//! their host (filterable and sortable by it), stops B's container from there and sees the
//! row change live, sees a container made on B appear with B's CPU figures, stops one
//! container on each host with one bulk action, says which peer cannot be reached, opens a
//! peer's row on that host; the Images table lists both hosts' images and tags B's from
//! there; a viewer sees the rows and no action buttons; with the peers removed, the view
//! falls back to this host.

use berth_tests::browser::{
    click, dashboard_built, log_in_as_admin, type_into, wait_count, wait_for, wait_text,
};
use berth_tests::peers::{add_peer, wait_for_state};
use berth_tests::{Browser, TestAgent};
use fantoccini::{Client, Locator};
use reqwest::Method;

/// Chooses "All hosts" in the header's switcher.
async fn choose_all(c: &Client) {
    wait_for(c, "#host-switch option[value='*']")
        .await
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn all_hosts_containers_and_images() {
    berth_tests::require_root().expect("root");
    let (a, docker_a) = berth_tests::agent_with_busybox(&[]).unwrap();
    if !dashboard_built(&a, "dashboard_all_hosts").await {
        return;
    }
    let (b, docker_b) = berth_tests::agent_with_busybox(&[]).unwrap();
    let mut gone = TestAgent::start().unwrap();
    for (docker, name) in [(&docker_a, "on-a"), (&docker_b, "on-b")] {
        docker
            .run(&["run", "-d", "--name", name, "busybox", "sleep", "300"])
            .unwrap()
            .ok()
            .unwrap();
    }
    add_peer(&a, "far", &b).await.unwrap();
    add_peer(&a, "gone", &gone).await.unwrap();
    wait_for_state(&a, "far", "up").await.unwrap();
    wait_for_state(&a, "gone", "up").await.unwrap();

    let Some(browser) = Browser::start("all_hosts_containers_and_images")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    log_in_as_admin(c, a.login_url().unwrap()).await;
    let a_name = wait_text(c, "#whoami-host", |t| !t.is_empty()).await;

    // Both hosts' rows in one table, each with its host.
    click(c, "#nav-containers").await;
    choose_all(c).await;
    let on_a = "#containers tr[data-name='on-a']";
    let on_b = "#containers tr[data-name='on-b']";
    wait_text(c, &format!("{on_a} td.host"), |t| t == a_name).await;
    wait_text(c, &format!("{on_b} td.host"), |t| t == "far").await;
    wait_text(c, &format!("{on_b} td.state"), |t| t == "running").await;
    wait_for(c, "#containers th[data-sort='host']").await;
    let attr = wait_for(c, on_b).await.attr("data-host").await.unwrap();
    assert_eq!(attr.as_deref(), Some("far"));

    // The filter box reads the Host column.
    type_into(c, "#containers-filter", "far").await;
    wait_count(c, on_a, 0).await;
    wait_for(c, on_b).await;
    c.execute(
        "const f = document.querySelector('#containers-filter'); f.value = ''; \
         f.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![],
    )
    .await
    .unwrap();
    wait_for(c, on_a).await;

    // Sorting by host: ascending, then descending.
    let first_host = || async {
        let cells = c
            .find_all(Locator::Css("#containers tbody td.host"))
            .await
            .unwrap();
        cells[0].text().await.unwrap()
    };
    let (low, high) = if a_name.as_str() < "far" {
        (a_name.clone(), "far".to_string())
    } else {
        ("far".to_string(), a_name.clone())
    };
    click(c, "#containers th[data-sort='host']").await;
    wait_text(c, "#containers th[data-sort='host']", |t| t.ends_with('▲')).await;
    assert_eq!(first_host().await, low);
    click(c, "#containers th[data-sort='host']").await;
    wait_text(c, "#containers th[data-sort='host']", |t| t.ends_with('▼')).await;
    assert_eq!(first_host().await, high);

    // Stop B's container from this table: the action goes to B, the row changes live.
    click(c, &format!("{on_b} button.act-stop")).await;
    wait_text(c, &format!("{on_b} td.state"), |t| t == "exited").await;
    let state = docker_b
        .stdout(&["inspect", "-f", "{{.State.Status}}", "on-b"])
        .unwrap();
    assert_eq!(state.trim(), "exited", "stopped on B itself");
    let state = docker_a
        .stdout(&["inspect", "-f", "{{.State.Status}}", "on-a"])
        .unwrap();
    assert_eq!(state.trim(), "running", "A's container untouched");

    // A container made on B by its own CLI appears without a reload.
    docker_b
        .run(&["run", "-d", "--name", "new-on-b", "busybox", "sleep", "300"])
        .unwrap()
        .ok()
        .unwrap();
    let new_on_b = "#containers tr[data-name='new-on-b']";
    wait_text(c, &format!("{new_on_b} td.host"), |t| t == "far").await;
    // Its CPU comes from B's own usage topic.
    wait_text(c, &format!("{new_on_b} td.cpu"), |t| t.ends_with('%')).await;
    browser.screenshot("all-hosts-containers").await.unwrap();

    // One bulk Stop for a container on each host.
    click(c, &format!("{on_a} input.pick-row")).await;
    click(c, &format!("{new_on_b} input.pick-row")).await;
    click(c, "#bulk button.bulk-stop").await;
    wait_text(c, &format!("{on_a} td.state"), |t| t == "exited").await;
    wait_text(c, &format!("{new_on_b} td.state"), |t| t == "exited").await;
    for (docker, name) in [(&docker_a, "on-a"), (&docker_b, "new-on-b")] {
        let state = docker
            .stdout(&["inspect", "-f", "{{.State.Status}}", name])
            .unwrap();
        assert_eq!(state.trim(), "exited", "{name} stopped on its own host");
    }

    // A peer that goes away is named, not silently missing.
    gone.stop().unwrap();
    wait_text(c, "#containers-hosts [data-note='gone']", |t| {
        t.starts_with("host gone: unreachable")
    })
    .await;
    wait_for(c, on_a).await;
    wait_for(c, on_b).await;

    // A peer's row opens on that host.
    click(c, &format!("{on_b} a.name")).await;
    wait_text(c, "#container-name", |t| t == "on-b").await;
    let switched = wait_for(c, "#host-switch")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(switched.as_deref(), Some("far"));

    // Images: both hosts' busybox, each with its host.
    click(c, "#nav-images").await;
    choose_all(c).await;
    wait_for(c, "#images tr[data-host='far'] td.host").await;
    wait_text(c, "#images tr[data-host=''] td.host", |t| t == a_name).await;

    // Tag B's busybox from here: the new name is on B only.
    let far_row = "#images tr[data-host='far']";
    click(c, &format!("{far_row} button.retag")).await;
    type_into(c, &format!("{far_row} input.tag-ref"), "tagged-on-far:v1").await;
    click(c, &format!("{far_row} button.tag-save")).await;
    wait_text(c, far_row, |t| t.contains("tagged-on-far:v1")).await;
    let images_b = docker_b.stdout(&["images"]).unwrap();
    assert!(images_b.contains("tagged-on-far"), "{images_b}");
    let images_a = docker_a.stdout(&["images"]).unwrap();
    assert!(!images_a.contains("tagged-on-far"), "{images_a}");
    browser.screenshot("all-hosts-images").await.unwrap();

    // A viewer sees every host's rows and no action buttons.
    click(c, "#logout").await;
    let viewer = a.create_token("viewer").unwrap();
    type_into(c, "#token", &viewer).await;
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-containers").await;
    choose_all(c).await;
    wait_text(c, &format!("{on_b} td.state"), |t| t == "exited").await;
    wait_for(c, on_a).await;
    assert!(
        c.find_all(Locator::Css("#containers button, #containers .pick-row"))
            .await
            .unwrap()
            .is_empty(),
        "a viewer gets no actions"
    );
    browser.screenshot("all-hosts-viewer").await.unwrap();

    // With no peer left, "All hosts" goes with the switcher: this host alone, no Host column.
    for name in ["far", "gone"] {
        let path = format!("/berth/v1/hosts/{name}");
        let status = a
            .request(Method::DELETE, &path)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "removing {name}: {status}");
    }
    wait_count(c, "#host-switch", 0).await;
    wait_count(c, "#containers th[data-sort='host']", 0).await;
    wait_for(c, on_a).await;
    wait_count(c, on_b, 0).await;
    browser.close().await.unwrap();
}
