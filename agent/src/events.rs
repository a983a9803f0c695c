//! The one event bus: every state change is published here, and both Docker's
//! `GET /events` and the dashboard's WebSocket read from it.

use crate::util::clock::now_nanos;
use shared::event::{Actor, Event};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// How many past events are kept for `since=` replays.
const HISTORY: usize = 4096;
/// How far a slow subscriber may fall behind before it loses events.
const CHANNEL: usize = 1024;

pub struct EventBus {
    host: String,
    sender: broadcast::Sender<Event>,
    history: Mutex<VecDeque<Event>>,
}

impl EventBus {
    pub fn new(host: String) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL);
        EventBus {
            host,
            sender,
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
        }
    }

    /// Publishes an event about `id` now.
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let mut event = Event::at(
            now_nanos(),
            kind,
            action,
            Actor {
                id: id.to_string(),
                attributes,
            },
        );
        event.host = Some(self.host.clone());
        self.push(event);
    }

    /// Publishes an event of another host (a peer's, tagged with its name by the caller).
    pub fn republish(&self, event: Event) {
        self.push(event);
    }

    /// This host's name, the tag of its own events.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn push(&self, event: Event) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        // Sent while holding the history lock, so `subscribe` sees each event exactly once.
        let _ = self.sender.send(event);
    }

    /// Past events and a receiver for the ones after them, with no gap and no overlap.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        (history.iter().cloned().collect(), self.sender.subscribe())
    }

    /// How many streams are listening now.
    pub fn listener_count(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A receiver for future events only.
    pub fn listen(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_then_live() {
        let bus = EventBus::new("h1".into());
        bus.publish("daemon", "start", "x", BTreeMap::new());
        let (past, mut rx) = bus.subscribe();
        bus.publish("token", "create", "t1", BTreeMap::new());
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].action, "start");
        let live = rx.recv().await.unwrap();
        assert_eq!(live.action, "create");
        assert_eq!(live.host.as_deref(), Some("h1"));
    }
}
