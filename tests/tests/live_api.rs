//! The agent's side of the dashboard's container views, spoken to directly: the WebSocket
//! topics `logs`, `stats` and `usage`; the console WebSocket (a real shell through the exec
//! machinery, refused to viewers and to foreign origins); changes with sizes (the commit
//! preview, checked against the committed image's history); the host-port check.

use berth_tests::{DockerCli, TestAgent};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A guard against hanging forever, not a speed check.
const WAIT: Duration = Duration::from_secs(60);

async fn connect(
    agent: &TestAgent,
    path: &str,
    headers: &[(&str, String)],
) -> Result<Socket, WsError> {
    let mut request = format!("ws://{}{path}", agent.addr())
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// Headers of a same-origin browser holding `token`.
fn as_browser(agent: &TestAgent, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {token}")),
        ("origin", agent.base_url()),
    ]
}

fn refusal(e: WsError) -> u16 {
    match e {
        WsError::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// The next JSON message for which `pick` is true (others are skipped).
async fn next_where(socket: &mut Socket, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if pick(&value) {
                        return value;
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended while waiting for {what}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("no {what}"))
}

async fn send_json(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn logs_stats_and_usage_topics_follow_a_container() {
    let (agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    cli.stdout(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "echo first; echo second-on-stderr >&2; exec sleep 1000",
    ])
    .unwrap();
    // A viewer may watch (these are reads).
    let viewer = agent.create_token("viewer").unwrap();
    let mut socket = connect(&agent, "/berth/v1/ws", &as_browser(&agent, &viewer))
        .await
        .expect("viewer socket");

    send_json(
        &mut socket,
        json!({"type": "subscribe", "topic": {"logs": {"container": "talker"}}}),
    )
    .await;
    let backlog = next_where(&mut socket, "the log backlog", |v| {
        v["type"] == "logs" && v["lines"].as_array().is_some_and(|l| l.len() >= 2)
    })
    .await;
    assert_eq!(backlog["container"], "talker");
    let lines = backlog["lines"].as_array().unwrap();
    assert_eq!(lines[0]["text"], "first");
    assert!(lines[0].get("err").is_none(), "{lines:?}");
    assert_eq!(lines[1]["text"], "second-on-stderr");
    assert_eq!(lines[1]["err"], true);
    assert!(lines[1]["time"].as_str().unwrap().starts_with("20"));

    // A line written now arrives by itself.
    cli.stdout(&[
        "exec",
        "talker",
        "sh",
        "-c",
        "echo arrived-later > /proc/1/fd/1",
    ])
    .unwrap();
    let later = next_where(&mut socket, "the new log line", |v| v["type"] == "logs").await;
    assert_eq!(later["lines"][0]["text"], "arrived-later");

    // Stats: samples of the running container.
    send_json(
        &mut socket,
        json!({"type": "subscribe", "topic": {"stats": {"container": "talker"}}}),
    )
    .await;
    let sample = next_where(&mut socket, "a stats sample", |v| v["type"] == "stats").await;
    assert_eq!(sample["container"], "talker");
    assert!(
        sample["sample"]["memory_used"].as_u64().unwrap() > 0,
        "{sample}"
    );
    assert!(
        sample["sample"]["memory_limit"].as_u64().unwrap() > 0,
        "{sample}"
    );
    assert!(sample["sample"]["pids"].as_u64().unwrap() >= 1, "{sample}");
    assert!(sample["sample"]["cpu_percent"].as_f64().unwrap() >= 0.0);

    // Usage: every running container's CPU and memory.
    let id = cli.stdout(&["inspect", "-f", "{{.Id}}", "talker"]).unwrap();
    let short = &id.trim()[..12];
    send_json(&mut socket, json!({"type": "subscribe", "topic": "usage"})).await;
    let usage = next_where(&mut socket, "a usage round", |v| {
        v["type"] == "usage" && v["containers"].as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    let mine = usage["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == short)
        .unwrap_or_else(|| panic!("talker missing from {usage}"));
    assert!(mine["mem"].as_u64().unwrap() > 0, "{mine}");

    // A socket holds a bounded number of container topics (distinct ID prefixes count as
    // distinct topics): the one beyond the bound is refused, the socket stays open.
    let mut refused = None;
    for len in 12..=48 {
        let topic = json!({"logs": {"container": &id.trim()[..len]}});
        send_json(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
        let answer = next_where(&mut socket, "a subscription answer", |v| {
            v["type"] == "subscribed" && v["topic"] == topic || v["type"] == "error"
        })
        .await;
        if answer["type"] == "error" {
            refused = Some((len, answer));
            break;
        }
    }
    let (len, answer) = refused.expect("the socket took every subscription");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("too many subscriptions"),
        "{answer}"
    );
    // logs + stats + usage + 29 prefixes = 32.
    assert_eq!(len, 12 + 29, "{answer}");
    for len in 12..len {
        let topic = json!({"logs": {"container": &id.trim()[..len]}});
        send_json(&mut socket, json!({"type": "unsubscribe", "topic": topic})).await;
    }

    // Unknown containers are refused on the socket, which stays usable.
    send_json(
        &mut socket,
        json!({"type": "subscribe", "topic": {"logs": {"container": "nosuch"}}}),
    )
    .await;
    let error = next_where(&mut socket, "an error", |v| v["type"] == "error").await;
    assert!(
        error["message"].as_str().unwrap().contains("nosuch"),
        "{error}"
    );

    // Unsubscribed: no more stats for it.
    send_json(
        &mut socket,
        json!({"type": "unsubscribe", "topic": {"stats": {"container": "talker"}}}),
    )
    .await;
    next_where(&mut socket, "the unsubscribe ack", |v| {
        v["type"] == "unsubscribed"
    })
    .await;

    // Logs follow across a restart.
    cli.stdout(&["restart", "-t", "0", "talker"]).unwrap();
    let again = next_where(&mut socket, "the log after restart", |v| {
        v["type"] == "logs" && v["lines"][0]["text"] == "first"
    })
    .await;
    assert_eq!(again["container"], "talker");
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(200), socket.next()).await
        {
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_ne!(value["type"], "stats", "stats after unsubscribe: {value}");
        }
    }
    cli.stdout(&["rm", "-f", "talker"]).unwrap();
}

/// Reads console output until it contains `wanted`.
async fn read_until(socket: &mut Socket, wanted: &str) -> String {
    let mut seen = String::new();
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    seen.push_str(&String::from_utf8_lossy(&bytes));
                    if seen.contains(wanted) {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("console ended before {wanted:?} (saw {seen:?}): {other:?}"),
            }
        }
    };
    if tokio::time::timeout(WAIT, wait).await.is_err() {
        panic!("no {wanted:?} in console output {seen:?}");
    }
    seen
}

/// The number of `sh` processes `docker top` lists.
fn shells(cli: &DockerCli, name: &str) -> usize {
    cli.stdout(&["top", name])
        .unwrap()
        .lines()
        .filter(|l| l.ends_with("/bin/sh") || l.ends_with(" sh"))
        .count()
}

#[tokio::test]
async fn console_runs_a_shell_for_operators_only() {
    let (agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    cli.stdout(&["run", "-d", "--name", "box", "busybox", "sleep", "1000"])
        .unwrap();
    cli.stdout(&["create", "--name", "idle", "busybox", "true"])
        .unwrap();
    let path = "/berth/v1/containers/box/console?cols=100&rows=30";

    // Refused: no credential, a viewer, a foreign origin; an unknown or stopped container.
    let anonymous = connect(&agent, path, &[]).await.expect_err("anonymous");
    assert_eq!(refusal(anonymous), 401);
    let viewer = agent.create_token("viewer").unwrap();
    let as_viewer = connect(&agent, path, &as_browser(&agent, &viewer))
        .await
        .expect_err("viewer");
    assert_eq!(refusal(as_viewer), 403);
    let admin = agent.admin_token().to_string();
    let foreign = connect(
        &agent,
        path,
        &[
            ("authorization", format!("Bearer {admin}")),
            ("origin", "http://evil.example".to_string()),
        ],
    )
    .await
    .expect_err("foreign origin");
    assert_eq!(refusal(foreign), 403);
    let unknown = connect(
        &agent,
        "/berth/v1/containers/nosuch/console",
        &as_browser(&agent, &admin),
    )
    .await
    .expect_err("unknown container");
    assert_eq!(refusal(unknown), 404);
    let stopped = connect(
        &agent,
        "/berth/v1/containers/idle/console",
        &as_browser(&agent, &admin),
    )
    .await
    .expect_err("stopped container");
    assert_eq!(refusal(stopped), 409);
    let bad_size = connect(
        &agent,
        "/berth/v1/containers/box/console?cols=0",
        &as_browser(&agent, &admin),
    )
    .await
    .expect_err("bad size");
    assert_eq!(refusal(bad_size), 400);

    // An operator gets a shell with a terminal of the asked size.
    let operator = agent.create_token("operator").unwrap();
    let mut console = connect(&agent, path, &as_browser(&agent, &operator))
        .await
        .expect("operator console");
    console
        .send(Message::Binary(
            b"echo answer-$((6*7)); stty size; echo end-$((1+1))\r"
                .to_vec()
                .into(),
        ))
        .await
        .unwrap();
    let seen = read_until(&mut console, "end-2").await;
    assert!(seen.contains("answer-42"), "{seen:?}");
    assert!(seen.contains("30 100"), "stty size: {seen:?}");

    // Resize, then ask again.
    send_json(
        &mut console,
        json!({"type": "resize", "cols": 120, "rows": 40}),
    )
    .await;
    console
        .send(Message::Binary(b"stty size\r".to_vec().into()))
        .await
        .unwrap();
    read_until(&mut console, "40 120").await;

    // Junk control messages get an error, not a dead console.
    console
        .send(Message::Text(r#"{"type":"explode"}"#.into()))
        .await
        .unwrap();
    let error = next_where(&mut console, "a console error", |v| v["type"] == "error").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("bad console message")
    );

    // exit ends the shell: its code arrives, then the socket closes.
    console
        .send(Message::Binary(b"exit 3\r".to_vec().into()))
        .await
        .unwrap();
    let exit = next_where(&mut console, "the exit message", |v| v["type"] == "exit").await;
    assert_eq!(exit["code"], 3);
    assert_eq!(shells(&cli, "box"), 0);

    // Closing the page's socket hangs up a shell that still runs.
    let mut second = connect(&agent, path, &as_browser(&agent, &operator))
        .await
        .expect("second console");
    second
        .send(Message::Binary(b"echo ready\r".to_vec().into()))
        .await
        .unwrap();
    read_until(&mut second, "ready").await;
    assert_eq!(shells(&cli, "box"), 1);
    drop(second);
    let deadline = Instant::now() + WAIT;
    while shells(&cli, "box") > 0 {
        assert!(Instant::now() < deadline, "the hung-up shell survived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cli.stdout(&["rm", "-f", "box", "idle"]).unwrap();
}

#[tokio::test]
async fn changes_with_sizes_preview_the_committed_layer() {
    let (agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    cli.stdout(&[
            "run",
            "-d",
            "--name",
            "writer",
            "busybox",
            "sh",
            "-c",
            "head -c 1000 /dev/zero > /data.bin; echo hello > /etc/made; ln /data.bin /same.bin; rm /etc/passwd; touch /tmp/done; sleep 1000",
        ]).unwrap();
    let deadline = Instant::now() + WAIT;
    while !cli
        .stdout(&["diff", "writer"])
        .unwrap()
        .contains("/tmp/done")
    {
        assert!(Instant::now() < deadline, "writer never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let viewer = agent.create_token("viewer").unwrap();
    let answer = agent
        .request_as(&viewer, Method::GET, "/berth/v1/containers/writer/changes")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    let find = |path: &str| {
        body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == path)
            .unwrap_or_else(|| panic!("{path} missing from {body}"))
            .clone()
    };
    assert_eq!(find("/data.bin")["kind"], "A");
    assert_eq!(find("/data.bin")["size"], 1000);
    assert_eq!(find("/etc/made")["size"], 6);
    assert_eq!(find("/etc")["kind"], "C");
    assert_eq!(find("/etc/passwd")["kind"], "D");
    assert_eq!(find("/etc/passwd")["size"], 0);
    // The hard link is one file: 1000 + 6 (+ the empty /tmp/done).
    assert_eq!(body["layer_size"], 1006, "{body}");

    // The committed layer has the previewed size in the image's history.
    cli.stdout(&["commit", "writer", "preview:v1"]).unwrap();
    let history: Value = agent
        .get("/images/preview:v1/history")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history[0]["Size"], 1006, "{history}");

    let missing = agent
        .get("/berth/v1/containers/nosuch/changes")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    cli.stdout(&["rm", "-f", "writer"]).unwrap();
}

#[tokio::test]
async fn port_check_knows_berths_ports_and_the_hosts() {
    let (agent, cli) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    let published = berth_tests::ports::free_loopback_port().unwrap();
    cli.stdout(&[
        "run",
        "-d",
        "--name",
        "pub",
        "-p",
        &format!("{published}:80"),
        "busybox",
        "sleep",
        "1000",
    ])
    .unwrap();
    let check = |query: String| {
        let agent = &agent;
        async move {
            let answer = agent
                .get(&format!("/berth/v1/ports/check?{query}"))
                .send()
                .await
                .unwrap();
            (answer.status(), answer.json::<Value>().await.unwrap())
        }
    };
    // It binds the port for a moment: operators only (the Run dialog's check).
    let viewer = agent.create_token("viewer").unwrap();
    let refused = agent
        .request_as(
            &viewer,
            reqwest::Method::GET,
            &format!("/berth/v1/ports/check?port={published}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (status, ours) = check(format!("port={published}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ours["free"], false, "{ours}");
    assert!(ours["reason"].as_str().unwrap().contains("pub"), "{ours}");
    let suggested = ours["suggestion"].as_u64().unwrap();
    assert_ne!(suggested, u64::from(published));
    let (_, again) = check(format!("port={suggested}")).await;
    assert_eq!(again["free"], true, "{again}");
    assert_eq!(again["suggestion"], suggested);

    // A port some other program holds.
    let other = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let held = other.local_addr().unwrap().port();
    let (_, theirs) = check(format!("port={held}&protocol=tcp")).await;
    assert_eq!(theirs["free"], false, "{theirs}");
    assert!(
        theirs["reason"]
            .as_str()
            .unwrap()
            .contains("another program")
    );
    let (_, udp) = check(format!("port={held}&protocol=udp")).await;
    assert_eq!(udp["free"], true, "the UDP port is free: {udp}");

    for bad in [
        "port=0",
        "port=abc",
        "port=70000",
        "port=80&protocol=sctp",
        "port=80&ip=junk",
        "",
    ] {
        let (status, body) = check(bad.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    cli.stdout(&["rm", "-f", "pub"]).unwrap();
}
