//! What is known of each peer: up or unreachable, since when, the last error, the latest
//! facts. A change of state is an event on the local bus (`Type: host`, action `up` or
//! `unreachable`, tagged with the peer's name), so the dashboard follows it live.

use crate::events::EventBus;
use crate::util::clock::{now_nanos, now_secs};
use shared::event::{Actor, Event};
use shared::host::HostFacts;
use shared::hosts::HostState;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct PeerHealth {
    pub state: HostState,
    pub since: i64,
    pub error: Option<String>,
    pub facts: Option<HostFacts>,
}

pub struct Health {
    bus: Arc<EventBus>,
    peers: Mutex<HashMap<String, PeerHealth>>,
}

impl Health {
    pub fn new(bus: Arc<EventBus>) -> Self {
        Health {
            bus,
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, PeerHealth>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<PeerHealth> {
        self.map().get(name).cloned()
    }

    /// A peer being watched from now on (not heard from yet).
    pub fn watch(&self, name: &str) {
        self.map().entry(name.to_string()).or_insert(PeerHealth {
            state: HostState::Connecting,
            since: now_secs(),
            error: None,
            facts: None,
        });
    }

    pub fn forget(&self, name: &str) {
        self.map().remove(name);
    }

    /// The peer answered with these facts.
    pub fn up(&self, name: &str, facts: HostFacts) {
        let changed = {
            let mut map = self.map();
            let Some(entry) = map.get_mut(name) else {
                return;
            };
            entry.facts = Some(facts);
            entry.error = None;
            let changed = entry.state != HostState::Up;
            if changed {
                entry.state = HostState::Up;
                entry.since = now_secs();
            }
            changed
        };
        if changed {
            tracing::info!("peer {name} is up");
            self.announce(name, "up", None);
        }
    }

    /// The peer did not answer, for `error`.
    pub fn unreachable(&self, name: &str, error: String) {
        let changed = {
            let mut map = self.map();
            let Some(entry) = map.get_mut(name) else {
                return;
            };
            entry.error = Some(error.clone());
            let changed = entry.state != HostState::Unreachable;
            if changed {
                entry.state = HostState::Unreachable;
                entry.since = now_secs();
            }
            changed
        };
        if changed {
            tracing::warn!("peer {name} is unreachable: {error}");
            self.announce(name, "unreachable", Some(error));
        }
    }

    fn announce(&self, name: &str, action: &str, error: Option<String>) {
        let mut attributes = BTreeMap::from([("name".to_string(), name.to_string())]);
        if let Some(error) = error {
            attributes.insert("error".to_string(), error);
        }
        let mut event = Event::at(
            now_nanos(),
            "host",
            action,
            Actor {
                id: name.to_string(),
                attributes,
            },
        );
        event.host = Some(name.to_string());
        self.bus.republish(event);
    }
}
