//! cgroup v2: one directory in the unified hierarchy.
//!
//! Device control on v2 needs an eBPF program attached to the cgroup
//! (BPF_CGROUP_DEVICE); Berth does not do that yet, so v2 containers get no device
//! rules from the cgroup (the container's /dev holds only the standard nodes anyway).

use super::stats::{self, CgroupStats};
use super::{
    CgroupError, Resources, Result, mkdir, read, read_opt, read_pids, rmdir, wait_until, write,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);
/// Controllers enabled for containers, where the host offers them.
const WANTED: &[&str] = &["cpu", "cpuset", "memory", "pids", "io"];

#[derive(Clone, Debug)]
pub(super) struct V2Cgroup {
    dir: PathBuf,
}

impl V2Cgroup {
    pub(super) fn create(root: &Path, parent: &str, id: &str, res: &Resources) -> Result<Self> {
        let mut dir = root.to_path_buf();
        let comps: Vec<&str> = parent.split('/').chain([id]).collect();
        for comp in &comps {
            enable_controllers(&dir);
            dir.push(comp);
            mkdir(&dir)?;
        }
        let cg = V2Cgroup { dir };
        if let Err(e) = cg.update(res) {
            let _ = cg.remove_dirs();
            return Err(e);
        }
        Ok(cg)
    }

    pub(super) fn open(root: &Path, parent: &str, id: &str) -> Option<Self> {
        let dir = root.join(parent).join(id);
        dir.is_dir().then_some(V2Cgroup { dir })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(super) fn procs_files(&self) -> Vec<PathBuf> {
        vec![self.file("cgroup.procs")]
    }

    pub(super) fn update(&self, res: &Resources) -> Result<()> {
        let res = &res.normalized();
        if let Some(m) = res.memory {
            write(&self.file("memory.max"), &max_or(m))?;
        }
        if let Some(total) = res.memory_swap {
            // Docker's --memory-swap is memory + swap; v2 limits swap alone.
            let swap = if total < 0 {
                "max".to_string()
            } else {
                let mem = match res.memory {
                    Some(m) => Some(m),
                    None => read_opt(&self.file("memory.max")).and_then(|t| t.trim().parse().ok()),
                };
                match mem {
                    Some(m) if m > 0 => (total - m).max(0).to_string(),
                    _ => "max".to_string(),
                }
            };
            let file = self.file("memory.swap.max");
            // No memory.swap.max without swap accounting: ignored as on v1.
            if file.exists() {
                write(&file, &swap)?;
            }
        }
        if let Some(r) = res.memory_reservation {
            write(&self.file("memory.low"), &r.max(0).to_string())?;
        }
        if let Some(shares) = res.cpu_shares.filter(|s| *s > 0) {
            write(
                &self.file("cpu.weight"),
                &shares_to_weight(shares).to_string(),
            )?;
        }
        let (period, quota) = res.cfs();
        let quota_text = |q: i64| {
            if q <= 0 {
                "max".to_string()
            } else {
                q.to_string()
            }
        };
        match (period, quota) {
            (Some(p), Some(q)) => write(&self.file("cpu.max"), &format!("{} {p}", quota_text(q)))?,
            (None, Some(q)) => write(&self.file("cpu.max"), &quota_text(q))?,
            (Some(p), None) => {
                let file = self.file("cpu.max");
                let current = read(&file, "read")?;
                let q = current
                    .split_whitespace()
                    .next()
                    .unwrap_or("max")
                    .to_string();
                write(&file, &format!("{q} {p}"))?;
            }
            (None, None) => {}
        }
        if let Some(cpus) = res.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
            write(&self.file("cpuset.cpus"), cpus)?;
        }
        if let Some(mems) = res.cpuset_mems.as_deref().filter(|s| !s.is_empty()) {
            write(&self.file("cpuset.mems"), mems)?;
        }
        if let Some(limit) = res.pids_limit {
            write(&self.file("pids.max"), &max_or(limit))?;
        }
        if let Some(w) = res.blkio_weight {
            // io.weight exists with the iocost controller, io.bfq.weight with BFQ; neither
            // is guaranteed, and then the weight is skipped.
            if self.file("io.weight").exists() {
                write(&self.file("io.weight"), &blkio_to_io_weight(w).to_string())?;
            } else if self.file("io.bfq.weight").exists() {
                write(&self.file("io.bfq.weight"), &w.to_string())?;
            }
        }
        Ok(())
    }

    pub(super) fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    pub(super) fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let want = if frozen { "1" } else { "0" };
        write(&self.file("cgroup.freeze"), want)?;
        let events = self.file("cgroup.events");
        let start = Instant::now();
        if wait_until(FREEZE_TIMEOUT, || self.events_frozen() == Some(frozen)) {
            return Ok(());
        }
        if frozen {
            let _ = write(&self.file("cgroup.freeze"), "0");
        }
        Err(CgroupError::Timeout {
            op: if frozen { "freeze" } else { "thaw" },
            path: events,
            waited: start.elapsed(),
            detail: format!("cgroup.events never showed frozen {want}"),
        })
    }

    fn events_frozen(&self) -> Option<bool> {
        let t = read_opt(&self.file("cgroup.events"))?;
        stats::parse_flat_keyed(&t).get("frozen").map(|v| *v == 1)
    }

    pub(super) fn is_frozen(&self) -> bool {
        self.events_frozen() == Some(true)
    }

    pub(super) fn pids(&self) -> Vec<i32> {
        read_pids(&self.file("cgroup.procs"))
    }

    /// cgroup.kill (Linux 5.14+) kills the whole cgroup at once, racing no fork.
    pub(super) fn kill_everything(&self) {
        let f = self.file("cgroup.kill");
        if f.exists() {
            let _ = write(&f, "1");
        }
    }

    pub(super) fn oom_kill_count(&self) -> u64 {
        read_opt(&self.file("memory.events"))
            .and_then(|t| stats::parse_flat_keyed(&t).get("oom_kill").copied())
            .unwrap_or(0)
    }

    /// CPU time and memory in use (without the inactive page cache), from three files.
    pub(super) fn usage(&self) -> (u64, u64) {
        let file = |name: &str| read_opt(&self.file(name));
        let cpu = file("cpu.stat")
            .map(|t| stats::keyed_value(&t, "usage_usec") * 1000)
            .unwrap_or(0);
        let memory = file("memory.current")
            .and_then(|t| stats::parse_u64(&t))
            .unwrap_or(0);
        let cache = file("memory.stat")
            .map(|t| stats::keyed_value(&t, "inactive_file"))
            .unwrap_or(0);
        (cpu, memory.saturating_sub(cache))
    }

    pub(super) fn stats(&self) -> CgroupStats {
        let mut s = CgroupStats::default();
        let file = |name: &str| read_opt(&self.file(name));
        let num = |name: &str| file(name).and_then(|t| stats::parse_u64(&t));
        (s.cpu_total_ns, s.cpu_user_ns, s.cpu_system_ns) = file("cpu.stat")
            .map(|t| stats::parse_cpu_stat_v2(&t))
            .unwrap_or((0, 0, 0));
        s.memory_usage = num("memory.current").unwrap_or(0);
        s.memory_max_usage = num("memory.peak").unwrap_or(0);
        s.memory_limit = stats::clamp_memory_limit(num("memory.max"), super::host_mem_total());
        s.memory_stats = file("memory.stat")
            .map(|t| stats::parse_flat_keyed(&t))
            .unwrap_or_default();
        s.pids_current = num("pids.current").unwrap_or(0);
        s.pids_limit = file("pids.max")
            .map(|t| stats::parse_limit(&t))
            .unwrap_or(0);
        s.blkio = file("io.stat")
            .map(|t| stats::parse_io_stat_v2(&t))
            .unwrap_or_default();
        s
    }

    pub(super) fn remove_dirs(&self) -> Result<()> {
        rmdir(&self.dir)
    }
}

/// Enables the wanted controllers the host offers in `dir`'s cgroup.subtree_control, one
/// by one; one the kernel refuses is skipped here and surfaces as a missing file when a
/// limit needs it.
fn enable_controllers(dir: &Path) {
    let available = read_opt(&dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = read_opt(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    for c in WANTED {
        let has = |t: &str| t.split_whitespace().any(|x| x == *c);
        if has(&available)
            && !has(&enabled)
            && let Err(e) = write(&dir.join("cgroup.subtree_control"), &format!("+{c}"))
        {
            tracing::warn!("{e}");
        }
    }
}

fn max_or(v: i64) -> String {
    if v <= 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// cpu.shares (2..262144) → cpu.weight (1..10000), as runc converts.
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// blkio.weight (10..1000) → io.weight (1..10000), as runc converts.
pub(super) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = w.clamp(10, 1000) as u64;
    1 + (w - 10) * 9999 / 990
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(max_or(-1), "max");
        assert_eq!(max_or(0), "max");
        assert_eq!(max_or(5), "5");
    }
}
