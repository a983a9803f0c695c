//! `docker run` resource flags (HostConfig) as cgroup limits.

use super::config::HostConfig;
use crate::runtime::cgroups::Resources;

pub fn from_host_config(host: &HostConfig) -> Resources {
    let positive = |v: i64| (v > 0).then_some(v);
    Resources {
        memory: positive(host.memory),
        memory_swap: (host.memory_swap != 0).then_some(host.memory_swap),
        memory_reservation: positive(host.memory_reservation),
        cpu_shares: (host.cpu_shares > 0).then_some(host.cpu_shares as u64),
        nano_cpus: positive(host.nano_cpus),
        cpu_quota: positive(host.cpu_quota),
        cpu_period: (host.cpu_period > 0).then_some(host.cpu_period as u64),
        cpuset_cpus: Some(host.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
        cpuset_mems: Some(host.cpuset_mems.clone()).filter(|s| !s.is_empty()),
        pids_limit: host.pids_limit.filter(|&p| p > 0),
        blkio_weight: (host.blkio_weight > 0).then_some(host.blkio_weight),
    }
}
