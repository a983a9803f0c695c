//! The container service's side of networking: joining networks at start, leaving them at
//! exit, keeping /etc/hosts of containers on user-defined networks current, and
//! `docker network connect/disconnect`.

use super::ContainerError;
use super::config::CreateRequest;
use super::networking::{self, Plan};
use super::record::ContainerRecord;
use super::runtime_spec::{self, HostsEntries};
use super::service::{Container, Containers};
use crate::network::{AttachRequest, NetworkError, ports};
use crate::runtime::spec::NetworkNamespace;
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

impl Containers {
    /// At create: the networks named must exist, and fixed host ports must be free, so
    /// `docker run` fails before anything is made.
    pub(super) fn check_create_networking(
        &self,
        request: &CreateRequest,
    ) -> Result<(), ContainerError> {
        let mode = networking::normalise_mode(&request.host_config.network_mode);
        let mut names: Vec<String> = Vec::new();
        if !mode.starts_with("container:") {
            names.push(mode.clone());
        }
        if let Some(endpoints) = request
            .networking_raw
            .get("EndpointsConfig")
            .and_then(Value::as_object)
        {
            names.extend(endpoints.keys().map(|k| networking::normalise_mode(k)));
        }
        for name in &names {
            // 400, not 404: the docker CLI takes a 404 from create for a missing image
            // and would try to pull it.
            let network = self.networks.find(name).map_err(|e| match e {
                NetworkError::NotFound(_) => ContainerError::BadInput(e.to_string()),
                other => other.into(),
            })?;
            if (network.name == "host" || network.name == "none") && names.len() > 1 {
                return Err(ContainerError::BadInput(format!(
                    "container cannot be connected to network {} together with other networks",
                    network.name
                )));
            }
        }
        if mode == "host" || mode == "none" || mode.starts_with("container:") {
            return Ok(());
        }
        let requests = ports::requests(request.host_config.port_bindings.as_ref(), &[], false)?;
        self.networks.check_ports(&requests)?;
        Ok(())
    }

    /// At start: the namespace the container joins, and what its /etc/hosts names.
    pub(super) async fn prepare_network(
        &self,
        container: &Arc<Container>,
        record: &ContainerRecord,
    ) -> Result<(NetworkNamespace, HostsEntries), ContainerError> {
        match networking::plan(record) {
            Plan::Host => Ok((NetworkNamespace::Host, HostsEntries::default())),
            Plan::Loopback => Ok((NetworkNamespace::New, HostsEntries::default())),
            Plan::Container(target) => {
                let target = self.find(&target)?.snapshot();
                if !target.state.status.is_live() {
                    return Err(ContainerError::Conflict(format!(
                        "cannot join the network of a non running container: {}",
                        target.name
                    )));
                }
                if networking::plan(&target) == Plan::Host {
                    return Ok((NetworkNamespace::Host, HostsEntries::default()));
                }
                let path =
                    target.sandbox.netns.clone().unwrap_or_else(|| {
                        PathBuf::from(format!("/proc/{}/ns/net", target.state.pid))
                    });
                let hosts = HostsEntries {
                    own_address: target.sandbox.primary().map(|e| e.address),
                    peers: self.networks.peers(&target.id),
                };
                Ok((NetworkNamespace::Join { path }, hosts))
            }
            Plan::Attach(endpoints) => {
                let request = AttachRequest {
                    container_id: record.id.clone(),
                    container_name: record.name.clone(),
                    networks: endpoints,
                    ports: networking::port_requests(record)?,
                };
                let networks = self.networks.clone();
                let sandbox = tokio::task::spawn_blocking(move || networks.attach(&request))
                    .await
                    .map_err(|e| ContainerError::Runtime(format!("network setup: {e}")))??;
                let netns = sandbox.netns.clone();
                let hosts = HostsEntries {
                    own_address: sandbox.primary().map(|e| e.address),
                    peers: self.networks.peers(&record.id),
                };
                // Written with the Running state; a crash before that leaves a namespace
                // that the next start finds and removes (`recover_networks`).
                container.update_unsaved(|r| r.sandbox = sandbox);
                let path = netns.ok_or_else(|| {
                    ContainerError::Runtime("network setup made no namespace".into())
                })?;
                Ok((NetworkNamespace::Join { path }, hosts))
            }
        }
    }

    /// Leaves every network (after an exit, a failed start, a removal). Blocking.
    pub(super) fn release_network(&self, container: &Container) {
        let record = container.snapshot();
        if record.sandbox.is_empty() {
            return;
        }
        let neighbours = self.networks.neighbours(&record.id);
        self.networks.detach(&record.id, &record.sandbox);
        // Not waited for on disk: a stale sandbox in a stopped container's record is
        // detached again (harmlessly) at the next start.
        container.update_unsaved(|r| r.sandbox = Default::default());
        for id in neighbours {
            self.refresh_hosts(&id);
        }
    }

    /// Rewrites the /etc/hosts of the containers sharing a user-defined network with `id`.
    pub(super) fn refresh_neighbours(&self, id: &str) {
        for neighbour in self.networks.neighbours(id) {
            self.refresh_hosts(&neighbour);
        }
    }

    fn refresh_hosts(&self, id: &str) {
        let Ok(container) = self.find(id) else {
            return;
        };
        let record = container.snapshot();
        if !record.state.status.is_live() || record.sandbox.netns.is_none() {
            return;
        }
        let entries = HostsEntries {
            own_address: record.sandbox.primary().map(|e| e.address),
            peers: self.networks.peers(id),
        };
        if let Err(e) = runtime_spec::rewrite_hosts(container.dir(), &record, &entries) {
            tracing::warn!("updating /etc/hosts of {id}: {e}");
        }
    }

    /// At agent start: running containers get their interfaces and ports back; the
    /// network leftovers of stopped ones (an agent killed mid-exit) are removed.
    pub(super) fn recover_networks(&self, live: &[Arc<Container>]) {
        let live_ids: HashSet<String> = live.iter().map(|c| c.id.clone()).collect();
        let all = self.all();
        for container in &all {
            let record = container.snapshot();
            if record.sandbox.is_empty() {
                continue;
            }
            if live_ids.contains(&record.id) {
                self.networks
                    .restore(&record.id, &record.name, &record.sandbox);
            } else {
                self.networks.detach(&record.id, &record.sandbox);
                let _ = container.update(|r| r.sandbox = Default::default());
            }
        }
        self.networks.release_all_but(&live_ids);
        let known: HashSet<String> = all.iter().map(|c| c.id.clone()).collect();
        self.networks.remove_stale_namespaces(&known, &live_ids);
    }

    /// `POST /networks/{id}/connect`.
    pub async fn connect_network(
        &self,
        network: &str,
        input: &str,
        endpoint: Value,
    ) -> Result<(), ContainerError> {
        let network = self.networks.find(network)?;
        let container = self.find(input)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        let plan = networking::plan(&record);
        if matches!(plan, Plan::Host | Plan::Container(_)) || network.name == "host" {
            return Err(ContainerError::BadInput(
                "container sharing the host's or another container's network namespace cannot be connected to another network".into(),
            ));
        }
        if networking::configured_networks(&record).contains(&network.name) {
            return Err(ContainerError::Conflict(format!(
                "endpoint with name {} already exists in network {}",
                record.name, network.name
            )));
        }
        if record.state.status.is_live() {
            let wanted = networking::endpoint_request(&network.id, &endpoint);
            let networks = self.networks.clone();
            let sandbox = record.sandbox.clone();
            let (id, name) = (record.id.clone(), record.name.clone());
            let added = tokio::task::spawn_blocking(move || {
                networks.connect_live(&id, &name, &sandbox, &wanted)
            })
            .await
            .map_err(|e| ContainerError::Runtime(format!("network connect: {e}")))??;
            container.update(|r| r.sandbox.endpoints.push(added))?;
        }
        container.update(|r| networking::add_network(r, &network.name, endpoint))?;
        self.refresh_hosts(&record.id);
        self.refresh_neighbours(&record.id);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(
        &self,
        network: &str,
        input: &str,
    ) -> Result<(), ContainerError> {
        let network = self.networks.find(network)?;
        let container = self.find(input)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        if !networking::configured_networks(&record).contains(&network.name) {
            return Err(ContainerError::BadInput(format!(
                "container {} is not connected to network {}",
                record.name, network.name
            )));
        }
        if record.state.status.is_live() {
            let neighbours = self.networks.neighbours(&record.id);
            let networks = self.networks.clone();
            let sandbox = record.sandbox.clone();
            let (id, network_id) = (record.id.clone(), network.id.clone());
            tokio::task::spawn_blocking(move || {
                networks.disconnect_live(&id, &sandbox, &network_id)
            })
            .await
            .map_err(|e| ContainerError::Runtime(format!("network disconnect: {e}")))?;
            container.update(|r| r.sandbox.endpoints.retain(|e| e.network_id != network.id))?;
            for id in neighbours {
                self.refresh_hosts(&id);
            }
            self.refresh_hosts(&record.id);
        }
        container.update(|r| networking::remove_network(r, &network.name))?;
        Ok(())
    }

    /// Networks some container is configured on (IDs and names), for `network prune`.
    pub fn networks_in_use(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for container in self.all() {
            let record = container.snapshot();
            out.extend(networking::configured_networks(&record));
            out.extend(
                record
                    .sandbox
                    .endpoints
                    .iter()
                    .map(|e| e.network_id.clone()),
            );
        }
        out
    }
}
