//! Facts about one host, as the Hosts page shows them.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HostFacts {
    /// Hostname.
    pub name: String,
    pub agent_version: String,
    pub api_version: String,
    pub kernel: String,
    pub operating_system: String,
    pub arch: String,
    pub cpus: u32,
    /// Bytes.
    pub mem_total: u64,
    /// Bytes.
    pub mem_available: u64,
    /// "1" or "2": the cgroup hierarchy Berth drives.
    pub cgroup_version: String,
    pub cgroup_driver: String,
    pub storage_driver: String,
    pub data_root: String,
    pub containers: u64,
    pub containers_running: u64,
    pub images: u64,
    pub uptime_secs: u64,
    pub load: [f64; 3],
    /// Share of all CPUs busy since the previous report, 0–100.
    #[serde(default)]
    pub cpu_percent: f64,
    /// Bytes of extracted image layers on disk.
    #[serde(default)]
    pub images_size: u64,
    /// Bytes of containers' own files (writable layers, logs, state), refreshed now and then.
    #[serde(default)]
    pub containers_size: u64,
    /// Unix seconds when these facts were read.
    pub time: i64,
}
