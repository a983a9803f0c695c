//! The dashboard's WebSocket: hello, host facts on subscription, live events; refused
//! without a credential and from a foreign Origin.

use berth_tests::TestAgent;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(agent: &TestAgent) -> String {
    format!("ws://{}/berth/v1/ws", agent.addr())
}

async fn connect(agent: &TestAgent, headers: &[(&str, String)]) -> Result<Socket, WsError> {
    let mut request = ws_url(agent).into_client_request()?;
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The next JSON message of the given `type` (others are skipped).
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == kind {
                        return value;
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended while waiting for {kind}: {other:?}"),
            }
        }
    };
    // A guard against hanging forever, not a speed check.
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} message"))
}

async fn subscribe(socket: &mut Socket, topic: &str) {
    let message = json!({"type": "subscribe", "topic": topic}).to_string();
    socket.send(Message::Text(message.into())).await.unwrap();
    let ack = next_of(socket, "subscribed").await;
    assert_eq!(ack["topic"], topic);
}

#[tokio::test]
async fn host_facts_and_events_arrive_live() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().unwrap();
    let bearer = format!("Bearer {}", agent.admin_token());
    let origin = agent.base_url();
    let mut socket = connect(&agent, &[("authorization", bearer), ("origin", origin)])
        .await
        .expect("same-origin upgrade with a token");
    let hello = next_of(&mut socket, "hello").await;
    assert_eq!(hello["role"], "admin");

    subscribe(&mut socket, "host").await;
    let facts = next_of(&mut socket, "host").await;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(facts["facts"]["kernel"], kernel.trim());
    assert_eq!(
        facts["facts"]["data_root"],
        agent.root().display().to_string()
    );

    subscribe(&mut socket, "events").await;
    let made = agent
        .request(Method::POST, "/berth/v1/tokens")
        .json(&json!({"role": "viewer", "name": "seen-live"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), reqwest::StatusCode::CREATED);
    let event = next_of(&mut socket, "event").await;
    assert_eq!(event["event"]["Type"], "token");
    assert_eq!(event["event"]["Actor"]["Attributes"]["name"], "seen-live");

    socket
        .send(Message::Text(r#"{"type":"explode"}"#.into()))
        .await
        .unwrap();
    let error = next_of(&mut socket, "error").await;
    assert!(error["message"].as_str().unwrap().contains("bad message"));
}

#[tokio::test]
async fn upgrades_need_a_credential_and_the_agents_own_origin() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().unwrap();
    let status = |e: WsError| match e {
        WsError::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    let anonymous = connect(&agent, &[]).await.expect_err("no credential");
    assert_eq!(status(anonymous), 401);

    let bearer = format!("Bearer {}", agent.admin_token());
    let foreign = connect(
        &agent,
        &[
            ("authorization", bearer.clone()),
            ("origin", "http://evil.example".to_string()),
        ],
    )
    .await
    .expect_err("foreign origin");
    assert_eq!(status(foreign), 403);

    let other_port = connect(
        &agent,
        &[
            ("authorization", bearer),
            (
                "origin",
                format!("http://127.0.0.1:{}", agent.addr().port() + 1),
            ),
        ],
    )
    .await
    .expect_err("another origin on the same host");
    assert_eq!(status(other_port), 403);
}
