//! The one service the API calls. It owns the engine's parts; the API owns none.

use crate::auth::{AuthError, PullGrants, SessionStore, TicketStore, TokenStore, tickets::Grant};
use crate::build::Builds;
use crate::container::{ContainerError, Containers};
use crate::events::EventBus;
use crate::image::Images;
use crate::layer::snapshot::Driver;
use crate::network::{NetworkError, NetworkOptions, Networks};
use crate::peers::Peers;
use crate::registry::{RegistryClient, RegistryConfig, RegistryError};
use crate::store::{Store, StoreError};
use crate::system::facts::{self, Inventory, StaticFacts};
use crate::util::fingerprint::Fingerprint;
use crate::util::{atomic_file::write_atomic, random::hex_secret};
use shared::auth::LoginUrl;
use shared::host::HostFacts;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How this agent is reached: by browsers (login links) and by peers (image copies).
#[derive(Clone, Debug)]
pub struct Reachable {
    /// `http://127.0.0.1:7070` or `https://…`: from `--listen`.
    pub public_url: String,
    /// What peers use to reach this agent: `--advertise-url`, else `public_url`.
    pub peer_url: String,
    /// SHA-256 of the TLS certificate, when the agent serves TLS.
    pub tls_fingerprint: Option<Fingerprint>,
}

impl Reachable {
    /// The URLs for an agent listening on `listen`, over TLS when `tls_fingerprint` is set.
    pub fn new(
        listen: SocketAddr,
        advertise_url: Option<String>,
        tls_fingerprint: Option<Fingerprint>,
    ) -> Self {
        let public_url = public_url(listen, tls_fingerprint.is_some());
        Reachable {
            peer_url: advertise_url.unwrap_or_else(|| public_url.clone()),
            public_url,
            tls_fingerprint,
        }
    }
}

pub struct Engine {
    root: PathBuf,
    id: String,
    reachable: Reachable,
    pub host: StaticFacts,
    pub events: Arc<EventBus>,
    pub store: Arc<Store>,
    pub images: Arc<Images>,
    pub containers: Arc<Containers>,
    pub networks: Arc<Networks>,
    pub builds: Arc<Builds>,
    pub registry: RegistryClient,
    pub tokens: TokenStore,
    pub tickets: TicketStore,
    pub sessions: SessionStore,
    pub peers: Arc<Peers>,
    pub pull_grants: PullGrants,
    container_disk: crate::system::usage::ContainerDisk,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("containers: {0}")]
    Container(#[from] ContainerError),
    #[error("networks: {0}")]
    Network(#[from] NetworkError),
    #[error("{0}")]
    StorageDriver(String),
    #[error("registry client: {0}")]
    Registry(#[from] RegistryError),
}

impl Engine {
    /// Opens the data root (creating its directories) and the engine's parts.
    pub fn open(
        root: &Path,
        reachable: Reachable,
        insecure_registries: Vec<String>,
        storage_driver: Option<&str>,
        network: NetworkOptions,
    ) -> Result<Self, EngineError> {
        for dir in [root.to_path_buf(), root.join("containers")] {
            std::fs::create_dir_all(&dir).map_err(|source| EngineError::CreateDir {
                path: dir.clone(),
                source,
            })?;
        }
        let auth_dir = root.join("auth");
        let host = StaticFacts::read();
        let events = Arc::new(EventBus::new(host.name.clone()));
        let store = Arc::new(Store::open(root)?);
        let images = Arc::new(Images::new(store.clone(), events.clone()));
        let driver = match storage_driver {
            Some(name) => name
                .parse::<Driver>()
                .map_err(|e| EngineError::StorageDriver(format!("--storage-driver {name}: {e}")))?,
            None => Driver::detect(root),
        };
        let networks = Networks::open(root, network, events.clone())?;
        let peers = Arc::new(Peers::open(&auth_dir, events.clone()));
        let containers = Containers::open(
            root,
            images.clone(),
            events.clone(),
            driver,
            networks.clone(),
        )?;
        let registry = RegistryClient::new(RegistryConfig {
            insecure_registries,
            ..RegistryConfig::default()
        })?;
        let builds = Builds::open(root, images.clone(), containers.clone(), registry.clone());
        Ok(Engine {
            images,
            containers,
            networks,
            builds,
            registry,
            store,
            id: engine_id(root)?,
            root: root.to_path_buf(),
            reachable,
            events,
            host,
            tokens: TokenStore::open(&auth_dir)?,
            peers,
            pull_grants: PullGrants::default(),
            tickets: TicketStore::open(&auth_dir)?,
            sessions: SessionStore::open(&auth_dir)?,
            container_disk: crate::system::usage::ContainerDisk::new(root.join("containers")),
        })
    }

    /// This engine's stable identity (a UUID kept in `<root>/engine-id`).
    pub fn engine_id(&self) -> &str {
        &self.id
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a browser reaches this agent, e.g. `http://127.0.0.1:7070`.
    pub fn public_url(&self) -> &str {
        &self.reachable.public_url
    }

    /// How browsers and peers reach this agent.
    pub fn reachable(&self) -> &Reachable {
        &self.reachable
    }

    /// What the engine holds.
    pub fn inventory(&self) -> Inventory {
        let (containers, running, _, _) = self.containers.count_by_status();
        Inventory {
            containers: containers as u64,
            containers_running: running as u64,
            images: self.store.meta.images().map_or(0, |i| i.len() as u64),
        }
    }

    pub fn host_facts(&self) -> HostFacts {
        let mut facts = facts::read(&self.host, &self.root, self.inventory());
        facts.storage_driver = self.containers.driver().name().to_string();
        facts.images_size = self.images.layers_size().unwrap_or(0);
        facts.containers_size = self.container_disk.bytes();
        facts
    }

    /// A fresh one-time dashboard login link granting `grant`.
    pub fn login_url(&self, grant: Grant) -> Result<LoginUrl, AuthError> {
        let (ticket, expires) = self.tickets.issue(grant)?;
        Ok(LoginUrl {
            url: format!("{}/login?ticket={ticket}", self.reachable.public_url),
            expires,
        })
    }
}

/// Reads `<root>/engine-id`, creating it on first start.
fn engine_id(root: &Path) -> Result<String, EngineError> {
    let path = root.join("engine-id");
    let io = |source| EngineError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let hex = hex_secret(16).map_err(io)?;
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    write_atomic(&path, id.as_bytes(), 0o644).map_err(io)?;
    Ok(id)
}

fn public_url(listen: SocketAddr, tls: bool) -> String {
    let host = if listen.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if listen.is_ipv6() {
        format!("[{}]", listen.ip())
    } else {
        listen.ip().to_string()
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}:{}", listen.port())
}
