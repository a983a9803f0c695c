//! The proxy carries every kind of Docker API exchange to a peer: hijacked `exec` and
//! `attach` (`Upgrade: tcp`, stdin in, multiplexed output back), a `logs -f` stream while it
//! runs, and WebSockets (B's own dashboard socket, reached through A).
//!
//! The docker CLI cannot be pointed at a path prefix (`-H tcp://…` takes a host only), so
//! these tests speak raw HTTP/1.1 through hyper and WebSocket through tungstenite to A.

use berth_tests::peers::{add_peer, via};
use berth_tests::{DockerCli, TestAgent};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A hang guard for each exchange, not a speed check.
const GUARD: Duration = Duration::from_secs(60);

struct Setup {
    a: TestAgent,
    b: TestAgent,
    docker_b: DockerCli,
}

async fn setup() -> Setup {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let (b, docker_b) = berth_tests::agent_with_busybox(&[]).unwrap();
    add_peer(&a, "b", &b).await.unwrap();
    Setup { a, b, docker_b }
}

/// Sends `request` to A on a fresh connection that allows an upgrade.
async fn send_raw(
    a: &TestAgent,
    mut request: Request<Full<Bytes>>,
) -> hyper::Response<hyper::body::Incoming> {
    let tcp = tokio::net::TcpStream::connect(a.addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    let headers = request.headers_mut();
    headers.insert("host", a.addr().to_string().parse().unwrap());
    headers.insert(
        "authorization",
        format!("Bearer {}", a.admin_token()).parse().unwrap(),
    );
    sender.send_request(request).await.unwrap()
}

async fn json_call(a: &TestAgent, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = send_raw(a, request).await;
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Docker's multiplexed stream → (stdout, stderr).
fn demux(mut data: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while data.len() >= 8 {
        let size = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let frame = &data[8..(8 + size).min(data.len())];
        match data[0] {
            1 => out.extend_from_slice(frame),
            2 => err.extend_from_slice(frame),
            _ => {}
        }
        data = &data[(8 + size).min(data.len())..];
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// POSTs `path` with `Upgrade: tcp` through A and returns the upgraded stream.
async fn hijack(a: &TestAgent, path: &str, body: Value) -> TokioIo<hyper::upgrade::Upgraded> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("connection", "Upgrade")
        .header("upgrade", "tcp")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = send_raw(a, request).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["upgrade"], "tcp");
    TokioIo::new(hyper::upgrade::on(response).await.unwrap())
}

#[tokio::test]
async fn exec_and_attach_hijack_through_the_proxy() {
    let s = setup().await;
    s.docker_b
        .run(&[
            "run",
            "-d",
            "-i",
            "--name",
            "box",
            "busybox",
            "sh",
            "-c",
            "while read l; do echo \"out:$l\"; done",
        ])
        .unwrap()
        .ok()
        .unwrap();

    let (status, created) = json_call(
        &s.a,
        Method::POST,
        &via("b", "/v1.43/containers/box/exec"),
        json!({"AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
               "Cmd": ["sh", "-c", "read x; echo got:$x; echo oops >&2; exit 3"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    let mut stream = hijack(
        &s.a,
        &via("b", &format!("/v1.43/exec/{id}/start")),
        json!({"Detach": false, "Tty": false}),
    )
    .await;
    stream.write_all(b"hello\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut output = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut output))
        .await
        .unwrap()
        .unwrap();
    let (out, err) = demux(&output);
    assert_eq!(out, "got:hello\n");
    assert_eq!(err, "oops\n");
    let (_, inspect) = json_call(
        &s.a,
        Method::GET,
        &via("b", &format!("/v1.43/exec/{id}/json")),
        json!({}),
    )
    .await;
    assert_eq!(inspect["ExitCode"], 3, "{inspect}");

    // attach: stdin in, the container's answer back, through A.
    let mut stream = hijack(
        &s.a,
        &via(
            "b",
            "/v1.43/containers/box/attach?stream=1&stdin=1&stdout=1&stderr=1",
        ),
        json!({}),
    )
    .await;
    stream.write_all(b"ping\n").await.unwrap();
    let mut seen = Vec::new();
    let wait = async {
        let mut buffer = [0u8; 1024];
        while !demux(&seen).0.contains("out:ping\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "attach closed early: {seen:?}");
            seen.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(GUARD, wait)
        .await
        .expect("the attached container answers");
}

#[tokio::test]
async fn a_follow_stream_arrives_while_it_runs() {
    let s = setup().await;
    s.docker_b
        .run(&[
            "run",
            "-d",
            "--name",
            "counter",
            "busybox",
            "sh",
            "-c",
            "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done",
        ])
        .unwrap()
        .ok()
        .unwrap();
    let response =
        s.a.get(&via(
            "b",
            "/v1.43/containers/counter/logs?follow=1&stdout=1",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut seen = Vec::new();
    let wait = async {
        while !demux(&seen).0.contains("line3\n") {
            let chunk = body.next().await.expect("the stream stays open").unwrap();
            seen.extend_from_slice(&chunk);
        }
    };
    tokio::time::timeout(GUARD, wait)
        .await
        .expect("log lines arrive while the container runs");
    // The container still runs: the lines came as a stream, not at the end.
    let state = s
        .docker_b
        .stdout(&["inspect", "-f", "{{.State.Running}}", "counter"])
        .unwrap();
    assert_eq!(state.trim(), "true");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message of type `kind` (others are skipped).
async fn read_kind(socket: &mut Socket, kind: &str) -> Value {
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
    tokio::time::timeout(GUARD, wait).await.expect(kind)
}

#[tokio::test]
async fn websockets_through_the_proxy() {
    let s = setup().await;
    let url = format!("ws://{}{}", s.a.addr(), via("b", "/berth/v1/ws"));
    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", s.a.admin_token()).parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", s.a.base_url().parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade through A");
    let hello = read_kind(&mut socket, "hello").await;
    let b_host: Value =
        s.b.get("/berth/v1/whoami")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(hello["host"], b_host["host"], "B answers itself");
    assert_eq!(hello["role"], "admin", "with the role of A's token for B");
    socket
        .send(Message::Text(
            json!({"type": "subscribe", "topic": "events"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    read_kind(&mut socket, "subscribed").await;
    s.docker_b
        .run(&["create", "--name", "made", "busybox"])
        .unwrap()
        .ok()
        .unwrap();
    let event = read_kind(&mut socket, "event").await;
    assert_eq!(event["event"]["Action"], "create");

    // A browser session on A may not open it from a foreign page.
    let login =
        s.a.http()
            .post(s.a.url("/berth/v1/login"))
            .json(&json!({"token": s.a.admin_token()}))
            .send()
            .await
            .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut foreign = url.as_str().into_client_request().unwrap();
    foreign
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    foreign
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(foreign).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a foreign-origin upgrade with a session must be refused: {other:?}"),
    }
}
