//! The network service: Berth's networks (the pre-defined `bridge`, `host` and `none`, and
//! user-defined bridges), their address leases, each running container's interfaces, and
//! the port proxy's listeners. Netlink calls block, so callers run these methods on a
//! blocking thread.

use super::NetworkError;
use super::netlink::{self, VethSpec};
use super::ports::{BoundPort, PortRequest};
use super::proxy::{Forwarding, Listener, Protocol, ProxyError};
use super::record::{BRIDGE, HOST, NULL, NetworkRecord};
use super::sandbox::{Endpoint, Sandbox, mac_for, mac_text};
use super::subnet::{self, Subnet};
use crate::events::EventBus;
use crate::util::random::hex_secret;
use shared::ports::{PortMapping, PortUsage};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where this agent keeps what is not in its data root.
pub struct NetworkOptions {
    /// The default bridge's interface name (`berth0`).
    pub bridge_name: String,
    /// The default bridge's subnet; picked from the free pools at first start when `None`.
    pub bridge_subnet: Option<Subnet>,
    /// Bind mounts that keep containers' network namespaces (`/run/berth/netns`).
    pub netns_dir: PathBuf,
    /// Serialises subnet picking among agents on one host.
    pub lock_path: PathBuf,
}

/// What a new network is made from (`POST /networks/create`).
#[derive(Default)]
pub struct CreateNetwork {
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// One network a starting container joins; the first of a request is its primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRequest {
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4: Option<Ipv4Addr>,
}

pub struct AttachRequest {
    pub container_id: String,
    pub container_name: String,
    pub networks: Vec<EndpointRequest>,
    pub ports: Vec<PortRequest>,
}

/// A container's interface as the network's inspect shows it.
#[derive(Clone, Debug)]
pub struct LiveEndpoint {
    pub container_name: String,
    pub endpoint: Endpoint,
}

struct Served {
    forwarding: Forwarding,
    mapping: PortMapping,
}

#[derive(Default)]
struct Inner {
    networks: BTreeMap<String, NetworkRecord>,
    /// Bridges made ready (created, addressed, up) by this process.
    ready: HashSet<String>,
    /// Network ID → container ID → its interface there.
    live: HashMap<String, BTreeMap<String, LiveEndpoint>>,
    /// Container ID → its published ports being served.
    served: HashMap<String, Vec<Served>>,
}

impl Inner {
    fn add_live(&mut self, container_id: &str, container_name: &str, endpoint: &Endpoint) {
        self.live
            .entry(endpoint.network_id.clone())
            .or_default()
            .insert(
                container_id.to_string(),
                LiveEndpoint {
                    container_name: container_name.to_string(),
                    endpoint: endpoint.clone(),
                },
            );
    }
}

pub struct Networks {
    dir: PathBuf,
    options: NetworkOptions,
    events: Arc<EventBus>,
    runtime: Option<tokio::runtime::Handle>,
    inner: Mutex<Inner>,
}

impl Networks {
    /// Loads `<root>/networks`, making the pre-defined networks on first start (the
    /// default bridge gets a subnet no host route or address uses, kept from then on).
    pub fn open(
        root: &Path,
        options: NetworkOptions,
        events: Arc<EventBus>,
    ) -> Result<Arc<Self>, NetworkError> {
        let dir = root.join("networks");
        std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
        let mut networks = BTreeMap::new();
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| NetworkError::io(&dir, e))?
            .flatten()
        {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match NetworkRecord::load(&path) {
                Ok(record) => {
                    networks.insert(record.id.clone(), record);
                }
                Err(e) => tracing::warn!("skipping {}: {e}", path.display()),
            }
        }
        let this = Arc::new(Networks {
            dir,
            options,
            events,
            runtime: tokio::runtime::Handle::try_current().ok(),
            inner: Mutex::new(Inner {
                networks,
                ..Inner::default()
            }),
        });
        this.create_predefined()?;
        Ok(this)
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn create_predefined(&self) -> Result<(), NetworkError> {
        let have = |name: &str| self.inner().networks.values().any(|n| n.name == name);
        for (name, driver) in [("host", HOST), ("none", NULL)] {
            if !have(name) {
                let record = new_record(name, driver, true)?;
                record.save(&self.dir)?;
                self.inner().networks.insert(record.id.clone(), record);
            }
        }
        if !have("bridge") {
            let mut record = new_record("bridge", BRIDGE, true)?;
            record.bridge = Some(self.options.bridge_name.clone());
            let _lock = self.host_lock()?;
            let subnet = match self.options.bridge_subnet {
                Some(s) => s,
                None => self.pick_subnet()?,
            };
            record.subnet = Some(subnet);
            record.gateway = Some(subnet.first_host());
            record.save(&self.dir)?;
            // Made now (not at first use) so other agents picking a subnet see its route.
            if let Err(e) = self.make_ready(&record) {
                tracing::warn!("default bridge: {e}");
            }
            self.inner().networks.insert(record.id.clone(), record);
        }
        Ok(())
    }

    /// Host-wide: picking a subnet and creating its bridge happen under one lock, so two
    /// agents never pick the same one.
    fn host_lock(&self) -> Result<std::fs::File, NetworkError> {
        let path = &self.options.lock_path;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| NetworkError::io(parent, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| NetworkError::io(path, e))?;
        file.lock().map_err(|e| NetworkError::io(path, e))?;
        Ok(file)
    }

    /// A subnet that neither the host's routes and addresses nor Berth's networks use.
    fn pick_subnet(&self) -> Result<Subnet, NetworkError> {
        let mut used: Vec<Subnet> = netlink::host_ipv4_networks()?
            .into_iter()
            .filter(|(_, prefix)| *prefix > 0)
            .filter_map(|(address, prefix)| Subnet::new(address, prefix.min(30)).ok())
            .collect();
        used.extend(self.inner().networks.values().filter_map(|n| n.subnet));
        subnet::pick_free(&used).ok_or_else(|| {
            NetworkError::Exhausted(
                "could not find a free subnet for a new network: every default pool overlaps a host route or another network".into(),
            )
        })
    }

    /// Creates the network's bridge if this process has not yet.
    fn make_ready(&self, record: &NetworkRecord) -> Result<(), NetworkError> {
        let (Some(bridge), Some(subnet), Some(gateway)) =
            (&record.bridge, record.subnet, record.gateway)
        else {
            return Err(NetworkError::BadInput(format!(
                "network {} has no bridge",
                record.name
            )));
        };
        if self.inner().ready.contains(bridge) {
            return Ok(());
        }
        netlink::ensure_bridge(bridge, gateway, subnet.prefix_len())?;
        self.inner().ready.insert(bridge.clone());
        Ok(())
    }

    fn event(&self, record: &NetworkRecord, action: &str, container: Option<&str>) {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_string(), record.name.clone());
        attributes.insert("type".to_string(), record.driver.clone());
        if let Some(id) = container {
            attributes.insert("container".to_string(), id.to_string());
        }
        self.events
            .publish("network", action, &record.id, attributes);
    }

    pub fn list(&self) -> Vec<NetworkRecord> {
        self.inner().networks.values().cloned().collect()
    }

    /// By full ID, name, or unique ID prefix.
    pub fn find(&self, input: &str) -> Result<NetworkRecord, NetworkError> {
        let inner = self.inner();
        find_in(&inner.networks, input).cloned()
    }

    /// Containers attached now, by container ID.
    pub fn live_endpoints(&self, network_id: &str) -> BTreeMap<String, LiveEndpoint> {
        self.inner()
            .live
            .get(network_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn create(&self, request: CreateNetwork) -> Result<NetworkRecord, NetworkError> {
        validate_name(&request.name)?;
        let driver = if request.driver.is_empty() {
            BRIDGE
        } else {
            request.driver.as_str()
        };
        if driver != BRIDGE {
            return Err(NetworkError::NotFound(format!(
                "plugin {driver:?} (a network driver): Berth's networks use the bridge driver"
            )));
        }
        let _lock = self.host_lock()?;
        if self
            .inner()
            .networks
            .values()
            .any(|n| n.name == request.name)
        {
            return Err(NetworkError::Conflict(format!(
                "network with name {} already exists",
                request.name
            )));
        }
        let subnet = match request.subnet {
            Some(subnet) => {
                if let Some(other) = self
                    .inner()
                    .networks
                    .values()
                    .find(|n| n.subnet.is_some_and(|s| s.overlaps(&subnet)))
                {
                    return Err(NetworkError::Forbidden(format!(
                        "Pool overlaps with other one on this address space: {subnet} overlaps network {} ({})",
                        other.name,
                        other.subnet.map(|s| s.to_string()).unwrap_or_default()
                    )));
                }
                subnet
            }
            None => {
                if request.gateway.is_some() {
                    return Err(NetworkError::BadInput(
                        "a gateway needs a subnet (--subnet) to belong to".into(),
                    ));
                }
                self.pick_subnet()?
            }
        };
        let gateway = match request.gateway {
            Some(g) if subnet.is_host(g) => g,
            Some(g) => {
                return Err(NetworkError::BadInput(format!(
                    "gateway {g} is not a usable address of subnet {subnet}"
                )));
            }
            None => subnet.first_host(),
        };
        let mut record = new_record(&request.name, BRIDGE, false)?;
        record.bridge = Some(format!("br-{}", record.short_id()));
        record.subnet = Some(subnet);
        record.gateway = Some(gateway);
        record.internal = request.internal;
        record.attachable = request.attachable;
        record.labels = request.labels;
        record.options = request.options;
        self.make_ready(&record)?;
        if let Err(e) = record.save(&self.dir) {
            if let Some(bridge) = &record.bridge {
                let _ = netlink::delete_link(bridge);
                self.inner().ready.remove(bridge);
            }
            return Err(e);
        }
        self.inner()
            .networks
            .insert(record.id.clone(), record.clone());
        self.event(&record, "create", None);
        Ok(record)
    }

    pub fn remove(&self, input: &str) -> Result<(), NetworkError> {
        let record = self.find(input)?;
        if record.builtin {
            return Err(NetworkError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                record.name
            )));
        }
        if self
            .inner()
            .live
            .get(&record.id)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(NetworkError::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                record.name, record.id
            )));
        }
        if let Some(bridge) = &record.bridge {
            netlink::delete_link(bridge)?;
            self.inner().ready.remove(bridge);
        }
        let path = NetworkRecord::path(&self.dir, &record.id);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(NetworkError::io(&path, e)),
        }
        self.inner().networks.remove(&record.id);
        self.event(&record, "destroy", None);
        Ok(())
    }

    /// Removes user-defined networks no container refers to; their names.
    pub fn prune(&self, referenced: &HashSet<String>) -> Vec<String> {
        let candidates: Vec<NetworkRecord> = self
            .list()
            .into_iter()
            .filter(|n| !n.builtin && !referenced.contains(&n.id) && !referenced.contains(&n.name))
            .collect();
        candidates
            .into_iter()
            .filter(|n| self.remove(&n.id).is_ok())
            .map(|n| n.name)
            .collect()
    }

    /// Gives a starting container its namespace, an interface and address on each network,
    /// and its published ports. All or nothing: on failure nothing of it is left.
    pub fn attach(&self, request: &AttachRequest) -> Result<Sandbox, NetworkError> {
        let records = request
            .networks
            .iter()
            .map(|e| {
                let record = self.find(&e.network)?;
                if !record.is_bridge() {
                    return Err(NetworkError::BadInput(format!(
                        "container cannot be connected to network {} (driver {}) together with others",
                        record.name, record.driver
                    )));
                }
                Ok(record)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Ports first: a clash is reported before anything is made.
        let listeners = bind_all(&request.ports)?;
        let netns = self.options.netns_dir.join(&request.container_id);
        std::fs::create_dir_all(&self.options.netns_dir)
            .map_err(|e| NetworkError::io(&self.options.netns_dir, e))?;
        netlink::create_netns(&netns)?;
        let mut sandbox = Sandbox {
            netns: Some(netns.clone()),
            ..Sandbox::default()
        };
        for (index, (record, wanted)) in records.iter().zip(&request.networks).enumerate() {
            match self.add_endpoint(
                &request.container_id,
                record,
                wanted,
                &format!("eth{index}"),
                index == 0,
                &netns,
            ) {
                Ok(endpoint) => sandbox.endpoints.push(endpoint),
                Err(e) => {
                    self.detach(&request.container_id, &sandbox);
                    return Err(e);
                }
            }
        }
        if let Some(primary) = sandbox.primary().cloned() {
            match self.serve(
                &request.container_id,
                &request.container_name,
                &primary,
                listeners,
            ) {
                Ok(bound) => sandbox.ports = bound,
                Err(e) => {
                    self.detach(&request.container_id, &sandbox);
                    return Err(e);
                }
            }
        }
        for endpoint in &sandbox.endpoints {
            self.register(&request.container_id, &request.container_name, endpoint);
        }
        Ok(sandbox)
    }

    fn add_endpoint(
        &self,
        container_id: &str,
        record: &NetworkRecord,
        wanted: &EndpointRequest,
        ifname: &str,
        primary: bool,
        netns: &Path,
    ) -> Result<Endpoint, NetworkError> {
        self.make_ready(record)?;
        let (Some(bridge), Some(subnet)) = (&record.bridge, record.subnet) else {
            return Err(NetworkError::BadInput(format!(
                "network {} has no bridge",
                record.name
            )));
        };
        let address = self.lease(&record.id, container_id, wanted.ipv4)?;
        let endpoint_id = hex_secret(32).map_err(|e| NetworkError::io("getrandom", e))?;
        let host_veth = format!("veth{}", &endpoint_id[..11]);
        let mac = mac_for(address);
        let gateway = if primary && !record.internal {
            record.gateway
        } else {
            None
        };
        let added = netlink::add_veth(&VethSpec {
            bridge,
            host_name: &host_veth,
            netns,
            ifname,
            address,
            prefix_len: subnet.prefix_len(),
            gateway,
            mac,
        });
        if let Err(e) = added {
            self.release(&record.id, container_id);
            return Err(e.into());
        }
        Ok(Endpoint {
            network_id: record.id.clone(),
            network_name: record.name.clone(),
            endpoint_id,
            ifname: ifname.to_string(),
            host_veth,
            address,
            prefix_len: subnet.prefix_len(),
            gateway: record.gateway,
            mac: mac_text(mac),
            aliases: wanted.aliases.clone(),
        })
    }

    fn lease(
        &self,
        network_id: &str,
        container_id: &str,
        requested: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, NetworkError> {
        let mut inner = self.inner();
        let record = inner
            .networks
            .get_mut(network_id)
            .ok_or_else(|| NetworkError::NotFound(network_id.to_string()))?;
        let mut updated = record.clone();
        let address = updated.allocate(container_id, requested)?;
        updated.save_leases(&self.dir)?;
        *record = updated;
        Ok(address)
    }

    fn release(&self, network_id: &str, container_id: &str) {
        let mut inner = self.inner();
        if let Some(record) = inner.networks.get_mut(network_id)
            && record.release(container_id)
            && let Err(e) = record.save_leases(&self.dir)
        {
            tracing::warn!("saving network {}: {e}", record.name);
        }
    }

    fn register(&self, container_id: &str, container_name: &str, endpoint: &Endpoint) {
        let record = {
            let mut inner = self.inner();
            inner.add_live(container_id, container_name, endpoint);
            inner.networks.get(&endpoint.network_id).cloned()
        };
        if let Some(record) = record {
            self.event(&record, "connect", Some(container_id));
        }
    }

    /// Starts the proxy for each bound listener, forwarding to the primary address.
    fn serve(
        &self,
        container_id: &str,
        container_name: &str,
        primary: &Endpoint,
        listeners: Vec<(PortRequest, Listener)>,
    ) -> Result<Vec<BoundPort>, NetworkError> {
        if listeners.is_empty() {
            return Ok(Vec::new());
        }
        let runtime = self.runtime.as_ref().ok_or_else(|| {
            NetworkError::BadInput("the port proxy needs the agent's runtime".into())
        })?;
        let _entered = runtime.enter();
        let mut bound = Vec::new();
        let mut served = Vec::new();
        for (request, listener) in listeners {
            let local = listener.local_addr();
            let target = SocketAddr::new(IpAddr::V4(primary.address), request.container_port);
            bound.push(BoundPort {
                container_port: request.container_port,
                protocol: request.protocol,
                host_ip: local.ip(),
                host_port: local.port(),
            });
            served.push(Served {
                mapping: PortMapping {
                    host_ip: local.ip().to_string(),
                    host_port: local.port(),
                    protocol: request.protocol.to_string(),
                    container_id: container_id.to_string(),
                    container_name: container_name.to_string(),
                    container_port: request.container_port,
                    container_ip: primary.address.to_string(),
                    network: primary.network_name.clone(),
                    served: true,
                    state: "running".to_string(),
                },
                forwarding: listener.serve(target),
            });
        }
        self.inner()
            .served
            .entry(container_id.to_string())
            .or_default()
            .extend(served);
        Ok(bound)
    }

    /// Undoes `attach` (and later connects): stops its ports, frees its addresses, removes
    /// its namespace and interfaces. Best effort: what fails is logged, the rest goes on.
    pub fn detach(&self, container_id: &str, sandbox: &Sandbox) {
        let served = self.inner().served.remove(container_id);
        for s in served.into_iter().flatten() {
            s.forwarding.close();
        }
        for endpoint in &sandbox.endpoints {
            self.forget_endpoint(container_id, endpoint);
        }
        if let Some(netns) = &sandbox.netns
            && let Err(e) = netlink::remove_netns(netns)
        {
            tracing::warn!("removing the network namespace of {container_id}: {e}");
        }
        // With its namespace gone the kernel deletes each veth pair by itself; deleting a
        // link waits ~20 ms on the kernel, so it is done off this path, only for pairs
        // something else still holds.
        let veths: Vec<String> = sandbox
            .endpoints
            .iter()
            .map(|e| e.host_veth.clone())
            .collect();
        if !veths.is_empty() {
            let spawned = std::thread::Builder::new()
                .name("veth-reaper".into())
                .spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    for veth in veths {
                        if netlink::link_exists(&veth).unwrap_or(false)
                            && let Err(e) = netlink::delete_link(&veth)
                        {
                            tracing::warn!("removing {veth}: {e}");
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!("starting the veth reaper: {e}");
            }
        }
    }

    /// Frees an endpoint's address and forgets it (its link is the caller's to remove).
    fn forget_endpoint(&self, container_id: &str, endpoint: &Endpoint) {
        self.release(&endpoint.network_id, container_id);
        let (was_live, record) = {
            let mut inner = self.inner();
            let was_live = inner
                .live
                .get_mut(&endpoint.network_id)
                .and_then(|m| m.remove(container_id))
                .is_some();
            (was_live, inner.networks.get(&endpoint.network_id).cloned())
        };
        if was_live && let Some(record) = record {
            self.event(&record, "disconnect", Some(container_id));
        }
    }

    /// After an agent restart, for a container that kept running: take back its
    /// interfaces and serve its published ports again.
    pub fn restore(&self, container_id: &str, container_name: &str, sandbox: &Sandbox) {
        {
            let mut inner = self.inner();
            for endpoint in &sandbox.endpoints {
                // Leases are written without fsync: a crash may have lost this one.
                if let Some(record) = inner.networks.get_mut(&endpoint.network_id)
                    && record.leases.get(&endpoint.address).map(String::as_str)
                        != Some(container_id)
                {
                    record
                        .leases
                        .insert(endpoint.address, container_id.to_string());
                    if let Err(e) = record.save_leases(&self.dir) {
                        tracing::warn!("saving network {}: {e}", record.name);
                    }
                }
                inner.add_live(container_id, container_name, endpoint);
            }
        }
        let Some(primary) = sandbox.primary() else {
            return;
        };
        let mut listeners = Vec::new();
        for port in &sandbox.ports {
            match Listener::bind(SocketAddr::new(port.host_ip, port.host_port), port.protocol) {
                Ok(l) => listeners.push((
                    PortRequest {
                        container_port: port.container_port,
                        protocol: port.protocol,
                        host_ip: Some(port.host_ip),
                        host_ports: (port.host_port, port.host_port),
                    },
                    l,
                )),
                Err(e) => tracing::warn!("re-opening a published port of {container_id}: {e}"),
            }
        }
        if let Err(e) = self.serve(container_id, container_name, primary, listeners) {
            tracing::warn!("serving the published ports of {container_id}: {e}");
        }
    }

    /// `docker network connect` of a running container: one more interface.
    pub fn connect_live(
        &self,
        container_id: &str,
        container_name: &str,
        sandbox: &Sandbox,
        wanted: &EndpointRequest,
    ) -> Result<Endpoint, NetworkError> {
        let record = self.find(&wanted.network)?;
        if !record.is_bridge() {
            return Err(NetworkError::BadInput(format!(
                "container cannot be connected to network {} (driver {})",
                record.name, record.driver
            )));
        }
        let netns = sandbox.netns.as_ref().ok_or_else(|| {
            NetworkError::BadInput(
                "container sharing the host's or another container's network namespace, or on network none, cannot be connected to other networks".into(),
            )
        })?;
        if sandbox.endpoints.iter().any(|e| e.network_id == record.id) {
            return Err(NetworkError::Forbidden(format!(
                "endpoint with name {container_name} already exists in network {}",
                record.name
            )));
        }
        let ifname = (0..)
            .map(|i| format!("eth{i}"))
            .find(|name| !sandbox.endpoints.iter().any(|e| &e.ifname == name))
            .unwrap_or_else(|| "eth9".into());
        let primary = sandbox.endpoints.is_empty();
        let endpoint = self.add_endpoint(container_id, &record, wanted, &ifname, primary, netns)?;
        self.register(container_id, container_name, &endpoint);
        Ok(endpoint)
    }

    /// `docker network disconnect` of a running container.
    pub fn disconnect_live(&self, container_id: &str, sandbox: &Sandbox, network_id: &str) {
        if let Some(endpoint) = sandbox
            .endpoints
            .iter()
            .find(|e| e.network_id == network_id)
        {
            if let Some(netns) = &sandbox.netns
                && let Err(e) = netlink::delete_link_in(netns, &endpoint.ifname)
            {
                tracing::warn!("removing {} of {container_id}: {e}", endpoint.ifname);
            }
            self.forget_endpoint(container_id, endpoint);
        }
    }

    /// Refuses published host ports that are taken now (at create, so `docker run` fails
    /// before anything is made). Ranges and kernel-picked ports are settled at start.
    pub fn check_ports(&self, requests: &[PortRequest]) -> Result<(), NetworkError> {
        let fixed: Vec<PortRequest> = requests.iter().filter(|r| r.is_fixed()).cloned().collect();
        bind_all(&fixed).map(drop)
    }

    /// Names other containers resolve to, for `container_id`'s /etc/hosts: everyone else
    /// on the user-defined networks it is on.
    pub fn peers(&self, container_id: &str) -> Vec<(Ipv4Addr, Vec<String>)> {
        let inner = self.inner();
        let mut out: Vec<(Ipv4Addr, Vec<String>)> = Vec::new();
        for (network_id, members) in &inner.live {
            let user_defined = inner.networks.get(network_id).is_some_and(|n| !n.builtin);
            if !user_defined || !members.contains_key(container_id) {
                continue;
            }
            for (id, member) in members {
                if id == container_id {
                    continue;
                }
                let mut names = vec![member.container_name.clone()];
                names.extend(member.endpoint.aliases.iter().cloned());
                names.push(id[..12.min(id.len())].to_string());
                out.push((member.endpoint.address, names));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Containers sharing a user-defined network with `container_id` now.
    pub fn neighbours(&self, container_id: &str) -> Vec<String> {
        let inner = self.inner();
        let mut out: Vec<String> = inner
            .live
            .iter()
            .filter(|(network_id, members)| {
                members.contains_key(container_id)
                    && inner.networks.get(*network_id).is_some_and(|n| !n.builtin)
            })
            .flat_map(|(_, members)| members.keys().cloned())
            .filter(|id| id != container_id)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every published port being served (`GET /berth/v1/ports`).
    pub fn port_usage(&self) -> PortUsage {
        let mut mappings: Vec<PortMapping> = self
            .inner()
            .served
            .values()
            .flatten()
            .map(|s| s.mapping.clone())
            .collect();
        mappings.sort_by(|a, b| {
            (a.host_port, &a.host_ip, &a.protocol).cmp(&(b.host_port, &b.host_ip, &b.protocol))
        });
        PortUsage {
            mappings,
            conflicts: Vec::new(),
        }
    }

    /// Namespaces of this data root's containers (`known`) that are not running (the agent
    /// died between making one and recording it, or between an exit and its cleanup):
    /// removed at start. Other agents' namespaces may share the directory: left alone.
    pub fn remove_stale_namespaces(&self, known: &HashSet<String>, live: &HashSet<String>) {
        let Ok(entries) = std::fs::read_dir(&self.options.netns_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if known.contains(&name)
                && !live.contains(&name)
                && let Err(e) = netlink::remove_netns(&entry.path())
            {
                tracing::warn!("removing the stale namespace {name}: {e}");
            }
        }
    }

    /// Leases held by containers that are gone or stopped (the agent died before it could
    /// free them): freed at start, once live containers are known.
    pub fn release_all_but(&self, live: &HashSet<String>) {
        let mut inner = self.inner();
        for record in inner.networks.values_mut() {
            let before = record.leases.len();
            record.leases.retain(|_, holder| live.contains(holder));
            if record.leases.len() != before
                && let Err(e) = record.save_leases(&self.dir)
            {
                tracing::warn!("saving network {}: {e}", record.name);
            }
        }
    }
}

fn find_in<'a>(
    networks: &'a BTreeMap<String, NetworkRecord>,
    input: &str,
) -> Result<&'a NetworkRecord, NetworkError> {
    if input.is_empty() {
        return Err(NetworkError::NotFound(String::new()));
    }
    if let Some(record) = networks.get(input) {
        return Ok(record);
    }
    if let Some(record) = networks.values().find(|n| n.name == input) {
        return Ok(record);
    }
    let mut matches = networks.values().filter(|n| n.id.starts_with(input));
    match (matches.next(), matches.next()) {
        (Some(record), None) => Ok(record),
        (Some(_), Some(_)) => Err(NetworkError::BadInput(format!(
            "network {input} is ambiguous: more than one network ID starts with it"
        ))),
        _ => Err(NetworkError::NotFound(input.to_string())),
    }
}

fn new_record(name: &str, driver: &str, builtin: bool) -> Result<NetworkRecord, NetworkError> {
    Ok(NetworkRecord {
        id: hex_secret(32).map_err(|e| NetworkError::io("getrandom", e))?,
        name: name.to_string(),
        driver: driver.to_string(),
        created: crate::util::clock::rfc3339(std::time::SystemTime::now()),
        builtin,
        bridge: None,
        subnet: None,
        gateway: None,
        internal: false,
        attachable: false,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        leases: BTreeMap::new(),
        last_allocated: None,
    })
}

/// Docker's rule for network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, and not a pre-defined one.
fn validate_name(name: &str) -> Result<(), NetworkError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 128;
    if !valid {
        return Err(NetworkError::BadInput(format!(
            "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    if matches!(name, "bridge" | "host" | "none" | "default") {
        return Err(NetworkError::Forbidden(format!(
            "{name} is a pre-defined network and cannot be created"
        )));
    }
    Ok(())
}

/// Binds every published port (all or nothing).
fn bind_all(requests: &[PortRequest]) -> Result<Vec<(PortRequest, Listener)>, NetworkError> {
    let mut out = Vec::new();
    for request in requests {
        for listener in bind_one(request)? {
            out.push((request.clone(), listener));
        }
    }
    Ok(out)
}

/// One published port: on its address, or on 0.0.0.0 and :: alike (the IPv6 side is
/// skipped if the host cannot have it); the first free port of a range.
fn bind_one(request: &PortRequest) -> Result<Vec<Listener>, ProxyError> {
    let (low, high) = request.host_ports;
    let mut last_error = None;
    for port in low..=high {
        match bind_port(request.host_ip, port, request.protocol) {
            Ok(listeners) => return Ok(listeners),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or(ProxyError::PortAllocated {
        addr: SocketAddr::new(
            request.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            low,
        ),
    }))
}

fn bind_port(
    host_ip: Option<IpAddr>,
    port: u16,
    protocol: Protocol,
) -> Result<Vec<Listener>, ProxyError> {
    match host_ip {
        Some(ip) => Ok(vec![Listener::bind(SocketAddr::new(ip, port), protocol)?]),
        None => {
            let v4 = Listener::bind(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                protocol,
            )?;
            let chosen = v4.local_addr().port();
            let mut out = vec![v4];
            match Listener::bind(
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), chosen),
                protocol,
            ) {
                Ok(v6) => out.push(v6),
                Err(ProxyError::PortAllocated { .. }) if port != 0 => {
                    return Err(ProxyError::PortAllocated {
                        addr: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), chosen),
                    });
                }
                Err(e) => tracing::debug!("published port {chosen} on IPv4 only: {e}"),
            }
            Ok(out)
        }
    }
}
