//! Resource usage of a container's cgroup, and the pure parsers of the kernel's files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Nanoseconds per USER_HZ tick (USER_HZ is 100 on every Linux ABI Berth runs on).
pub const NS_PER_TICK: u64 = 1_000_000_000 / 100;

/// A container's usage, in the units of Docker's stats API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupStats {
    pub cpu_total_ns: u64,
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    /// One entry per CPU (v1 only; empty on v2, which has no per-CPU usage).
    pub percpu_ns: Vec<u64>,
    /// The host's CPU time, from the `cpu` line of /proc/stat, as Docker computes it.
    pub system_cpu_ns: u64,
    pub online_cpus: u32,
    pub memory_usage: u64,
    /// The host's MemTotal when the cgroup has no limit.
    pub memory_limit: u64,
    pub memory_max_usage: u64,
    /// The raw keys of memory.stat.
    pub memory_stats: BTreeMap<String, u64>,
    pub pids_current: u64,
    /// 0 = no limit.
    pub pids_limit: u64,
    pub blkio: Vec<BlkioEntry>,
}

/// Bytes read or written on one block device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// `"read"` or `"write"`.
    pub op: String,
    pub value: u64,
}

/// The value of `key` in a flat keyed file (`memory.stat`, `cpu.stat`), 0 when absent;
/// stops at the key rather than parsing the whole file.
pub fn keyed_value(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

/// A file holding one number (`memory.usage_in_bytes`, `pids.current`); `max` and
/// unparsable contents read as `None`.
pub fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `pids.max`, `memory.max`: `max` (or a missing file) is no limit = 0.
pub fn parse_limit(text: &str) -> u64 {
    parse_u64(text).unwrap_or(0)
}

/// `key value` lines (memory.stat, cpuacct.stat, cpu.stat, memory.events, memory.oom_control).
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(char::is_whitespace)?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// `cpuacct.usage_percpu`: space-separated nanoseconds.
pub fn parse_percpu(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// v1 `cpuacct.stat` (`user 1267041\nsystem 301050`, in USER_HZ ticks) → (user ns, system ns).
pub fn parse_cpuacct_stat(text: &str) -> (u64, u64) {
    let m = parse_flat_keyed(text);
    let get = |k: &str| m.get(k).copied().unwrap_or(0) * NS_PER_TICK;
    (get("user"), get("system"))
}

/// v2 `cpu.stat` (`usage_usec`, `user_usec`, `system_usec`) → (total, user, system) in ns.
pub fn parse_cpu_stat_v2(text: &str) -> (u64, u64, u64) {
    let m = parse_flat_keyed(text);
    let get = |k: &str| m.get(k).copied().unwrap_or(0) * 1000;
    (get("usage_usec"), get("user_usec"), get("system_usec"))
}

/// v1 `blkio.throttle.io_service_bytes`: `8:0 Read 123` lines; only Read and Write are kept.
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f.as_slice() else {
                return None;
            };
            let (major, minor) = parse_dev(dev)?;
            let op = match *op {
                "Read" => "read",
                "Write" => "write",
                _ => return None,
            };
            Some(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 `io.stat`: `8:0 rbytes=123 wbytes=456 rios=1 wios=2 dbytes=0 dios=0` lines.
pub fn parse_io_stat_v2(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((major, minor)) = f.next().and_then(parse_dev) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let op = match k {
                "rbytes" => "read",
                "wbytes" => "write",
                _ => continue,
            };
            if let Ok(value) = v.parse() {
                out.push(BlkioEntry {
                    major,
                    minor,
                    op: op.to_string(),
                    value,
                });
            }
        }
    }
    out
}

fn parse_dev(dev: &str) -> Option<(u64, u64)> {
    let (a, b) = dev.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// /proc/stat → (host CPU time in ns as Docker counts it: user+nice+system+idle+iowait+irq+
/// softirq of the `cpu` line, in ticks × 1e9/USER_HZ; number of `cpuN` lines).
pub fn parse_proc_stat(text: &str) -> (u64, u32) {
    let mut total = 0;
    let mut cpus = 0;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            total = rest
                .split_whitespace()
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
                * NS_PER_TICK;
        } else if l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit) {
            cpus += 1;
        }
    }
    (total, cpus)
}

/// /proc/meminfo's MemTotal in bytes.
pub fn parse_mem_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A memory limit as reported: v1's "unlimited" is a huge number (PAGE_COUNTER_MAX pages),
/// v2's is `max`; both, and anything above the host's memory, become MemTotal.
pub fn clamp_memory_limit(limit: Option<u64>, mem_total: u64) -> u64 {
    match limit {
        Some(l) if mem_total == 0 || l < mem_total => l,
        _ => mem_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_cpu_files() {
        assert_eq!(
            parse_cpuacct_stat("user 1267041\nsystem 301050\n"),
            (12_670_410_000_000, 3_010_500_000_000)
        );
        assert_eq!(
            parse_percpu("7674288778410 8006676666961 \n"),
            vec![7674288778410, 8006676666961]
        );
        assert_eq!(parse_u64("123456789\n"), Some(123456789));
    }

    #[test]
    fn v2_cpu_stat() {
        let text = "usage_usec 8126415\nuser_usec 5238196\nsystem_usec 2888219\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n";
        assert_eq!(
            parse_cpu_stat_v2(text),
            (8_126_415_000, 5_238_196_000, 2_888_219_000)
        );
        assert_eq!(keyed_value(text, "user_usec"), 5_238_196);
        assert_eq!(keyed_value(text, "usage"), 0);
        assert_eq!(keyed_value("inactive_file x\n", "inactive_file"), 0);
    }

    #[test]
    fn memory_stat_and_events() {
        let v1 = "cache 1146880\nrss 462848\nrss_huge 0\nshmem 0\nmapped_file 0\ntotal_cache 1146880\ntotal_rss 462848\nhierarchical_memory_limit 16777216\n";
        let m = parse_flat_keyed(v1);
        assert_eq!(m["rss"], 462848);
        assert_eq!(m["hierarchical_memory_limit"], 16777216);
        let oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(parse_flat_keyed(oom)["oom_kill"], 3);
        let events = "low 0\nhigh 0\nmax 41\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_flat_keyed(events)["oom_kill"], 1);
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("max\n"), 0);
        assert_eq!(parse_limit("100\n"), 100);
        assert_eq!(
            clamp_memory_limit(parse_u64("9223372036854771712\n"), 24 << 30),
            24 << 30
        );
        assert_eq!(clamp_memory_limit(parse_u64("max\n"), 24 << 30), 24 << 30);
        assert_eq!(clamp_memory_limit(Some(16 << 20), 24 << 30), 16 << 20);
    }

    #[test]
    fn blkio_v1() {
        let text = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n253:1 Read 1\nTotal 12289\n";
        let e = parse_blkio_v1(text);
        assert_eq!(
            e,
            vec![
                BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "read".into(),
                    value: 4096
                },
                BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "write".into(),
                    value: 8192
                },
                BlkioEntry {
                    major: 253,
                    minor: 1,
                    op: "read".into(),
                    value: 1
                },
            ]
        );
        assert!(parse_blkio_v1("Total 0\n").is_empty());
    }

    #[test]
    fn io_stat_v2() {
        let text = "259:0 rbytes=1052672 wbytes=4096 rios=39 wios=1 dbytes=0 dios=0\n8:16 rbytes=0 wbytes=512\n";
        let e = parse_io_stat_v2(text);
        assert_eq!(e.len(), 4);
        assert_eq!(
            e[0],
            BlkioEntry {
                major: 259,
                minor: 0,
                op: "read".into(),
                value: 1052672
            }
        );
        assert_eq!(e[1].op, "write");
        assert_eq!(e[1].value, 4096);
        assert_eq!((e[3].major, e[3].minor, e[3].value), (8, 16, 512));
    }

    #[test]
    fn proc_stat_and_meminfo() {
        let text = "cpu  1259107 2700 296104 478658 24577 0 3701 17521 0 0\ncpu0 620708 1348 140982 261440 7031 0 941 8798 0 0\ncpu1 638399 1352 155122 217218 17546 0 2760 8723 0 0\nintr 1 2 3\nctxt 5\n";
        let (total, cpus) = parse_proc_stat(text);
        assert_eq!(
            total,
            (1259107 + 2700 + 296104 + 478658 + 24577 + 3701) * NS_PER_TICK
        );
        assert_eq!(cpus, 2);
        assert_eq!(
            parse_mem_total("MemTotal:       24598412 kB\nMemFree: 1 kB\n"),
            Some(24598412 * 1024)
        );
    }
}
