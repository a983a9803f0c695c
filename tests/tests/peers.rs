//! Several hosts: agent A knows B and C. Through A: B's containers listed, one run and
//! stopped on B, B's events on A's WebSocket tagged with host `b`; roles still apply through
//! the proxy; a stopped peer is marked unreachable and comes back by itself; peers persist
//! across restarts; bad input to the host list is refused clearly.
//!
//! Every agent is a real `berth serve` on its own root, socket and loopback port.

use berth_tests::TestAgent;
use berth_tests::peers::{
    add_peer, add_peer_with_token, host, hosts, post_host, via, wait_for_state,
};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A's dashboard socket, subscribed to every host's events.
async fn events_socket(agent: &TestAgent) -> Socket {
    let mut request = format!("ws://{}/berth/v1/ws", agent.addr())
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer {}", agent.admin_token()).parse().unwrap(),
    );
    headers.insert("origin", agent.base_url().parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let subscribe = json!({"type": "subscribe", "topic": "events"}).to_string();
    socket.send(Message::Text(subscribe.into())).await.unwrap();
    socket
}

/// The next event on the socket for which `wanted` holds.
async fn next_event(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "event" && wanted(&message["event"]) {
                        return message["event"].clone();
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended while waiting for {what}: {other:?}"),
            }
        }
    };
    // A hang guard, not a speed check.
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no event: {what}"))
}

fn is(event: &Value, host: &str, kind: &str, action: &str, name: &str) -> bool {
    event["Host"] == host
        && event["Type"] == kind
        && event["Action"] == action
        && event["Actor"]["Attributes"]["name"] == name
}

async fn call(
    agent: &TestAgent,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = agent.request_as(token, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_runs_and_stops_a_container_on_b_and_sees_its_events() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let (b, docker_b) = berth_tests::agent_with_busybox(&[]).unwrap();
    let c = TestAgent::start().unwrap();
    add_peer(&a, "b", &b).await.unwrap();
    add_peer(&a, "c", &c).await.unwrap();

    let list = hosts(&a).await.unwrap();
    let names: Vec<&str> = list.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert!(
        list[0]["local"] == true,
        "the local host comes first: {list:?}"
    );
    assert_eq!(&names[1..], ["b", "c"]);
    for peer in &list[1..] {
        assert_eq!(peer["state"], "up", "{peer}");
        assert_eq!(peer["facts"]["agent_version"], "0.1.0");
    }
    assert_eq!(list[1]["facts"]["images"], 1, "B has busybox");

    let mut socket = events_socket(&a).await;
    let admin = a.admin_token().to_string();
    let (status, body) = call(
        &a,
        &admin,
        Method::POST,
        &via("b", "/v1.43/containers/create?name=web"),
        Some(json!({"Image": "busybox", "Cmd": ["sleep", "300"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(
        &a,
        &admin,
        Method::POST,
        &via("b", "/v1.43/containers/web/start"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let started = next_event(&mut socket, "container start on b", |e| {
        is(e, "b", "container", "start", "web")
    })
    .await;
    assert_eq!(started["Host"], "b");

    let (status, body) = call(
        &a,
        &admin,
        Method::GET,
        &via("b", "/v1.43/containers/json"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let running: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(running.len(), 1, "{body}");
    assert_eq!(running[0]["Names"][0], "/web");
    let on_b = docker_b
        .stdout(&["ps", "--format", "{{.Names}} {{.State}}"])
        .unwrap();
    assert_eq!(on_b.trim(), "web running", "the container runs on B itself");
    let (_, on_a) = call(
        &a,
        &admin,
        Method::GET,
        "/v1.43/containers/json?all=1",
        None,
    )
    .await;
    assert_eq!(on_a.trim(), "[]", "and not on A");

    // A viewer on A may look at B through A, but not act there.
    let viewer = a.create_token("viewer").unwrap();
    let (status, _) = call(
        &a,
        &viewer,
        Method::GET,
        &via("b", "/containers/json"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &a,
        &viewer,
        Method::POST,
        &via("b", "/v1.43/containers/web/stop"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(
        &a,
        &viewer,
        Method::POST,
        &via("b", "/containers/web/start"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = call(
        &a,
        &viewer,
        Method::GET,
        &via("b", "/containers/web/export"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer cannot read a container's files on B either"
    );
    let (status, _) = call(
        &a,
        &viewer,
        Method::GET,
        &via("b", "/berth/v1/tokens"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor B's tokens");
    assert_eq!(
        docker_b.stdout(&["ps", "-q"]).unwrap().lines().count(),
        1,
        "still running"
    );

    let (status, body) = call(
        &a,
        &admin,
        Method::POST,
        &via("b", "/v1.43/containers/web/stop?t=0"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    next_event(&mut socket, "container die on b", |e| {
        is(e, "b", "container", "die", "web")
    })
    .await;
    let state = docker_b
        .stdout(&["inspect", "-f", "{{.State.Status}}", "web"])
        .unwrap();
    assert_eq!(state.trim(), "exited");

    // Docker's own event stream on A stays A's.
    // `until` to the nanosecond: whole seconds would cut off A's start when the test
    // runs within the second it began in.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let now = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    let (_, events) = call(
        &a,
        &admin,
        Method::GET,
        &format!("/events?since=0&until={now}"),
        None,
    )
    .await;
    assert!(!events.contains("\"Host\":\"b\""), "{events}");
    assert!(
        events.contains("\"Action\":\"start\""),
        "A's own daemon start is there: {events}"
    );
}

#[tokio::test]
async fn a_stopped_peer_is_unreachable_then_comes_back_by_itself() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let mut b = TestAgent::start().unwrap();
    add_peer(&a, "b", &b).await.unwrap();
    wait_for_state(&a, "b", "up").await.unwrap();

    b.stop().unwrap();
    let (entry, took) = wait_for_state(&a, "b", "unreachable").await.unwrap();
    println!("B marked unreachable {took:?} after it stopped");
    assert!(
        entry["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{entry}"
    );
    let (status, body) = call(&a, a.admin_token(), Method::GET, &via("b", "/_ping"), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("message"), "{body}");

    b.restart().unwrap();
    let (entry, took) = wait_for_state(&a, "b", "up").await.unwrap();
    println!("B back up {took:?} after it restarted");
    assert!(entry.get("error").is_none(), "{entry}");
    let (status, body) = call(&a, a.admin_token(), Method::GET, &via("b", "/_ping"), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"));
}

#[tokio::test]
async fn peers_persist_and_the_cli_manages_them_beside_the_agent() {
    berth_tests::require_root().expect("root");
    let mut a = TestAgent::start().unwrap();
    let b = TestAgent::start().unwrap();
    let token_file = a.temp_dir().join("b.token");
    std::fs::write(&token_file, b.admin_token()).unwrap();
    let out = a
        .cli(&[
            "hosts",
            "add",
            "b",
            &b.base_url(),
            "--token-file",
            token_file.to_str().unwrap(),
        ])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added b"),
        "{out:?}"
    );
    let peers = std::fs::metadata(a.root().join("auth/peers.json")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(peers.permissions().mode() & 0o777, 0o600);
    let raw = std::fs::read_to_string(a.root().join("auth/peers.json")).unwrap();
    assert!(
        raw.contains(b.admin_token()),
        "the token is kept, readable by root only"
    );

    // The running agent notices the CLI's change by itself.
    wait_for_state(&a, "b", "up").await.unwrap();
    let out = a.cli(&["hosts", "ls"]).unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("b ") && l.contains(" up ")),
        "{listing}"
    );

    a.restart().unwrap();
    let (entry, _) = wait_for_state(&a, "b", "up").await.unwrap();
    assert_eq!(entry["url"], b.base_url());

    let out = a.cli(&["hosts", "rm", "b"]).unwrap();
    assert!(out.status.success(), "{out:?}");
    let gone = async {
        loop {
            if hosts(&a).await.unwrap().len() == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), gone)
        .await
        .expect("b removed");
    let (status, _) = call(&a, a.admin_token(), Method::GET, &via("b", "/_ping"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let out = a.cli(&["hosts", "rm", "b"]).unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no host named \"b\""),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_host_list_refuses_bad_input_and_non_admins() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let b = TestAgent::start().unwrap();
    let url = b.base_url();
    let token = b.admin_token();
    let cases = [
        (
            json!({"name": "B!", "url": url, "token": token}),
            StatusCode::BAD_REQUEST,
            "invalid host name",
        ),
        (
            json!({"name": "b", "url": "http://192.0.2.1:7070", "token": token}),
            StatusCode::BAD_REQUEST,
            "plain http",
        ),
        (
            json!({"name": "b", "url": format!("{url}/x?y"), "token": token}),
            StatusCode::BAD_REQUEST,
            "only scheme, host and port",
        ),
        (
            json!({"name": "b", "url": "file:///etc/passwd", "token": token}),
            StatusCode::BAD_REQUEST,
            "https://",
        ),
        (
            json!({"name": "b", "url": url, "token": ""}),
            StatusCode::BAD_REQUEST,
            "token",
        ),
        (
            json!({"name": "b", "url": url, "token": "x\r\nEvil: 1"}),
            StatusCode::BAD_REQUEST,
            "printable",
        ),
        (
            json!({"name": "b", "url": url, "token": "berth_wrong"}),
            StatusCode::BAD_REQUEST,
            "refused the token",
        ),
        (
            json!({"name": "b", "url": url, "token": token, "fingerprint": "AB:CD"}),
            StatusCode::BAD_REQUEST,
            "32",
        ),
        (
            json!({"name": "b", "url": "http://127.0.0.1:1", "token": token}),
            StatusCode::BAD_GATEWAY,
            "b:",
        ),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = post_host(&a, body.clone()).await.unwrap();
        assert_eq!(got, status, "{body} → {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body} → {message}");
    }
    let (status, _) = post_host(&a, json!({"url": url})).await.unwrap();
    assert!(status.is_client_error(), "a body without fields: {status}");
    assert_eq!(hosts(&a).await.unwrap().len(), 1, "nothing was added");

    add_peer(&a, "b", &b).await.unwrap();
    let (status, answer) = post_host(&a, json!({"name": "b", "url": url, "token": token}))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let local = hosts(&a).await.unwrap()[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, answer) = post_host(&a, json!({"name": local, "url": url, "token": token}))
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the local host's own name: {answer}"
    );

    for role in ["viewer", "operator"] {
        let token = a.create_token(role).unwrap();
        let (status, _) = call(
            &a,
            &token,
            Method::POST,
            "/berth/v1/hosts",
            Some(json!({"name": "c", "url": url, "token": b.admin_token()})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} adds");
        let (status, _) = call(&a, &token, Method::DELETE, "/berth/v1/hosts/b", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} removes");
        let (status, body) = call(&a, &token, Method::GET, "/berth/v1/hosts", None).await;
        assert_eq!(status, StatusCode::OK, "{role} lists");
        assert!(
            !body.contains(b.admin_token()),
            "the list never shows a peer's token"
        );
    }
    let (status, _) = call(
        &a,
        a.admin_token(),
        Method::DELETE,
        "/berth/v1/hosts/nope",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &a,
        a.admin_token(),
        Method::DELETE,
        "/berth/v1/hosts/b",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(host(&a, "b").await.is_err());

    // A peer added with a viewer token of its own: B's role there limits A's admin too.
    let b_viewer = b.create_token("viewer").unwrap();
    add_peer_with_token(&a, "b", &b, &b_viewer).await.unwrap();
    let (status, body) = call(
        &a,
        a.admin_token(),
        Method::POST,
        &via("b", "/containers/create"),
        Some(json!({"Image": "busybox"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("viewer"),
        "B's own refusal comes back: {body}"
    );
}

/// A peer that stops answering without closing anything (its process frozen with SIGSTOP,
/// as a host that hangs or drops off the network) is noticed by the health probes.
#[tokio::test]
async fn a_frozen_peer_is_unreachable_then_comes_back_when_it_thaws() {
    use rustix::process::{Pid, Signal, kill_process};
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let b = TestAgent::start().unwrap();
    add_peer(&a, "b", &b).await.unwrap();
    wait_for_state(&a, "b", "up").await.unwrap();
    let pid = Pid::from_raw(b.pid().unwrap() as i32).unwrap();

    kill_process(pid, Signal::STOP).unwrap();
    let frozen = wait_for_state(&a, "b", "unreachable").await;
    kill_process(pid, Signal::CONT).unwrap();
    let (entry, took) = frozen.unwrap();
    println!(
        "frozen B marked unreachable after {took:?}: {}",
        entry["error"]
    );
    assert!(
        entry["error"].as_str().unwrap().contains("no answer"),
        "{entry}"
    );

    let (_, took) = wait_for_state(&a, "b", "up").await.unwrap();
    println!("thawed B back up after {took:?}");
}
