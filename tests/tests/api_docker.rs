//! The stock docker CLI (28.x) drives the agent: version negotiation, `version`, `info`,
//! `events`, over the unix socket and over TCP with a token; Docker's error bodies.

use berth_tests::{DockerCli, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn agent() -> TestAgent {
    berth_tests::require_root().expect("root");
    TestAgent::start().expect("start the agent")
}

#[tokio::test]
async fn docker_version_and_info_show_berth() {
    let agent = agent();
    let docker = DockerCli::for_agent(&agent).unwrap();
    let version = docker.run(&["version"]).unwrap().ok().unwrap();
    assert!(
        version.stdout.contains("Server: Berth"),
        "{}",
        version.stdout
    );
    assert!(
        version.stdout.contains("1.43 (minimum version 1.24)"),
        "{}",
        version.stdout
    );

    let info = docker.run(&["info"]).unwrap().ok().unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap()
        .trim()
        .to_string();
    for expected in [
        "Server Version: 0.1.0",
        "Storage Driver: overlay2",
        "Cgroup Driver: cgroupfs",
        &format!("Kernel Version: {kernel}"),
        &format!("Docker Root Dir: {}", agent.root().display()),
        "Containers: 0",
    ] {
        assert!(
            info.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            info.stdout
        );
    }
    assert!(!info.stdout.contains("ERROR"), "{}", info.stdout);

    let formatted = docker
        .run(&[
            "info",
            "--format",
            "{{.NCPU}} {{.MemTotal}} {{.CgroupVersion}}",
        ])
        .unwrap()
        .ok()
        .unwrap();
    let fields: Vec<&str> = formatted.stdout.split_whitespace().collect();
    assert_eq!(
        fields[0].parse::<usize>().unwrap(),
        std::thread::available_parallelism().unwrap().get()
    );
    assert!(fields[1].parse::<u64>().unwrap() > 0);
    let cgroup2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert_eq!(fields[2], if cgroup2 { "2" } else { "1" });
}

#[tokio::test]
async fn docker_over_tcp_needs_the_token() {
    let agent = agent();
    let with = DockerCli::for_agent_tcp(&agent, agent.admin_token()).unwrap();
    let out = with
        .run(&["version", "--format", "{{.Server.Version}}"])
        .unwrap();
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "0.1.0");

    let without = DockerCli::for_agent_tcp(&agent, "berth_not_a_token").unwrap();
    let out = without.run(&["info"]).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr.contains("invalid or revoked token"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn every_api_prefix_from_1_24_to_1_50_is_served() {
    let agent = agent();
    for version in ["1.24", "1.41", "1.43", "1.50"] {
        let r = agent
            .get(&format!("/v{version}/version"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{version}");
        assert_eq!(r.headers()["api-version"], "1.43");
    }
    for (version, word) in [("1.12", "too old"), ("1.51", "too new")] {
        let r = agent
            .get(&format!("/v{version}/version"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{version}");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains(word), "{body}");
    }
    let head = agent.request(Method::HEAD, "/_ping").send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["api-version"], "1.43");
    let missing = agent
        .get("/v1.43/containers/nope/frobnicate")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "page not found");
    // Over the socket no credential is needed.
    let unix = agent.unix_get("/v1.43/info").await.unwrap();
    assert_eq!(unix.status, 200);
    let info: Value = unix.json().unwrap();
    assert_eq!(info["DockerRootDir"], agent.root().display().to_string());
}

#[tokio::test]
async fn docker_events_replays_and_filters() {
    let agent = agent();
    let docker = DockerCli::for_agent(&agent).unwrap();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60;
    agent.create_named_token("viewer", "events-probe").unwrap();
    // Tokens made over the API publish events.
    let made = agent
        .request(Method::POST, "/berth/v1/tokens")
        .json(&serde_json::json!({"role": "viewer", "name": "via-api"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    // A second from now: the stream replays the past, then closes.
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let out = docker
        .run(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until,
            "--format",
            "{{.Type}} {{.Action}} {{index .Actor.Attributes \"name\"}}",
        ])
        .unwrap()
        .ok()
        .unwrap();
    assert!(out.stdout.contains("daemon start"), "{}", out.stdout);
    assert!(
        out.stdout.contains("token create via-api"),
        "{}",
        out.stdout
    );

    let filtered = docker
        .run(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until,
            "--filter",
            "type=token",
            "--format",
            "{{.Type}} {{.Action}}",
        ])
        .unwrap()
        .ok()
        .unwrap();
    assert!(
        filtered.stdout.lines().all(|l| l.starts_with("token ")),
        "{}",
        filtered.stdout
    );
    assert!(
        filtered.stdout.contains("token create"),
        "{}",
        filtered.stdout
    );

    let bad = agent
        .get("/events?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_events_stream_delivers_live_events() {
    use futures_util::StreamExt;
    let agent = agent();
    let response = agent
        .get("/events?filters=%7B%22type%22%3A%7B%22token%22%3Atrue%7D%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let mut body = response.bytes_stream();
    let made = agent
        .request(Method::POST, "/berth/v1/tokens")
        .json(&serde_json::json!({"role": "operator", "name": "live"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), body.next())
        .await
        .expect("an event line")
        .expect("stream open")
        .unwrap();
    let event: Value = serde_json::from_slice(chunk.strip_suffix(b"\n").unwrap()).unwrap();
    assert_eq!(event["Type"], "token");
    assert_eq!(event["Action"], "create");
    assert_eq!(event["Actor"]["Attributes"]["name"], "live");
    assert_eq!(event["Actor"]["Attributes"]["role"], "operator");
}
