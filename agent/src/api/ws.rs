//! The dashboard's WebSocket, `/berth/v1/ws`: one socket per browser. The client
//! subscribes to topics; the server pushes typed `shared::ws::ServerMessage`s. Upgrades
//! from a foreign `Origin` are refused (cross-site WebSocket hijacking).

use super::error::ApiError;
use super::origin::{self, OriginCheck};
use super::state::AppState;
use crate::auth::Caller;
use crate::engine::Engine;
use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use shared::ws::{ClientMessage, ServerMessage, Topic};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often host facts are pushed to subscribers.
const HOST_FACTS_EVERY: Duration = Duration::from_secs(2);
/// Clients only send small subscription messages.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let OriginCheck::Foreign(origin) = origin::check(&headers) {
        return ApiError::forbidden(format!(
            "WebSocket upgrade from foreign origin {origin} refused"
        ))
        .into_response();
    }
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            if let Err(e) = serve(socket, state, caller).await {
                tracing::debug!("websocket closed: {e}");
            }
        })
}

/// Every host as `GET /berth/v1/hosts` lists them (this one alone if the peers file
/// cannot be read).
fn hosts(engine: &Engine) -> ServerMessage {
    let hosts = super::berth::hosts::host_list(engine).unwrap_or_else(|e| {
        tracing::warn!("listing hosts: {e}");
        Vec::new()
    });
    ServerMessage::Hosts { hosts }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

async fn serve(mut socket: WebSocket, state: AppState, caller: Caller) -> Result<(), axum::Error> {
    let engine = state.engine;
    let mut events = engine.events.listen();
    let mut topics: HashSet<Topic> = HashSet::new();
    let mut ticker = tokio::time::interval(HOST_FACTS_EVERY);
    send(
        &mut socket,
        &ServerMessage::Hello {
            host: engine.host.name.clone(),
            role: caller.role,
        },
    )
    .await?;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e),
                };
                let reply = match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { topic }) => {
                        let first = topic.clone();
                        topics.insert(topic.clone());
                        send(&mut socket, &ServerMessage::Subscribed { topic }).await?;
                        match first {
                            Topic::Host => send(&mut socket, &ServerMessage::Host { facts: engine.host_facts() }).await?,
                            Topic::Hosts => send(&mut socket, &hosts(&engine)).await?,
                            Topic::Events => {}
                        }
                        continue;
                    }
                    Ok(ClientMessage::Unsubscribe { topic }) => {
                        topics.remove(&topic);
                        ServerMessage::Unsubscribed { topic }
                    }
                    Err(e) => ServerMessage::Error { message: format!("bad message: {e}") },
                };
                send(&mut socket, &reply).await?;
            }
            event = events.recv() => match event {
                Ok(event) => {
                    let about_hosts = event.kind == "host";
                    let local = event.host.as_deref() == Some(engine.host.name.as_str());
                    if topics.contains(&Topic::Events) {
                        send(&mut socket, &ServerMessage::Event { event }).await?;
                    }
                    if local && topics.contains(&Topic::Host) {
                        send(&mut socket, &ServerMessage::Host { facts: engine.host_facts() }).await?;
                    }
                    if about_hosts && topics.contains(&Topic::Hosts) {
                        send(&mut socket, &hosts(&engine)).await?;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let message = format!("this socket fell behind and missed {missed} events");
                    send(&mut socket, &ServerMessage::Error { message }).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = ticker.tick() => {
                if topics.contains(&Topic::Host) {
                    send(&mut socket, &ServerMessage::Host { facts: engine.host_facts() }).await?;
                }
                if topics.contains(&Topic::Hosts) {
                    send(&mut socket, &hosts(&engine)).await?;
                }
            }
        }
    }
}
