//! `docker stats` and `docker top`: a container's cgroup numbers in Docker's shapes, and
//! its processes from /proc.

use super::ContainerError;
use super::service::{Container, Containers};
use crate::runtime::cgroups::stats::CgroupStats;
use serde_json::{Value, json};
use std::time::SystemTime;

/// One stats sample (Docker's `StatsJSON`); `previous` fills `precpu_stats`.
pub fn stats_json(
    container: &Container,
    now: &CgroupStats,
    previous: Option<(&CgroupStats, SystemTime)>,
) -> Value {
    let record = container.snapshot();
    let cpu = |s: &CgroupStats| {
        json!({
            "cpu_usage": {
                "total_usage": s.cpu_total_ns,
                "percpu_usage": s.percpu_ns,
                "usage_in_kernelmode": s.cpu_system_ns,
                "usage_in_usermode": s.cpu_user_ns,
            },
            "system_cpu_usage": s.system_cpu_ns,
            "online_cpus": s.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let (precpu, preread) = match previous {
        Some((p, at)) => (cpu(p), crate::util::clock::rfc3339(at)),
        None => (
            json!({"cpu_usage": {"total_usage": 0}, "throttling_data": {}}),
            super::record::ZERO_TIME.to_string(),
        ),
    };
    let blkio: Vec<Value> = now
        .blkio
        .iter()
        .map(|b| json!({"major": b.major, "minor": b.minor, "op": b.op, "value": b.value}))
        .collect();
    json!({
        "name": format!("/{}", record.name),
        "id": record.id,
        "read": crate::util::clock::rfc3339(SystemTime::now()),
        "preread": preread,
        "pids_stats": {"current": now.pids_current, "limit": now.pids_limit},
        "blkio_stats": {"io_service_bytes_recursive": blkio},
        "num_procs": 0,
        "cpu_stats": cpu(now),
        "precpu_stats": precpu,
        "memory_stats": {
            "usage": now.memory_usage,
            "max_usage": now.memory_max_usage,
            "limit": now.memory_limit,
            "stats": now.memory_stats,
        },
        "networks": network_stats(record.state.pid),
    })
}

/// Interface counters inside the container's network namespace, from the init's
/// `/proc/<pid>/net/dev`.
fn network_stats(pid: i32) -> Value {
    let mut out = serde_json::Map::new();
    if pid <= 0 {
        return Value::Object(out);
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() < 16 {
            continue;
        }
        out.insert(
            name.trim().to_string(),
            json!({
                "rx_bytes": f[0], "rx_packets": f[1], "rx_errors": f[2], "rx_dropped": f[3],
                "tx_bytes": f[8], "tx_packets": f[9], "tx_errors": f[10], "tx_dropped": f[11],
            }),
        );
    }
    Value::Object(out)
}

impl Containers {
    /// The container's cgroup numbers now (an error if it is not running).
    pub fn sample(&self, container: &Container) -> Result<CgroupStats, ContainerError> {
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Ok(CgroupStats::default());
        }
        self.cgroups()
            .open(&record.id)
            .map(|c| c.stats())
            .ok_or_else(|| ContainerError::Runtime(format!("no cgroup for {}", record.id)))
    }

    /// `docker top`: the processes in the container's cgroup, `ps -ef` style.
    pub fn top(&self, input: &str) -> Result<Value, ContainerError> {
        let container = self.find(input)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ContainerError::Conflict(format!(
                "container {} is not running",
                record.id
            )));
        }
        let mut pids = self
            .cgroups()
            .open(&record.id)
            .map(|c| c.pids())
            .unwrap_or_default();
        pids.sort_unstable();
        let processes: Vec<Vec<String>> = pids.iter().filter_map(|&pid| process_row(pid)).collect();
        Ok(json!({
            "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "Processes": processes,
        }))
    }
}

/// One `ps -ef` row from /proc/<pid>.
fn process_row(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ppid = fields.get(1)?.to_string();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let secs = (utime + stime) / 100;
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd = cmdline
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(vec![
        if uid == "0" { "root".into() } else { uid },
        pid.to_string(),
        ppid,
        "0".into(),
        "-".into(),
        "?".into(),
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
        cmd,
    ])
}
