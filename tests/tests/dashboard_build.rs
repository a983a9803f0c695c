//! The Build page in real headless Chromium: a Dockerfile typed in the page and a file
//! picked beside it become a tar made in the browser; the output streams in; the result
//! links to its image page; a failing build shows its error; a viewer gets no form.

use berth_tests::browser::{click, dashboard_built, wait_for, wait_text};
use berth_tests::{Browser, DockerCli, TestAgent};
use fantoccini::{Client, Locator};

async fn set_dockerfile(c: &Client, text: &str) {
    let area = wait_for(c, "#build-dockerfile").await;
    area.clear().await.unwrap();
    area.send_keys(text).await.unwrap();
}

#[tokio::test]
async fn the_build_page_builds_streams_and_links_the_image() {
    let (agent, docker): (TestAgent, DockerCli) =
        berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    if !dashboard_built(&agent, "dashboard_build").await {
        return;
    }
    let Some(browser) = Browser::start("the_build_page_builds_streams_and_links_the_image")
        .await
        .unwrap()
    else {
        return;
    };
    let c = browser.client();
    c.goto(agent.login_url().unwrap()).await.unwrap();
    wait_text(c, "#whoami-role", |t| t == "admin").await;
    click(c, "#nav-build").await;

    // A file from disk beside the typed Dockerfile.
    let upload = agent.temp_dir().join("greeting.txt");
    std::fs::write(&upload, "hello from the browser\n").unwrap();
    wait_for(c, "#build-files")
        .await
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap();
    wait_text(c, "#build-picked", |t| t.contains("1 file")).await;
    set_dockerfile(
        c,
        "FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN echo ran > /ran\nCMD [\"cat\", \"/greeting.txt\"]\n",
    )
    .await;
    wait_for(c, "#build-tags")
        .await
        .send_keys("fromweb:1, fromweb:latest")
        .await
        .unwrap();
    click(c, "#build-start").await;
    wait_for(c, "#build-log[data-state='done']").await;
    let output = wait_text(c, "#build-output", |t| t.contains("Successfully tagged")).await;
    assert!(
        output.contains("Step 2/4 : COPY greeting.txt /greeting.txt"),
        "{output}"
    );
    assert!(output.contains("Running in"), "{output}");
    assert!(
        output.contains("Successfully tagged fromweb:latest"),
        "{output}"
    );

    let ran = docker
        .run(&["run", "--rm", "fromweb:1"])
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(ran.stdout, "hello from the browser\n");

    // The result links to the image's page, which shows its history.
    click(c, "#build-image-link").await;
    wait_text(c, "#image-tags", |t| t.contains("fromweb:1")).await;

    // A failing build shows the command's error.
    click(c, "#nav-build").await;
    set_dockerfile(c, "FROM busybox\nRUN echo going down; exit 5\n").await;
    click(c, "#build-start").await;
    wait_for(c, "#build-log[data-state='failed']").await;
    let failure = wait_text(c, "#build-failure", |t| !t.is_empty()).await;
    assert!(failure.contains("returned a non-zero code: 5"), "{failure}");
    let output = wait_text(c, "#build-output", |t| t.contains("going down")).await;
    assert!(!output.contains("Successfully built"), "{output}");

    // A viewer sees no form.
    click(c, "#logout").await;
    let viewer = agent.create_token("viewer").unwrap();
    wait_for(c, "#token")
        .await
        .send_keys(&viewer)
        .await
        .unwrap();
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-build").await;
    wait_for(c, "#build-viewer").await;
    assert!(c.find(Locator::Css("#build-start")).await.is_err());
    browser.close().await.unwrap();
}
