//! The Images, Image and Layers pages in real headless Chromium, against a real registry: two
//! images that share the busybox layer are listed with their unique and shared bytes, one is
//! pulled through the form with its progress shown to the end (and kept in the header's task
//! list after leaving the page), a tag made elsewhere appears without a reload (image
//! events), the image's layer history names the image it shares its base with, the Layers
//! tree draws the shared layer once under both images, an image is tagged and pushed to the
//! registry from the page, removing an image a container uses explains why not, an image is
//! removed from the page, and a viewer sees no actions.

use berth_tests::browser::{
    click, dashboard_built, log_in_as_admin, wait_count, wait_for, wait_text,
};
use berth_tests::{Browser, DockerCli, GenSpec, TestAgent, TestImage, TestRegistry};
use fantoccini::Locator;
use std::time::Duration;

/// `POST /images/create` through the API, read to the end; fails on an `error` line.
async fn pull_via_api(agent: &TestAgent, name: &str, tag: &str) {
    let response = agent
        .request(
            reqwest::Method::POST,
            &format!("/images/create?fromImage={name}&tag={tag}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(!body.contains("\"error\""), "pull of {name}:{tag}: {body}");
}

#[tokio::test]
async fn images_and_layers_pages_pull_show_sharing_and_remove() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    if !dashboard_built(&agent, "dashboard_images").await {
        return;
    }
    let registry = TestRegistry::start().expect("registry");
    let host = registry.host();
    let busybox = TestImage::busybox().expect("busybox image");
    // One generated layer on top of busybox's: the two images share the bottom layer.
    let spec = GenSpec {
        layers: 1,
        files_per_layer: 8,
        file_size: 64 * 1024,
        seed: 11,
    };
    let app = TestImage::generated(&spec, Some(&busybox)).expect("generated image");
    busybox
        .push(&host, "busybox", "latest", None)
        .await
        .expect("push busybox");
    app.push(&host, "app", "v1", None).await.expect("push app");
    let shared_chain = busybox.layers[0].diff_id.clone(); // a bottom layer's chain ID is its diff ID
    pull_via_api(&agent, &format!("{host}/busybox"), "latest").await;

    let Some(browser) = Browser::start("images_and_layers_pages_pull_show_sharing_and_remove")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    log_in_as_admin(c, agent.login_url().unwrap()).await;

    // Images: the pulled one is listed by its full ID, with name, short ID and size.
    click(c, "#nav-images").await;
    let busybox_row = format!("#images tr[data-id='{}']", busybox.image_id());
    let row = wait_text(c, &busybox_row, |t| t.contains("busybox")).await;
    assert!(row.contains(&format!("{host}/busybox:latest")), "{row}");
    assert!(
        row.contains(&busybox.image_id()["sha256:".len()..][..12]),
        "{row}"
    );

    // Pull the second image through the form and follow its progress to the end.
    let reference = format!("{host}/app:v1");
    wait_for(c, "#pull-ref")
        .await
        .send_keys(&reference)
        .await
        .unwrap();
    click(c, "#pull").await;
    wait_for(c, "#pull-progress[data-state='done']").await;
    let progress = c
        .find(Locator::Css("#pull-progress"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(progress.contains("Already exists"), "{progress}");
    assert!(progress.contains("Pull complete"), "{progress}");
    assert!(
        progress.contains(&format!("Status: Downloaded newer image for {reference}")),
        "{progress}"
    );
    assert!(c.find(Locator::Css("#pull-error")).await.is_err());
    let app_row = format!("#images tr[data-id='{}']", app.image_id());
    wait_text(c, &app_row, |t| t.contains(&reference)).await;
    wait_count(c, "#images tbody tr", 2).await;
    // Its own layer (8 × 64 KiB) is unique to it; the busybox layer is shared.
    wait_text(c, &format!("{app_row} td.unique"), |t| t == "512.0 KiB").await;
    let shared_text = wait_text(c, &format!("{app_row} td.shared"), |t| t != "0 B").await;
    wait_text(c, &format!("{busybox_row} td.shared"), |t| t == shared_text).await;
    wait_text(c, &format!("{busybox_row} td.unique"), |t| t == "0 B").await;

    // The pull is a task: it is still listed, finished, after leaving the page.
    click(c, "#nav-events").await;
    click(c, "#tasks-toggle").await;
    let task = wait_text(c, "#task-panel .pull-progress[data-state='done']", |t| {
        t.contains(&reference)
    })
    .await;
    assert!(task.contains("already here"), "{task}");
    click(c, "#tasks-toggle").await;
    click(c, "#nav-images").await;
    wait_for(c, "#pull-progress[data-state='done']").await;

    // A pull of something the registry lacks shows the registry's error.
    let field = wait_for(c, "#pull-ref").await;
    field.clear().await.unwrap();
    field
        .send_keys(&format!("{host}/nothing:here"))
        .await
        .unwrap();
    click(c, "#pull").await;
    wait_text(c, "#pull-error", |t| t.contains("manifest unknown")).await;
    browser.screenshot("images").await.unwrap();

    // The filter: `/` focuses it, words narrow the rows, Enter opens the first.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    let filter = c.active_element().await.unwrap();
    assert_eq!(
        filter.attr("id").await.unwrap().as_deref(),
        Some("images-filter")
    );
    filter.send_keys("app").await.unwrap();
    wait_count(c, "#images tbody tr", 1).await;
    wait_text(c, "#images-count", |t| t == "1 of 2 images").await;
    filter.send_keys("\u{E007}").await.unwrap(); // Enter
    wait_text(c, "#image-id", |t| t == app.image_id()).await;
    click(c, "#back").await;
    wait_count(c, "#images tbody tr", 2).await;

    // A tag made elsewhere arrives as an image event: the row shows it without a reload.
    let tagged = agent
        .request(
            reqwest::Method::POST,
            &format!("/images/{}/tag?repo=extra/name&tag=v9", app.image_id()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 201);
    wait_text(c, &app_row, |t| t.contains("extra/name:v9")).await;

    // The image's page: config and its layer history, the base layer shared with busybox.
    click(c, &format!("{app_row} td.mono")).await;
    wait_text(c, "#image-id", |t| t == app.image_id()).await;
    wait_text(c, "#image-cmd", |t| t == r#"["sh"]"#).await;
    wait_count(c, "#history tbody tr", 2).await;
    let history = wait_text(c, "#history", |t| t.contains("generated layer 0")).await;
    assert!(history.contains("busybox from Debian"), "{history}");
    let base_row = format!("#history tr[data-chain='{shared_chain}']");
    wait_text(c, &format!("{base_row} td.users"), |t| {
        t.contains(&format!("{host}/busybox:latest"))
    })
    .await;
    browser.screenshot("image").await.unwrap();

    // Layers: a tree in which the busybox layer is drawn once, under both images.
    click(c, "#nav-layers").await;
    wait_text(c, "#layers-summary", |t| t.starts_with("2 layers,")).await;
    let shared = format!("#layer-graph g.layer[data-chain='{shared_chain}']");
    wait_count(c, &shared, 1).await;
    let block = wait_for(c, &shared).await;
    assert_eq!(
        block.attr("data-shared").await.unwrap().as_deref(),
        Some("2")
    );
    assert!(block.text().await.unwrap().contains("×2"));
    wait_count(c, "#layer-graph g.layer[data-shared='1']", 1).await;
    // Each image caps its top layer and says what removing it frees: busybox nothing, as
    // its only layer is shared; the app its own 512 KiB.
    let app_cap = format!("#layer-graph g.cap[data-image='{}']", app.image_id());
    wait_text(c, &app_cap, |t| t.contains("frees 512.0 KiB")).await;
    let busybox_cap = format!("#layer-graph g.cap[data-image='{}']", busybox.image_id());
    wait_text(c, &busybox_cap, |t| t.contains("frees 0 B")).await;
    wait_text(
        c,
        &format!("#image-usage tr[data-id='{}'] td.freed", app.image_id()),
        |t| t == "512.0 KiB",
    )
    .await;
    let summary = wait_text(c, "#layers-summary", |t| t.contains("saved")).await;
    assert!(
        summary.contains("without sharing the images would take"),
        "{summary}"
    );
    // Clicking the layer keeps its details up: IDs, the step that made it, both images.
    block.click().await.unwrap();
    wait_text(c, "#layer-chain", |t| t == shared_chain).await;
    wait_text(c, "#layer-step", |t| t.contains("busybox from Debian")).await;
    let users = wait_text(c, "#layer-images", |t| t.contains("busybox")).await;
    assert!(users.contains(&reference), "{users}");
    wait_count(c, "#layer-graph g.layer.hl", 1).await;
    browser.screenshot("layers").await.unwrap();

    // Tag busybox for another repository of the registry and push it from the page: the
    // push's progress ends done and the registry has the tag.
    click(c, "#nav-images").await;
    click(c, &format!("{busybox_row} button.retag")).await;
    let pushed = format!("{host}/pushed:v2");
    wait_for(c, &format!("{busybox_row} input.tag-ref"))
        .await
        .send_keys(&pushed)
        .await
        .unwrap();
    click(c, &format!("{busybox_row} button.tag-save")).await;
    wait_text(c, &busybox_row, |t| t.contains(&pushed)).await;
    // Push sends the row's shown name (its first tag), whichever of the two that is.
    let shown = wait_for(c, &format!("{busybox_row} td a"))
        .await
        .text()
        .await
        .unwrap();
    click(c, &format!("{busybox_row} button.push")).await;
    wait_for(c, "#push-progress[data-state='done']").await;
    let tags: serde_json::Value = reqwest::get(format!(
        "http://{host}/v2/{}/tags/list",
        shown
            .trim_start_matches(&format!("{host}/"))
            .split(':')
            .next()
            .unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let tag = shown.rsplit(':').next().unwrap();
    assert!(
        tags["tags"].as_array().unwrap().iter().any(|t| t == tag),
        "{tags}"
    );

    // Save is a download of the docker save tar.
    let save = wait_for(c, &format!("{busybox_row} a.save")).await;
    let href = save.attr("href").await.unwrap().unwrap();
    assert_eq!(
        href,
        format!("/images/{}/get", busybox.image_id().replace(':', "%3A"))
    );
    let tar = agent
        .request(reqwest::Method::GET, &href)
        .send()
        .await
        .unwrap();
    assert_eq!(tar.status(), 200);
    assert!(!tar.bytes().await.unwrap().is_empty());

    // An image a container uses: Remove says which container stands in the way.
    let cli = DockerCli::for_agent(&agent).expect("docker cli");
    let made = cli
        .run(&[
            "create",
            "--name",
            "holder",
            &format!("{host}/busybox:latest"),
            "true",
        ])
        .unwrap();
    assert!(made.success(), "{made:?}");
    wait_text(c, &format!("{busybox_row} td.users"), |t| t == "1").await;
    click(c, &format!("{busybox_row} button.remove")).await;
    wait_text(c, &format!("{busybox_row} .confirm-text.blocked"), |t| {
        t.contains("holder")
    })
    .await;
    assert!(
        c.find(Locator::Css(&format!("{busybox_row} button.confirm")))
            .await
            .is_err()
    );
    click(c, &format!("{busybox_row} button.cancel")).await;
    assert!(cli.run(&["rm", "holder"]).unwrap().success());
    wait_text(c, &format!("{busybox_row} td.users"), |t| t == "—").await;

    // Remove the app image from the Images page: asked once more, then its row goes, and
    // the Layers page no longer shows the busybox layer as shared.
    click(c, "#nav-images").await;
    click(c, &format!("{app_row} button.remove")).await;
    wait_text(c, &format!("{app_row} .confirm-text"), |t| {
        t.contains("other tag")
    })
    .await;
    click(c, &format!("{app_row} button.confirm")).await;
    wait_count(c, &app_row, 0).await;
    wait_count(c, &busybox_row, 1).await;
    assert!(c.find(Locator::Css("#images-error")).await.is_err());
    click(c, "#nav-layers").await;
    wait_text(c, "#layers-summary", |t| t.starts_with("1 layer,")).await;
    wait_count(c, "#layer-graph g.layer[data-shared='1']", 1).await;

    // At phone width every page fits the screen: wide tables and the tree scroll inside their
    // cards, never the page.
    c.set_window_size(390, 800).await.unwrap();
    for page in ["#nav-images", "#nav-layers", "#nav-events"] {
        click(c, page).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        let culprits = c
            .execute(
                "const w = document.documentElement.clientWidth; \
                 return [...document.querySelectorAll('body *')] \
                   .filter(e => e.getBoundingClientRect().right > w + 1 \
                     && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 1)) \
                   .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className).join(', ')",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow.as_i64(),
            Some(0),
            "{page} is wider than a phone's screen; sticking out: {culprits}"
        );
    }
    browser.screenshot("images-phone").await.unwrap();
    c.set_window_size(900, 500).await.unwrap();

    // A viewer sees the list but no pull form and no buttons.
    click(c, "#logout").await;
    let viewer = agent.create_token("viewer").unwrap();
    wait_for(c, "#token")
        .await
        .send_keys(&viewer)
        .await
        .unwrap();
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-images").await;
    wait_for(c, &busybox_row).await;
    assert!(c.find(Locator::Css("#pull-ref")).await.is_err());
    assert!(
        c.find_all(Locator::Css("#images button"))
            .await
            .unwrap()
            .is_empty()
    );
    browser.close().await.unwrap();
}
