//! `docker update`: new resource limits (and restart policy) for a container, applied to
//! its cgroup at once when it runs and kept for its next start.

use super::ContainerError;
use super::config::RestartPolicy;
use super::service::Containers;
use serde_json::{Map, Value};

/// The keys of `POST /containers/{id}/update` that Berth applies.
const RESOURCE_KEYS: &[&str] = &[
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "CpusetMems",
    "PidsLimit",
    "BlkioWeight",
];

impl Containers {
    /// Merges the set (non-zero) fields of `body` into the container's HostConfig.
    pub fn update(&self, input: &str, body: &Map<String, Value>) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        let mut host = record.host_config.clone();
        for key in RESOURCE_KEYS {
            match body.get(*key) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) if n.as_i64() == Some(0) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(value) => {
                    host.insert(key.to_string(), value.clone());
                }
            }
        }
        if let Some(policy) = body.get("RestartPolicy").filter(|p| !p.is_null()) {
            let parsed: RestartPolicy = serde_json::from_value(policy.clone())
                .map_err(|e| ContainerError::BadInput(format!("invalid RestartPolicy: {e}")))?;
            if !parsed.name.is_empty() {
                parsed.validate()?;
                if record.host_config_typed().auto_remove && parsed.name != "no" {
                    return Err(ContainerError::BadInput(
                        "Restart policy cannot be updated because AutoRemove is enabled for the container".into(),
                    ));
                }
                host.insert("RestartPolicy".into(), policy.clone());
            }
        }
        let typed: super::config::HostConfig = serde_json::from_value(Value::Object(host.clone()))
            .map_err(|e| ContainerError::BadInput(format!("invalid update: {e}")))?;
        if record.state.status.is_live()
            && let Some(cgroup) = self.cgroups().open(&record.id)
        {
            cgroup
                .update(&super::resources::from_host_config(&typed))
                .map_err(|e| {
                    ContainerError::BadInput(format!("Cannot update container {}: {e}", record.id))
                })?;
        }
        container.set_host_config(host)?;
        Ok(())
    }
}
