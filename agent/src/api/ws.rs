//! The dashboard's WebSocket, `/berth/v1/ws`: one socket per browser. The client
//! subscribes to topics; the server pushes typed `shared::ws::ServerMessage`s. Upgrades
//! from a foreign `Origin` are refused (cross-site WebSocket hijacking). The container
//! topics run as tasks ([`super::feeds`]) that queue their messages for this socket.

use super::error::ApiError;
use super::feeds;
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
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often host facts are pushed to subscribers.
const HOST_FACTS_EVERY: Duration = Duration::from_secs(2);
/// Clients only send small subscription messages.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// Container topics (logs, stats, usage) one socket may hold at once.
const MAX_FEEDS: usize = 32;
/// Messages the feeds may queue before they wait for the socket.
const FEED_QUEUE: usize = 64;

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

/// The container topics a socket holds: one task each, aborted when it goes.
struct Feeds {
    tasks: HashMap<Topic, JoinHandle<()>>,
    outbox: mpsc::Sender<ServerMessage>,
}

impl Feeds {
    /// Starts the task behind `topic` (if not running yet); the reply to send.
    fn start(&mut self, topic: Topic, state: &AppState) -> ServerMessage {
        // A feed whose container went (or whose socket queue closed) has ended: it neither
        // counts nor stands in the way of following a new container of the same name.
        self.tasks.retain(|_, task| !task.is_finished());
        if self.tasks.contains_key(&topic) {
            return ServerMessage::Subscribed { topic };
        }
        if self.tasks.len() >= MAX_FEEDS {
            return ServerMessage::Error {
                message: format!(
                    "too many subscriptions on one socket (at most {MAX_FEEDS}); unsubscribe first"
                ),
            };
        }
        let containers = state.engine.containers.clone();
        let out = self.outbox.clone();
        let task = match &topic {
            Topic::Usage => tokio::spawn(feeds::usage(containers, out)),
            Topic::Logs { container } | Topic::Stats { container } => {
                let found = match containers.find(container) {
                    Ok(found) => found,
                    Err(e) => {
                        return ServerMessage::Error {
                            message: format!("cannot follow {container}: {e}"),
                        };
                    }
                };
                let name = container.clone();
                if matches!(topic, Topic::Logs { .. }) {
                    tokio::spawn(feeds::logs(containers, found, name, out))
                } else {
                    tokio::spawn(feeds::stats(containers, found, name, out))
                }
            }
            Topic::Events | Topic::Host | Topic::Hosts => {
                return ServerMessage::Error {
                    message: "not a container topic".into(),
                };
            }
        };
        self.tasks.insert(topic.clone(), task);
        ServerMessage::Subscribed { topic }
    }

    /// Whether `message` (from a feed) belongs to a topic still subscribed.
    fn holds(&self, message: &ServerMessage) -> bool {
        let topic = match message {
            ServerMessage::Logs { container, .. } => Topic::Logs {
                container: container.clone(),
            },
            ServerMessage::Stats { container, .. } => Topic::Stats {
                container: container.clone(),
            },
            ServerMessage::Usage { .. } => Topic::Usage,
            _ => return true,
        };
        self.tasks.contains_key(&topic)
    }

    fn stop(&mut self, topic: &Topic) {
        if let Some(task) = self.tasks.remove(topic) {
            task.abort();
        }
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
    }
}

fn is_feed(topic: &Topic) -> bool {
    !matches!(topic, Topic::Events | Topic::Host | Topic::Hosts)
}

async fn serve(mut socket: WebSocket, state: AppState, caller: Caller) -> Result<(), axum::Error> {
    let engine = state.engine.clone();
    let mut events = engine.events.listen();
    let mut topics: HashSet<Topic> = HashSet::new();
    let (outbox, mut queued) = mpsc::channel(FEED_QUEUE);
    let mut feeds = Feeds {
        tasks: HashMap::new(),
        outbox,
    };
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
                    Ok(ClientMessage::Subscribe { topic }) if is_feed(&topic) => {
                        feeds.start(topic, &state)
                    }
                    Ok(ClientMessage::Subscribe { topic }) => {
                        let first = topic.clone();
                        topics.insert(topic.clone());
                        send(&mut socket, &ServerMessage::Subscribed { topic }).await?;
                        match first {
                            Topic::Host => send(&mut socket, &ServerMessage::Host { facts: engine.host_facts() }).await?,
                            Topic::Hosts => send(&mut socket, &hosts(&engine)).await?,
                            Topic::Events => {}
                            // Container topics were taken by `feeds.start` above.
                            Topic::Logs { .. } | Topic::Stats { .. } | Topic::Usage => {}
                        }
                        continue;
                    }
                    Ok(ClientMessage::Unsubscribe { topic }) => {
                        feeds.stop(&topic);
                        topics.remove(&topic);
                        ServerMessage::Unsubscribed { topic }
                    }
                    Err(e) => ServerMessage::Error { message: format!("bad message: {e}") },
                };
                send(&mut socket, &reply).await?;
            }
            Some(message) = queued.recv() => {
                // A feed's message still queued when it was unsubscribed is not sent.
                if feeds.holds(&message) {
                    send(&mut socket, &message).await?;
                }
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
