//! Helpers for tests with several agents: adding one agent to another as a peer, reading
//! the host list, and waiting for a peer's state.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestAgent;

/// How long a peer may take to reach a state before a test gives up (a hang guard; the
/// times taken are printed, never asserted).
pub const STATE_GUARD: Duration = Duration::from_secs(60);

/// `POST /berth/v1/hosts` on `agent` as its admin; the status and the JSON answer.
pub async fn post_host(agent: &TestAgent, body: Value) -> Result<(StatusCode, Value)> {
    let response = agent
        .request(Method::POST, "/berth/v1/hosts")
        .json(&body)
        .send()
        .await
        .context("POST /berth/v1/hosts")?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}

/// Adds `peer` to `agent` as `name` over plain http (loopback), with `token` of the peer.
pub async fn add_peer_with_token(
    agent: &TestAgent,
    name: &str,
    peer: &TestAgent,
    token: &str,
) -> Result<Value> {
    let body = json!({ "name": name, "url": peer.base_url(), "token": token });
    let (status, answer) = post_host(agent, body).await?;
    if status != StatusCode::CREATED {
        bail!("adding peer {name}: {status} {answer}");
    }
    Ok(answer)
}

/// Adds `peer` to `agent` as `name` with the peer's admin token.
pub async fn add_peer(agent: &TestAgent, name: &str, peer: &TestAgent) -> Result<Value> {
    add_peer_with_token(agent, name, peer, peer.admin_token()).await
}

/// `GET /berth/v1/hosts`.
pub async fn hosts(agent: &TestAgent) -> Result<Vec<Value>> {
    let response = agent
        .get("/berth/v1/hosts")
        .send()
        .await
        .context("GET /berth/v1/hosts")?;
    if !response.status().is_success() {
        bail!("GET /berth/v1/hosts: {}", response.status());
    }
    response.json().await.context("host list JSON")
}

/// The entry of host `name` in `agent`'s list.
pub async fn host(agent: &TestAgent, name: &str) -> Result<Value> {
    hosts(agent)
        .await?
        .into_iter()
        .find(|h| h["name"] == name)
        .with_context(|| format!("no host {name} in the list"))
}

/// Polls until `agent` lists `name` in `state`; the entry and how long it took.
pub async fn wait_for_state(
    agent: &TestAgent,
    name: &str,
    state: &str,
) -> Result<(Value, Duration)> {
    let start = Instant::now();
    loop {
        let entry = host(agent, name).await?;
        if entry["state"] == state {
            return Ok((entry, start.elapsed()));
        }
        if start.elapsed() > STATE_GUARD {
            bail!("host {name} did not become {state} within {STATE_GUARD:?}: {entry}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/berth/v1/hosts/{name}/docker{path}`: a Docker API path of peer `name` through an agent.
pub fn via(name: &str, path: &str) -> String {
    format!("/berth/v1/hosts/{name}/docker{path}")
}
