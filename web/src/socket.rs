//! The one WebSocket of the dashboard, `/berth/v1/ws`, shared by every page through context.
//!
//! The socket object and its JS callbacks are `!Send`, so they live in a `StoredValue` with
//! `LocalStorage`; what pages render lives in ordinary signals. On close it reconnects with
//! backoff, first asking `whoami` so that an expired session goes back to the login view instead
//! of retrying forever.

use crate::api::{self, ApiError};
use crate::format;
use crate::json::Json;
use crate::read;
use crate::watch::{self, Change};
use leptos::prelude::*;
use shared::event::Event;
use shared::host::HostFacts;
use shared::hosts::HostStatus;
use shared::ws::Topic;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// How many events the Events page keeps.
pub const EVENTS_KEPT: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsState {
    Live,
    Reconnecting,
}

impl WsState {
    pub fn label(self) -> &'static str {
        match self {
            WsState::Live => "live",
            WsState::Reconnecting => "reconnecting",
        }
    }
}

/// One received event with a local sequence number (the key for keyed rendering).
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub seq: u64,
    pub event: Event,
}

/// Puts `item` first and drops the oldest beyond `cap`.
pub fn push_newest<T>(list: &mut VecDeque<T>, item: T, cap: usize) {
    list.push_front(item);
    list.truncate(cap);
}

/// Gets every message of one followed topic (and its `subscribed` acknowledgement, which
/// also comes after a reconnect: a page's cue to start over), as `shared::ws::ServerMessage`
/// has it on the wire, read through [`Json`] (no typed reader per message in the wasm).
pub type Handler = Rc<dyn Fn(&Json)>;

#[derive(Default)]
struct Conn {
    ws: Option<WebSocket>,
    on_open: Option<Closure<dyn FnMut()>>,
    on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
    /// Bumped on every connect and stop: callbacks of older sockets and pending reconnect
    /// timers see a different number and do nothing.
    generation: u64,
    attempt: u32,
    running: bool,
    seq: u64,
    on_unauthorized: Option<Rc<dyn Fn()>>,
    /// Topics pages follow: (handle, topic, handler).
    follows: Vec<(u64, Topic, Handler)>,
    next_follow: u64,
}

impl Conn {
    /// Detaches the callbacks before dropping them (a late event on a dropped closure throws)
    /// and closes the socket.
    fn teardown(&mut self) {
        if let Some(ws) = self.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
        self.on_open = None;
        self.on_message = None;
        self.on_close = None;
    }
}

#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<WsState>,
    /// Latest host facts, and when they arrived (ms since the epoch, browser clock).
    pub facts: RwSignal<Option<HostFacts>>,
    pub facts_received: RwSignal<Option<f64>>,
    /// Newest first, at most [`EVENTS_KEPT`].
    pub events: RwSignal<VecDeque<Received>>,
    /// When the live stream started, for the Events page's empty state.
    pub since: RwSignal<Option<f64>>,
    /// The last error the agent sent on the socket, or a message it could not read.
    pub error: RwSignal<Option<String>>,
    /// Goes up on every `image` event, and on a reconnect (events may have been missed):
    /// the Images and Layers pages reload when it moves.
    pub image_changes: RwSignal<u64>,
    /// The same for `container` events: the Containers and Container pages reload on it.
    pub container_changes: RwSignal<u64>,
    /// The same for `network` events and containers that start, die or go (their addresses
    /// and published ports come and go with them): the Networks page reloads on it.
    pub network_changes: RwSignal<u64>,
    /// Every host, this one first (the hosts overview and the host switcher).
    pub hosts: RwSignal<Vec<HostStatus>>,
    /// This agent's host name, from the socket's hello: the tag of its own events.
    pub local_name: RwSignal<Option<String>>,
    conn: StoredValue<Conn, LocalStorage>,
}

impl Live {
    pub fn new() -> Self {
        Live {
            state: RwSignal::new(WsState::Reconnecting),
            facts: RwSignal::new(None),
            facts_received: RwSignal::new(None),
            events: RwSignal::new(VecDeque::new()),
            since: RwSignal::new(None),
            error: RwSignal::new(None),
            image_changes: RwSignal::new(0),
            container_changes: RwSignal::new(0),
            network_changes: RwSignal::new(0),
            hosts: RwSignal::new(Vec::new()),
            local_name: RwSignal::new(None),
            conn: StoredValue::new_local(Conn::default()),
        }
    }

    /// Opens the socket (after login). `on_unauthorized` runs when a reconnect finds the
    /// session gone.
    pub fn start(self, on_unauthorized: impl Fn() + 'static) {
        self.conn.update_value(|c| {
            c.teardown();
            c.running = true;
            c.attempt = 0;
            c.on_unauthorized = Some(Rc::new(on_unauthorized));
        });
        self.connect();
    }

    /// Closes the socket for good (logout) and forgets what it showed.
    pub fn stop(self) {
        self.conn.update_value(|c| {
            c.teardown();
            c.running = false;
            c.generation += 1;
            c.on_unauthorized = None;
        });
        self.state.set(WsState::Reconnecting);
        self.facts.set(None);
        self.facts_received.set(None);
        self.events.set(VecDeque::new());
        self.since.set(None);
        self.error.set(None);
        self.hosts.set(Vec::new());
        for change in [
            Change::Socket,
            Change::Facts,
            Change::Events,
            Change::Error,
            Change::Hosts,
        ] {
            watch::notify(change);
        }
    }

    /// The latest host facts and when they arrived (ms since the epoch, browser clock).
    pub fn facts(self) -> Option<(HostFacts, f64)> {
        let facts = self.facts.get_untracked()?;
        Some((
            facts,
            self.facts_received.get_untracked().unwrap_or_default(),
        ))
    }

    /// Every host, this one first.
    pub fn host_list(self) -> Vec<HostStatus> {
        self.hosts.get_untracked()
    }

    /// The kept events, newest first.
    pub fn with_events<R>(self, f: impl FnOnce(&VecDeque<Received>) -> R) -> R {
        self.events.with_untracked(f)
    }

    /// When the live stream started (ms since the epoch).
    pub fn started(self) -> Option<f64> {
        self.since.get_untracked()
    }

    pub fn ws_state(self) -> WsState {
        self.state.get_untracked()
    }

    /// Shows facts fetched over HTTP until the socket's first report (which wins if it is
    /// already there); ignored after logout.
    pub fn prime_facts(self, facts: HostFacts) {
        let running = self.conn.try_with_value(|c| c.running).unwrap_or(false);
        if running && self.facts.with_untracked(Option::is_none) {
            self.facts.set(Some(facts));
            self.facts_received.set(Some(js_sys::Date::now()));
            watch::notify(Change::Facts);
        }
    }

    /// Sends `subscribe` or `unsubscribe` for `topic`.
    fn send(self, verb: &str, topic: &Topic) {
        let text = client_message(verb, topic);
        self.conn.with_value(|c| {
            if let Some(ws) = &c.ws {
                let _ = ws.send_with_str(&text);
            }
        });
    }

    /// Follows `topic` until the returned [`Follow`] is dropped: `handler` gets its
    /// messages, on this connection and the next ones. Several followers of one topic share
    /// one subscription.
    #[must_use = "following stops when the Follow is dropped"]
    pub fn follow(self, topic: Topic, handler: impl Fn(&Json) + 'static) -> Follow {
        self.follow_on(api::remote().as_deref(), topic, Rc::new(handler))
    }

    /// [`Live::follow`] on peer `remote` (`None`: this agent), whatever host is shown.
    #[must_use = "following stops when the Follow is dropped"]
    pub fn follow_on(self, remote: Option<&str>, topic: Topic, handler: Handler) -> Follow {
        // A peer's containers are followed on the peer's own socket, through the proxy.
        if let Some(peer) = remote {
            return Follow {
                local: None,
                _remote: follow_remote(peer, topic, handler),
            };
        }
        let (id, first) = self
            .conn
            .with_value(|c| (c.next_follow, !c.follows.iter().any(|f| f.1 == topic)));
        self.conn.update_value(|c| {
            c.next_follow += 1;
            c.follows.push((id, topic.clone(), handler));
        });
        if first {
            self.send("subscribe", &topic);
        }
        Follow {
            local: Some((self, id, topic)),
            _remote: None,
        }
    }

    /// Ends follow `id` of `topic`; the last follower's end unsubscribes.
    fn unfollow(self, id: u64, topic: &Topic) {
        let last = self
            .conn
            .try_update_value(|c| {
                c.follows.retain(|f| f.0 != id);
                !c.follows.iter().any(|f| &f.1 == topic)
            })
            .unwrap_or(false);
        if last {
            self.send("unsubscribe", topic);
        }
    }

    /// Hands `message` to the followers of `topic`.
    fn dispatch(self, topic: &Topic, message: &Json) {
        let handlers: Vec<Handler> = self.conn.with_value(|c| {
            c.follows
                .iter()
                .filter(|f| &f.1 == topic)
                .map(|f| f.2.clone())
                .collect()
        });
        for handler in handlers {
            handler(message);
        }
    }

    fn is_current(self, generation: u64) -> bool {
        self.conn
            .try_with_value(|c| c.running && c.generation == generation)
            .unwrap_or(false)
    }

    fn connect(self) {
        let generation = self.conn.with_value(|c| c.generation) + 1;
        let location = window().location();
        let url = format::ws_url(
            &location.protocol().unwrap_or_default(),
            &location.host().unwrap_or_default(),
        );
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(e) => {
                self.error
                    .set(Some(format!("cannot open the live connection: {e:?}")));
                self.conn.update_value(|c| c.generation = generation);
                self.schedule_reconnect(generation);
                return;
            }
        };

        let on_open = Closure::<dyn FnMut()>::new(move || {
            if !self.is_current(generation) {
                return;
            }
            self.conn.update_value(|c| c.attempt = 0);
            self.state.set(WsState::Live);
            self.error.set(None);
            let reconnected = self.since.get_untracked().is_some();
            if reconnected {
                self.image_changes.update(|n| *n += 1);
                self.container_changes.update(|n| *n += 1);
                self.network_changes.update(|n| *n += 1);
            } else {
                self.since.set(Some(js_sys::Date::now()));
            }
            for topic in [Topic::Host, Topic::Hosts, Topic::Events] {
                self.send("subscribe", &topic);
            }
            let mut followed: Vec<Topic> = self
                .conn
                .with_value(|c| c.follows.iter().map(|f| f.1.clone()).collect());
            followed.dedup();
            for topic in followed {
                self.send("subscribe", &topic);
            }
            watch::notify(Change::Socket);
            watch::notify(Change::Error);
            if reconnected {
                for change in [Change::Images, Change::Containers, Change::Networks] {
                    watch::notify(change);
                }
            }
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if !self.is_current(generation) {
                return;
            }
            if let Some(text) = ev.data().as_string() {
                self.receive(&text);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
            if !self.is_current(generation) {
                return;
            }
            self.state.set(WsState::Reconnecting);
            watch::notify(Change::Socket);
            self.schedule_reconnect(generation);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        self.conn.update_value(|c| {
            c.teardown();
            c.generation = generation;
            c.ws = Some(ws);
            c.on_open = Some(on_open);
            c.on_message = Some(on_message);
            c.on_close = Some(on_close);
        });
    }

    /// Waits (backoff), checks the session is still valid, then connects again; runs outside
    /// the socket callbacks, so replacing them there is safe.
    fn schedule_reconnect(self, generation: u64) {
        let attempt = self.conn.with_value(|c| c.attempt) + 1;
        self.conn.update_value(|c| c.attempt = attempt);
        let delay = Duration::from_millis(format::backoff_ms(attempt).into());
        set_timeout(
            move || {
                if !self.is_current(generation) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let check = api::whoami().await;
                    if !self.is_current(generation) {
                        return;
                    }
                    match check {
                        Err(ApiError::Unauthorized(_)) => {
                            let hook = self.conn.with_value(|c| c.on_unauthorized.clone());
                            if let Some(hook) = hook {
                                hook();
                            }
                        }
                        // Reachable, or not yet: the socket attempt decides, backing off.
                        _ => self.connect(),
                    }
                });
            },
            delay,
        );
    }

    fn receive(self, text: &str) {
        let Some(msg) = Json::parse(text).filter(Json::is_object) else {
            self.error.set(Some(
                "unreadable message from the agent: not JSON".to_string(),
            ));
            watch::notify(Change::Error);
            return;
        };
        match msg.at("type").str().as_str() {
            "host" => {
                self.facts.set(Some(read::host_facts(&msg.at("facts"))));
                self.facts_received.set(Some(js_sys::Date::now()));
                watch::notify(Change::Facts);
            }
            "hosts" => {
                self.hosts.set(read::host_list(&msg.at("hosts")));
                watch::notify(Change::Hosts);
            }
            "hello" => self.local_name.set(Some(msg.at("host").str())),
            "event" => {
                let event = read::event(&msg.at("event"));
                {
                    // Pages reload for events of the host they show (of every host when
                    // "All hosts" is chosen).
                    let shown = api::remote().or_else(|| self.local_name.get_untracked());
                    let of_shown = api::all_hosts() || shown.is_none() || event.host == shown;
                    let mut changes = vec![Change::Events];
                    match event.kind.as_str() {
                        "image" if of_shown => {
                            self.image_changes.update(|n| *n += 1);
                            changes.push(Change::Images);
                        }
                        "container" if of_shown => {
                            self.container_changes.update(|n| *n += 1);
                            changes.push(Change::Containers);
                        }
                        _ => {}
                    }
                    if of_shown && changes_networks(&event.kind, &event.action) {
                        self.network_changes.update(|n| *n += 1);
                        changes.push(Change::Networks);
                    }
                    let seq = self.conn.with_value(|c| c.seq);
                    self.conn.update_value(|c| c.seq += 1);
                    self.events
                        .update(|list| push_newest(list, Received { seq, event }, EVENTS_KEPT));
                    for change in changes {
                        watch::notify(change);
                    }
                }
            }
            "error" => {
                let message = msg.at("message").str();
                self.error.set(Some(format!("the agent said: {message}")));
                watch::notify(Change::Error);
            }
            "subscribed" => {
                if let Some(topic) = topic_of(&msg.at("topic")) {
                    self.dispatch(&topic, &msg);
                }
            }
            "logs" => {
                let container = msg.at("container").str();
                self.dispatch(&Topic::Logs { container }, &msg);
            }
            "stats" => {
                let container = msg.at("container").str();
                self.dispatch(&Topic::Stats { container }, &msg);
            }
            "usage" => self.dispatch(&Topic::Usage, &msg),
            _ => {}
        }
    }
}

/// A followed topic, followed until dropped: on this agent's socket (`local`), or on the
/// shown peer's own (`remote`, closed with it).
pub struct Follow {
    local: Option<(Live, u64, Topic)>,
    _remote: Option<RemoteFollow>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        if let Some((live, id, topic)) = self.local.take() {
            live.unfollow(id, &topic);
        }
    }
}

/// The socket and callbacks of one followed topic of a peer.
struct RemoteFollow {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for RemoteFollow {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        let _ = self.ws.close();
    }
}

/// Follows `topic` on peer `peer`'s own `/berth/v1/ws` (through this agent's proxy, which
/// checks the caller's role). No reconnect: the page is made anew when the shown host
/// changes, and a peer that goes away shows as unreachable.
fn follow_remote(peer: &str, topic: Topic, handler: Handler) -> Option<RemoteFollow> {
    let ws = WebSocket::new(&api::ws_url_on("/berth/v1/ws", Some(peer))).ok()?;
    let subscribe = client_message("subscribe", &topic);
    let opened = ws.clone();
    let on_open = Closure::<dyn FnMut()>::new(move || {
        let _ = opened.send_with_str(&subscribe);
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(msg) = ev.data().as_string().and_then(|t| Json::parse(&t)) else {
            return;
        };
        if matches!(
            msg.at("type").str().as_str(),
            "subscribed" | "logs" | "stats" | "usage"
        ) {
            handler(&msg);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(RemoteFollow {
        ws,
        _on_open: on_open,
        _on_message: on_message,
    })
}

/// A `shared::ws::ClientMessage` as the agent reads it: `{"type":"subscribe","topic":…}`.
pub fn client_message(verb: &str, topic: &Topic) -> String {
    let topic = match topic {
        Topic::Events => "\"events\"".to_string(),
        Topic::Host => "\"host\"".to_string(),
        Topic::Hosts => "\"hosts\"".to_string(),
        Topic::Usage => "\"usage\"".to_string(),
        Topic::Logs { container } => format!(
            "{{\"logs\":{}}}",
            crate::json::object(&[("container", container)])
        ),
        Topic::Stats { container } => format!(
            "{{\"stats\":{}}}",
            crate::json::object(&[("container", container)])
        ),
    };
    format!(
        "{{\"type\":{},\"topic\":{topic}}}",
        crate::json::string(verb)
    )
}

/// A topic as the agent names it (`"usage"`, `{"logs":{"container":"web"}}`).
fn topic_of(v: &Json) -> Option<Topic> {
    let container = |kind: &str| v.at(kind).at("container").str();
    Some(match v.str().as_str() {
        "events" => Topic::Events,
        "host" => Topic::Host,
        "usage" => Topic::Usage,
        "" if !v.at("logs").is_empty() => Topic::Logs {
            container: container("logs"),
        },
        "" if !v.at("stats").is_empty() => Topic::Stats {
            container: container("stats"),
        },
        _ => return None,
    })
}

/// Whether an event can change what the Networks page shows: any `network` event, and a
/// container that starts, dies or is removed (its addresses and published ports).
pub fn changes_networks(kind: &str, action: &str) -> bool {
    match kind {
        "network" => true,
        "container" => matches!(action, "create" | "start" | "die" | "destroy" | "rename"),
        _ => false,
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_capped() {
        let mut list = VecDeque::new();
        for i in 0..250 {
            push_newest(&mut list, i, EVENTS_KEPT);
        }
        assert_eq!(list.len(), EVENTS_KEPT);
        assert_eq!(list.front(), Some(&249));
        assert_eq!(list.back(), Some(&50));
    }

    #[test]
    fn network_page_follows_network_and_container_lifecycle_events() {
        assert!(changes_networks("network", "create"));
        assert!(changes_networks("network", "disconnect"));
        for action in ["start", "die", "destroy"] {
            assert!(changes_networks("container", action));
        }
        assert!(!changes_networks("container", "pause"));
        assert!(!changes_networks("image", "delete"));
    }

    #[test]
    fn client_messages_are_what_the_agent_reads() {
        use shared::ws::ClientMessage;
        for topic in [
            Topic::Events,
            Topic::Host,
            Topic::Hosts,
            Topic::Usage,
            Topic::Logs {
                container: "we\"b".into(),
            },
            Topic::Stats {
                container: "db".into(),
            },
        ] {
            let text = client_message("subscribe", &topic);
            let back: ClientMessage = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back,
                ClientMessage::Subscribe {
                    topic: topic.clone()
                }
            );
            let text = client_message("unsubscribe", &topic);
            let back: ClientMessage = serde_json::from_str(&text).unwrap();
            assert_eq!(back, ClientMessage::Unsubscribe { topic });
        }
    }

    #[test]
    fn state_labels_are_what_tests_look_for() {
        assert_eq!(WsState::Live.label(), "live");
        assert_eq!(WsState::Reconnecting.label(), "reconnecting");
    }
}
