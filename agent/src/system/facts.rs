//! Reads the host's facts from the kernel (`uname`, `/proc`, `/etc/os-release`).

use super::cgroups::{self, CgroupMode};
use crate::util::clock::now_secs;
use shared::host::HostFacts;
use std::path::Path;

/// One CPU meter for the process: every report reads the same deltas.
static CPU: super::usage::CpuMeter = super::usage::CpuMeter::new();

/// What the engine counts itself; the rest is read from the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub containers: u64,
    pub containers_running: u64,
    pub images: u64,
}

/// Facts that do not change while the agent runs.
#[derive(Clone, Debug)]
pub struct StaticFacts {
    pub name: String,
    pub kernel: String,
    pub operating_system: String,
    pub arch: String,
    pub cpus: u32,
    pub cgroup: CgroupMode,
}

impl StaticFacts {
    pub fn read() -> Self {
        let uname = rustix::system::uname();
        StaticFacts {
            name: uname.nodename().to_string_lossy().into_owned(),
            kernel: uname.release().to_string_lossy().into_owned(),
            operating_system: os_release_name(Path::new("/etc/os-release"))
                .unwrap_or_else(|| "Linux".to_string()),
            arch: std::env::consts::ARCH.to_string(),
            cpus: std::thread::available_parallelism()
                .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
                .unwrap_or(1),
            cgroup: cgroups::detect(Path::new("/sys/fs/cgroup")),
        }
    }
}

/// Docker's name for an architecture (`x86_64` → `amd64`).
pub fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

pub fn read(stat: &StaticFacts, data_root: &Path, inventory: Inventory) -> HostFacts {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    HostFacts {
        name: stat.name.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        api_version: shared::API_VERSION.to_string(),
        kernel: stat.kernel.clone(),
        operating_system: stat.operating_system.clone(),
        arch: stat.arch.clone(),
        cpus: stat.cpus,
        mem_total: meminfo_bytes(&meminfo, "MemTotal").unwrap_or(0),
        mem_available: meminfo_bytes(&meminfo, "MemAvailable").unwrap_or(0),
        cgroup_version: stat.cgroup.version().to_string(),
        cgroup_driver: "cgroupfs".to_string(),
        // The engine fills in the driver its containers use.
        storage_driver: String::new(),
        data_root: data_root.display().to_string(),
        containers: inventory.containers,
        containers_running: inventory.containers_running,
        images: inventory.images,
        uptime_secs: std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|s| parse_uptime(&s))
            .unwrap_or(0),
        load: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| parse_loadavg(&s))
            .unwrap_or([0.0; 3]),
        cpu_percent: CPU.percent(),
        // The engine fills in what its store and containers take.
        images_size: 0,
        containers_size: 0,
        time: now_secs(),
    }
}

/// `PRETTY_NAME` from an os-release file.
fn os_release_name(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim_matches('"').to_string())
    })
}

/// A `Key:   123 kB` line of /proc/meminfo, in bytes.
fn meminfo_bytes(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

fn parse_uptime(text: &str) -> Option<u64> {
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(secs as u64)
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(meminfo_bytes(meminfo, "MemTotal"), Some(24576000 * 1024));
        assert_eq!(meminfo_bytes(meminfo, "MemAvailable"), Some(2048 * 1024));
        assert_eq!(meminfo_bytes(meminfo, "Mem"), None);
        assert_eq!(parse_uptime("350735.47 234388.90\n"), Some(350735));
        assert_eq!(
            parse_loadavg("0.20 0.18 0.12 1/80 11206\n"),
            Some([0.2, 0.18, 0.12])
        );
        assert_eq!(parse_loadavg("garbage"), None);
    }

    #[test]
    fn reads_this_host() {
        let stat = StaticFacts::read();
        let facts = read(&stat, Path::new("/var/lib/berth"), Inventory::default());
        assert!(!facts.kernel.is_empty());
        assert!(facts.cpus >= 1);
        assert!(facts.mem_total > 0);
    }
}
