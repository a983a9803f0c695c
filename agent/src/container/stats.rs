//! `docker stats` and `docker top`: a container's cgroup numbers in Docker's shapes, and
//! its processes from /proc.

use super::ContainerError;
use super::service::{Container, Containers};
use crate::runtime::cgroups::stats::CgroupStats;
use serde_json::{Value, json};
use shared::live::StatsSample;
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
    for (name, f) in interface_counters(pid) {
        out.insert(
            name,
            json!({
                "rx_bytes": f[0], "rx_packets": f[1], "rx_errors": f[2], "rx_dropped": f[3],
                "tx_bytes": f[8], "tx_packets": f[9], "tx_errors": f[10], "tx_dropped": f[11],
            }),
        );
    }
    Value::Object(out)
}

/// Each interface of `/proc/<pid>/net/dev` with its 16 counters (bytes, packets, errors,
/// … received, then sent).
fn interface_counters(pid: i32) -> Vec<(String, Vec<u64>)> {
    if pid <= 0 {
        return Vec::new();
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    parse_net_dev(&text)
}

fn parse_net_dev(text: &str) -> Vec<(String, Vec<u64>)> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (f.len() >= 16).then(|| (name.trim().to_string(), f))
        })
        .collect()
}

/// Memory in use without the inactive page cache, as `docker stats` shows it.
fn memory_used(s: &CgroupStats) -> u64 {
    let cache = ["total_inactive_file", "inactive_file"]
        .iter()
        .filter_map(|k| s.memory_stats.get(*k))
        .max()
        .copied()
        .unwrap_or(0);
    s.memory_usage.saturating_sub(cache)
}

/// The dashboard's compact sample (WebSocket topic `stats`) of `now`, with CPU use since
/// `previous` computed as `docker stats` does (0 without one).
pub fn live_sample(pid: i32, now: &CgroupStats, previous: Option<&CgroupStats>) -> StatsSample {
    let cpu_percent = previous.map_or(0.0, |p| {
        let cpu = now.cpu_total_ns.saturating_sub(p.cpu_total_ns);
        let system = now.system_cpu_ns.saturating_sub(p.system_cpu_ns);
        if system == 0 {
            0.0
        } else {
            cpu as f64 / system as f64 * f64::from(now.online_cpus.max(1)) * 100.0
        }
    });
    let (mut net_rx, mut net_tx) = (0, 0);
    for (name, f) in interface_counters(pid) {
        if name != "lo" {
            net_rx += f[0];
            net_tx += f[8];
        }
    }
    let block = |op: &str| {
        now.blkio
            .iter()
            .filter(|b| b.op == op)
            .map(|b| b.value)
            .sum()
    };
    StatsSample {
        time_ms: crate::util::clock::now_nanos().max(0) as u64 / 1_000_000,
        cpu_percent,
        memory_used: memory_used(now),
        memory_limit: now.memory_limit,
        net_rx,
        net_tx,
        block_read: block("read"),
        block_write: block("write"),
        pids: now.pids_current,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_and_memory() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 300 3 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n";
        let parsed = parse_net_dev(text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            (parsed[1].0.as_str(), parsed[1].1[0], parsed[1].1[8]),
            ("eth0", 300, 200)
        );
        let mut s = CgroupStats {
            memory_usage: 1000,
            ..Default::default()
        };
        s.memory_stats.insert("total_inactive_file".into(), 300);
        assert_eq!(memory_used(&s), 700);
        let sample = live_sample(0, &s, None);
        assert_eq!((sample.memory_used, sample.cpu_percent), (700, 0.0));
        let before = CgroupStats {
            cpu_total_ns: 0,
            system_cpu_ns: 0,
            ..Default::default()
        };
        let after = CgroupStats {
            cpu_total_ns: 500,
            system_cpu_ns: 2000,
            online_cpus: 2,
            ..Default::default()
        };
        assert!((live_sample(0, &after, Some(&before)).cpu_percent - 50.0).abs() < 1e-9);
    }
}
