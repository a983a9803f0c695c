//! The Ports & networks page in real headless Chromium, against real containers: a port
//! published on a user-defined network shows its host address and container, the network's
//! card lists the container with its address, a network is created through the form (and
//! the CLI sees it), a clashing name shows the agent's error inline, the new network is
//! removed through its button while a network in use is refused in its card, removing the
//! container empties the ports table without a reload, and a viewer sees no form and no
//! buttons.

use berth_tests::browser::{
    click, dashboard_built, log_in_as_admin, wait_count, wait_for, wait_text,
};
use berth_tests::{Browser, DockerCli};
use fantoccini::Locator;

/// Network names in `docker network ls`.
fn network_names(cli: &DockerCli) -> Vec<String> {
    cli.stdout(&["network", "ls", "--format", "{{.Name}}"])
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn network_page_shows_ports_and_networks_and_manages_networks_live() {
    let (agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    if !dashboard_built(&agent, "dashboard_network").await {
        return;
    }
    let port = berth_tests::ports::free_loopback_port().expect("a free port");
    cli.stdout(&["network", "create", "testnet"]).unwrap();
    // A stopped container asks for the port first; web then takes it: a conflict.
    cli.stdout(&[
        "create",
        "--name",
        "api",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "true",
    ])
    .unwrap();
    cli.stdout(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "--network",
        "testnet",
        "busybox",
        "sleep",
        "1000",
    ])
    .unwrap();

    let Some(browser) =
        Browser::start("network_page_shows_ports_and_networks_and_manages_networks_live")
            .await
            .unwrap()
    else {
        return;
    };
    let c = browser.client();
    log_in_as_admin(c, agent.login_url().unwrap()).await;

    // The published port: host address → web:80, its address and network.
    click(c, "#nav-network").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("#/network")
    );
    let row = format!("#ports tr[data-port='{port}']");
    wait_text(c, &format!("{row} td.host"), |t| {
        t == format!("127.0.0.1:{port}/tcp")
    })
    .await;
    let text = wait_text(c, &row, |t| t.contains("web")).await;
    assert!(text.contains("web:80"), "{text}");
    assert!(text.contains("testnet"), "{text}");
    let served = format!("{row}[data-served='true']");
    let ip = wait_text(c, &format!("{served} td.ip"), |t| t.contains('.')).await;
    // api asks for the same port: its row says so, both rows are marked, and the warning
    // above the table names who holds the port and who cannot start.
    let asked = format!("{row}[data-served='false']");
    wait_text(c, &format!("{asked} td.port-state"), |t| {
        t == "asked for (created)"
    })
    .await;
    wait_count(c, &format!("{row}.clash"), 2).await;
    wait_text(
        c,
        &format!("#port-conflicts .conflict[data-port='{port}']"),
        |t| {
            t.contains(&format!(
                "web holds {port}/tcp; api cannot start while it does"
            ))
        },
    )
    .await;
    let usage: serde_json::Value = agent
        .request(reqwest::Method::GET, "/berth/v1/ports")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        usage["conflicts"][0]["containers"],
        serde_json::json!(["web", "api"])
    );
    // Starting api fails as the warning said it would; removing it ends the conflict.
    let start = cli.run(&["start", "api"]).expect("docker ran");
    assert!(!start.success(), "api started on a held port");
    assert!(
        start.stderr.contains("already allocated"),
        "{}",
        start.stderr
    );
    cli.stdout(&["rm", "api"]).unwrap();
    wait_count(c, "#port-conflicts", 0).await;
    wait_count(c, &format!("{row}.clash"), 0).await;
    let link = wait_for(c, &format!("{served} a.name")).await;
    assert!(
        link.attr("href")
            .await
            .unwrap()
            .unwrap()
            .starts_with("#/container/")
    );

    // testnet's card lists web with the same address; the default bridge has no Remove.
    let testnet = ".network[data-name='testnet']";
    wait_text(c, &format!("{testnet} .members li[data-name='web']"), |t| {
        t == format!("web → {ip}")
    })
    .await;
    let facts = wait_text(c, &format!("{testnet} .network-facts"), |t| {
        t.contains("subnet ")
    })
    .await;
    assert!(facts.starts_with("bridge"), "{facts}");
    assert!(facts.contains("gateway "), "{facts}");
    assert!(facts.contains("interface br-"), "{facts}");
    wait_for(c, &format!("{testnet} button.network-remove")).await;
    wait_for(c, ".network[data-name='bridge']").await;
    wait_count(c, ".network[data-name='bridge'] button.network-remove", 0).await;
    wait_count(c, ".network[data-name='host'] button.network-remove", 0).await;
    browser.screenshot("network").await.unwrap();

    // Create through the form: the card appears and the CLI sees the network.
    wait_for(c, "#network-name")
        .await
        .send_keys("fromui")
        .await
        .unwrap();
    click(c, "#network-create-submit").await;
    let fromui = ".network[data-name='fromui']";
    wait_text(c, &format!("{fromui} .members"), |t| {
        t.contains("No containers")
    })
    .await;
    assert!(network_names(&cli).contains(&"fromui".to_string()));
    assert!(c.find(Locator::Css("#network-create-error")).await.is_err());

    // A name in use: the agent's message shows inline.
    let name = wait_for(c, "#network-name").await;
    name.clear().await.unwrap();
    name.send_keys("testnet").await.unwrap();
    click(c, "#network-create-submit").await;
    wait_text(c, "#network-create-error", |t| t.contains("already exists")).await;

    // Remove through its button.
    click(c, &format!("{fromui} button.network-remove")).await;
    wait_count(c, fromui, 0).await;
    assert!(!network_names(&cli).contains(&"fromui".to_string()));

    // testnet still has web on it: the agent refuses, and says why in testnet's card.
    click(c, &format!("{testnet} button.network-remove")).await;
    wait_text(c, &format!("{testnet} .remove-error"), |t| {
        t.contains("active endpoints")
    })
    .await;
    assert!(network_names(&cli).contains(&"testnet".to_string()));

    // The container goes: the ports table empties through the live events, no reload.
    cli.stdout(&["rm", "-f", "web"]).unwrap();
    wait_for(c, "#ports-empty").await;
    wait_count(c, "#ports tr", 0).await;
    wait_count(c, &format!("{testnet} .members li[data-name]"), 0).await;
    wait_text(c, "#ports-empty", |t| t.contains("docker run -p 8080:80")).await;

    // A viewer sees the page but no form and no buttons.
    click(c, "#logout").await;
    let viewer = agent.create_token("viewer").unwrap();
    wait_for(c, "#token")
        .await
        .send_keys(&viewer)
        .await
        .unwrap();
    click(c, "#login").await;
    wait_text(c, "#whoami-role", |t| t == "viewer").await;
    click(c, "#nav-network").await;
    wait_for(c, testnet).await;
    wait_for(c, "#ports-empty").await;
    assert!(c.find(Locator::Css("#network-create")).await.is_err());
    assert!(
        c.find_all(Locator::Css(".network button"))
            .await
            .unwrap()
            .is_empty()
    );
    browser.close().await.unwrap();
    cli.stdout(&["network", "rm", "testnet"]).unwrap();
}
