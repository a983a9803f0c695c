//! cgroup v1: one directory per mounted hierarchy.

use super::devices::{DEFAULT_ALLOWED, DENY_ALL};
use super::mountinfo::V1Mount;
use super::stats::{self, CgroupStats};
use super::{
    CgroupError, Resources, Result, mkdir, read, read_opt, read_pids, rmdir, wait_until, write,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// memory.*limit_in_bytes reads this large or larger when unlimited.
const UNLIMITED_FLOOR: i64 = 1 << 62;
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub(super) struct V1Cgroup {
    /// (controllers of the hierarchy, the container's directory in it)
    dirs: Vec<(Vec<String>, PathBuf)>,
}

impl V1Cgroup {
    pub(super) fn create(
        mounts: &[V1Mount],
        parent: &str,
        id: &str,
        res: &Resources,
        privileged: bool,
    ) -> Result<Self> {
        let mut cg = V1Cgroup { dirs: Vec::new() };
        let made = (|| {
            for m in mounts {
                let cpuset = m.controllers.iter().any(|c| c == "cpuset");
                let mut dir = m.mount_point.clone();
                let comps: Vec<&str> = parent.split('/').chain([id]).collect();
                for (i, comp) in comps.iter().enumerate() {
                    let up = dir.clone();
                    dir.push(comp);
                    mkdir(&dir)?;
                    if i + 1 == comps.len() {
                        cg.dirs.push((m.controllers.clone(), dir.clone()));
                    }
                    if cpuset {
                        // A new v1 cpuset cgroup starts with empty cpus/mems; joining it
                        // would fail with ENOSPC.
                        inherit_cpuset(&up, &dir)?;
                    }
                }
            }
            if !privileged && let Some(dev) = cg.dir("devices") {
                write(&dev.join("devices.deny"), DENY_ALL)?;
                for rule in DEFAULT_ALLOWED {
                    write(&dev.join("devices.allow"), &rule.to_string())?;
                }
            }
            cg.update(res)
        })();
        match made {
            Ok(()) => Ok(cg),
            Err(e) => {
                let _ = cg.remove_dirs();
                Err(e)
            }
        }
    }

    pub(super) fn open(mounts: &[V1Mount], parent: &str, id: &str) -> Option<Self> {
        let dirs: Vec<(Vec<String>, PathBuf)> = mounts
            .iter()
            .map(|m| (m.controllers.clone(), m.mount_point.join(parent).join(id)))
            .filter(|(_, d)| d.is_dir())
            .collect();
        (!dirs.is_empty()).then_some(V1Cgroup { dirs })
    }

    /// The container's directory in the hierarchy holding `controller`.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c.iter().any(|c| c == controller))
            .map(|(_, d)| d.as_path())
    }

    fn require(&self, controller: &str) -> Result<&Path> {
        self.dir(controller).ok_or_else(|| CgroupError::Invalid {
            path: self
                .dirs
                .first()
                .map(|(_, d)| d.clone())
                .unwrap_or_default(),
            reason: format!("no {controller} hierarchy is mounted"),
        })
    }

    pub(super) fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|(_, d)| d.join("cgroup.procs"))
            .collect()
    }

    pub(super) fn update(&self, res: &Resources) -> Result<()> {
        let res = &res.normalized();
        if let Some(mem) = self.dir("memory") {
            let limit = mem.join("memory.limit_in_bytes");
            let memsw = mem.join("memory.memsw.limit_in_bytes");
            // Without swap accounting (no memsw file) --memory-swap cannot be enforced and
            // is ignored, as Docker does with a warning.
            if memsw.exists() && (res.memory.is_some() || res.memory_swap.is_some()) {
                // The kernel keeps memory <= memsw at every step: lift memsw out of the way,
                // set memory, then set memsw (the requested value, or the old one back).
                let old = read(&memsw, "read")?
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v < UNLIMITED_FLOOR);
                if let (Some(m), None, Some(o)) = (res.memory, res.memory_swap, old)
                    && (m <= 0 || m > o)
                {
                    // As Docker: the swap limit must be updated along with the memory.
                    return Err(CgroupError::Invalid {
                        path: memsw,
                        reason: format!(
                            "memory limit {m} exceeds the memory+swap limit {o}; set memory_swap too"
                        ),
                    });
                }
                write(&memsw, "-1")?;
                if let Some(m) = res.memory {
                    write(&limit, &m.to_string())?;
                }
                match res.memory_swap.or(old) {
                    Some(s) if s > 0 => write(&memsw, &s.to_string())?,
                    _ => {}
                }
            } else if let Some(m) = res.memory {
                write(&limit, &m.to_string())?;
            }
            if let Some(r) = res.memory_reservation {
                write(&mem.join("memory.soft_limit_in_bytes"), &r.to_string())?;
            }
        }
        if let Some(cpu) = self.dir("cpu") {
            if let Some(shares) = res.cpu_shares.filter(|s| *s > 0) {
                write(&cpu.join("cpu.shares"), &shares.to_string())?;
            }
            let (period, quota) = res.cfs();
            if let Some(p) = period {
                write(&cpu.join("cpu.cfs_period_us"), &p.to_string())?;
            }
            if let Some(q) = quota {
                write(&cpu.join("cpu.cfs_quota_us"), &q.to_string())?;
            }
        }
        if let Some(cpuset) = self.dir("cpuset") {
            if let Some(cpus) = res.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
                write(&cpuset.join("cpuset.cpus"), cpus)?;
            }
            if let Some(mems) = res.cpuset_mems.as_deref().filter(|s| !s.is_empty()) {
                write(&cpuset.join("cpuset.mems"), mems)?;
            }
        }
        if let Some(limit) = res.pids_limit {
            let pids = self.require("pids")?;
            let v = if limit <= 0 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write(&pids.join("pids.max"), &v)?;
        }
        if let (Some(w), Some(blkio)) = (res.blkio_weight, self.dir("blkio")) {
            // blkio.weight exists only with the CFQ/BFQ schedulers; skipped when absent.
            let file = ["blkio.weight", "blkio.bfq.weight"]
                .iter()
                .map(|f| blkio.join(f))
                .find(|p| p.exists());
            if let Some(file) = file {
                write(&file, &w.to_string())?;
            }
        }
        Ok(())
    }

    pub(super) fn freeze(&self) -> Result<()> {
        let state = self.require("freezer")?.join("freezer.state");
        let start = Instant::now();
        let mut last = String::new();
        // Rewrite FROZEN on every poll: a freeze racing with a fork may need it.
        let done = wait_until(FREEZE_TIMEOUT, || {
            if write(&state, "FROZEN").is_err() {
                return false;
            }
            last = read_opt(&state).unwrap_or_default().trim().to_string();
            last == "FROZEN"
        });
        if done {
            return Ok(());
        }
        let _ = write(&state, "THAWED");
        Err(CgroupError::Timeout {
            op: "freeze",
            path: state,
            waited: start.elapsed(),
            detail: format!("state {last:?}"),
        })
    }

    pub(super) fn thaw(&self) -> Result<()> {
        let state = self.require("freezer")?.join("freezer.state");
        write(&state, "THAWED")?;
        let start = Instant::now();
        if wait_until(FREEZE_TIMEOUT, || {
            read_opt(&state).is_some_and(|s| s.trim() == "THAWED")
        }) {
            return Ok(());
        }
        Err(CgroupError::Timeout {
            op: "thaw",
            path: state.clone(),
            waited: start.elapsed(),
            detail: format!("state {:?}", read_opt(&state).unwrap_or_default().trim()),
        })
    }

    pub(super) fn is_frozen(&self) -> bool {
        self.dir("freezer")
            .and_then(|d| read_opt(&d.join("freezer.state")))
            .is_some_and(|s| s.trim() == "FROZEN")
    }

    pub(super) fn pids(&self) -> Vec<i32> {
        let dir = ["pids", "freezer", "memory"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        dir.map(|d| read_pids(&d.join("cgroup.procs")))
            .unwrap_or_default()
    }

    /// v1 has no cgroup.kill; the caller signals each PID.
    pub(super) fn kill_everything(&self) {}

    pub(super) fn oom_kill_count(&self) -> u64 {
        self.dir("memory")
            .and_then(|d| read_opt(&d.join("memory.oom_control")))
            .and_then(|t| stats::parse_flat_keyed(&t).get("oom_kill").copied())
            .unwrap_or(0)
    }

    /// CPU time and memory in use (without the inactive page cache), from three files.
    pub(super) fn usage(&self) -> (u64, u64) {
        let file = |ctrl: &str, name: &str| self.dir(ctrl).and_then(|d| read_opt(&d.join(name)));
        let num = |ctrl: &str, name: &str| file(ctrl, name).and_then(|t| stats::parse_u64(&t));
        let cpu = num("cpuacct", "cpuacct.usage").unwrap_or(0);
        let memory = num("memory", "memory.usage_in_bytes").unwrap_or(0);
        let cache = file("memory", "memory.stat")
            .map(|t| stats::keyed_value(&t, "total_inactive_file"))
            .unwrap_or(0);
        (cpu, memory.saturating_sub(cache))
    }

    pub(super) fn stats(&self) -> CgroupStats {
        let mut s = CgroupStats::default();
        let file = |ctrl: &str, name: &str| self.dir(ctrl).and_then(|d| read_opt(&d.join(name)));
        let num = |ctrl: &str, name: &str| file(ctrl, name).and_then(|t| stats::parse_u64(&t));
        s.cpu_total_ns = num("cpuacct", "cpuacct.usage").unwrap_or(0);
        s.percpu_ns = file("cpuacct", "cpuacct.usage_percpu")
            .map(|t| stats::parse_percpu(&t))
            .unwrap_or_default();
        (s.cpu_user_ns, s.cpu_system_ns) = file("cpuacct", "cpuacct.stat")
            .map(|t| stats::parse_cpuacct_stat(&t))
            .unwrap_or((0, 0));
        s.memory_usage = num("memory", "memory.usage_in_bytes").unwrap_or(0);
        s.memory_max_usage = num("memory", "memory.max_usage_in_bytes").unwrap_or(0);
        s.memory_limit = stats::clamp_memory_limit(
            num("memory", "memory.limit_in_bytes"),
            super::host_mem_total(),
        );
        s.memory_stats = file("memory", "memory.stat")
            .map(|t| stats::parse_flat_keyed(&t))
            .unwrap_or_default();
        s.pids_current = num("pids", "pids.current").unwrap_or(0);
        s.pids_limit = file("pids", "pids.max")
            .map(|t| stats::parse_limit(&t))
            .unwrap_or(0);
        s.blkio = file("blkio", "blkio.throttle.io_service_bytes_recursive")
            .or_else(|| file("blkio", "blkio.throttle.io_service_bytes"))
            .map(|t| stats::parse_blkio_v1(&t))
            .unwrap_or_default();
        s
    }

    /// rmdir every directory; tries them all and returns the first error.
    pub(super) fn remove_dirs(&self) -> Result<()> {
        let mut first = None;
        for (_, d) in &self.dirs {
            if let Err(e) = rmdir(d) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Copies cpuset.cpus and cpuset.mems from `up` into `dir` where `dir`'s are empty.
fn inherit_cpuset(up: &Path, dir: &Path) -> Result<()> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let mine = read(&dir.join(f), "read")?;
        if !mine.trim().is_empty() {
            continue;
        }
        let theirs = read(&up.join(f), "read")?;
        if !theirs.trim().is_empty() {
            write(&dir.join(f), theirs.trim())?;
        }
    }
    Ok(())
}
