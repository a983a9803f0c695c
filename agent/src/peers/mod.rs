//! Other hosts: the peers this agent knows (`registry`), how it trusts and talks to them
//! (`trust`, `client`), the one link per peer that follows its events and health (`events`,
//! `health`), and the request proxy (`proxy`).
//!
//! The peers file is the source of truth, shared with `berth hosts …`: a reconcile pass
//! (every second, and at once after an API change) starts a link for each new peer and
//! stops the links of peers that went or changed.

pub mod admit;
pub mod client;
pub mod error;
mod events;
mod health;
pub mod proxy;
pub mod registry;
pub mod trust;

use crate::events::EventBus;
use client::PeerClient;
pub use error::PeerError;
use health::Health;
use registry::{PeerRecord, PeerRegistry};
use shared::hosts::{AddHostRequest, HostState, HostStatus};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the peers file is checked for changes made by `berth hosts`.
const RECONCILE_EVERY: Duration = Duration::from_secs(1);

struct Link {
    record: PeerRecord,
    client: PeerClient,
    task: tokio::task::AbortHandle,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Peers {
    local_name: String,
    registry: PeerRegistry,
    health: Arc<Health>,
    bus: Arc<EventBus>,
    links: Mutex<HashMap<String, Link>>,
}

impl Peers {
    /// The peers of the data root whose auth directory is `auth_dir`.
    pub fn open(auth_dir: &Path, bus: Arc<EventBus>) -> Self {
        Peers {
            local_name: bus.host().to_string(),
            registry: PeerRegistry::open(auth_dir),
            health: Arc::new(Health::new(bus.clone())),
            bus,
            links: Mutex::new(HashMap::new()),
        }
    }

    fn links(&self) -> std::sync::MutexGuard<'_, HashMap<String, Link>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the links, and the pass that keeps them in step with the peers file.
    pub fn start(self: &Arc<Self>) {
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(RECONCILE_EVERY);
            loop {
                ticker.tick().await;
                let Some(peers) = this.upgrade() else { return };
                peers.reconcile();
            }
        });
    }

    /// Starts links for new or changed peers and stops those of removed ones.
    pub fn reconcile(&self) {
        let records = match self.registry.list() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("reading the peers file: {e}");
                return;
            }
        };
        let mut links = self.links();
        links.retain(|name, link| {
            let keep = records.iter().any(|r| r == &link.record);
            if !keep {
                self.health.forget(name);
            }
            keep
        });
        for record in records.iter() {
            if links.contains_key(&record.name) {
                continue;
            }
            let client = match PeerClient::new(record) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("peer {}: {e}", record.name);
                    continue;
                }
            };
            self.health.watch(&record.name);
            let task = tokio::spawn(events::run_link(
                client.clone(),
                self.health.clone(),
                self.bus.clone(),
            ))
            .abort_handle();
            links.insert(
                record.name.clone(),
                Link {
                    record: record.clone(),
                    client,
                    task,
                },
            );
        }
    }

    /// The client of a peer, for the proxy and image copies.
    pub fn client(&self, name: &str) -> Result<PeerClient, PeerError> {
        // The file may have changed (`berth hosts add|rm`) since the last pass; reading it
        // costs a stat when it did not.
        self.reconcile();
        self.links()
            .get(name)
            .map(|l| l.client.clone())
            .ok_or_else(|| PeerError::NoSuchPeer(name.to_string()))
    }

    /// Every peer with what is known of it, in the order they were added.
    pub fn statuses(&self) -> Result<Vec<HostStatus>, PeerError> {
        let records = self.registry.list()?;
        Ok(records.iter().map(|r| self.status_of(r)).collect())
    }

    fn status_of(&self, record: &PeerRecord) -> HostStatus {
        let health = self.health.get(&record.name);
        HostStatus {
            name: record.name.clone(),
            local: false,
            url: record.url.clone(),
            state: health.as_ref().map_or(HostState::Connecting, |h| h.state),
            since: health.as_ref().map_or(record.added, |h| h.since),
            error: health.as_ref().and_then(|h| h.error.clone()),
            fingerprint: record.fingerprint.map(|f| f.to_string()),
            facts: health.and_then(|h| h.facts),
        }
    }

    /// Admits and stores a peer, and starts following it.
    pub async fn add(&self, request: &AddHostRequest) -> Result<HostStatus, PeerError> {
        if self.registry.get(request.name.trim())?.is_some() {
            return Err(PeerError::NameTaken(request.name.trim().to_string()));
        }
        let admitted = admit::admit(request, &self.local_name).await?;
        self.registry.add(admitted.record.clone())?;
        self.reconcile();
        self.health.up(&admitted.record.name, admitted.facts);
        self.bus.publish(
            "host",
            "add",
            &admitted.record.name,
            [("name".to_string(), admitted.record.name.clone())].into(),
        );
        Ok(self.status_of(&admitted.record))
    }

    /// Forgets a peer and stops following it.
    pub fn remove(&self, name: &str) -> Result<(), PeerError> {
        self.registry.remove(name)?;
        self.reconcile();
        self.bus.publish(
            "host",
            "remove",
            name,
            [("name".to_string(), name.to_string())].into(),
        );
        Ok(())
    }
}
