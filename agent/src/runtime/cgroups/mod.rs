#![allow(dead_code)] // is_frozen, mode and parent have no caller yet
//! Container cgroups, v1 and v2 behind one interface (DESIGN.md §4).
//!
//! [`Cgroups`] is the host's manager: it finds the hierarchies (v1: every mounted one,
//! discovered from /proc/self/mountinfo by its super options; v2: the unified mount) and
//! makes one [`ContainerCgroup`] per container at `<parent>/<id>` in each. Hybrid hosts
//! (v1 controllers plus a near-empty cgroup2 at /sys/fs/cgroup/unified) are driven
//! through v1, as [`crate::system::cgroups::detect`] decides.
//!
//! The supervisor joins the container's processes by writing their PIDs into
//! [`ContainerCgroup::procs_files`] (`RuntimeSpec::cgroup_procs`).

// used by the container service, which lands separately

pub mod devices;
pub mod mountinfo;
pub mod stats;
mod v1;
mod v2;

pub use crate::system::cgroups::CgroupMode;
pub use rustix::process::Signal;
pub use stats::CgroupStats;

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The parent cgroup of containers when `BERTH_CGROUP_PARENT` is not set.
pub const DEFAULT_PARENT: &str = "berth";

/// A container's limits, in Docker's units (`docker run` flags / HostConfig fields).
/// `None` leaves the kernel's current value alone.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq)]
pub struct Resources {
    /// Bytes (`-m`); -1 = unlimited.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes (`--memory-swap`); -1 = unlimited swap.
    pub memory_swap: Option<i64>,
    /// Soft limit in bytes (`--memory-reservation`).
    pub memory_reservation: Option<i64>,
    /// Relative weight (`--cpu-shares`, 2..262144; Docker's default 1024).
    pub cpu_shares: Option<u64>,
    /// `--cpus` × 1e9; wins over `cpu_quota`/`cpu_period`.
    pub nano_cpus: Option<i64>,
    /// Microseconds per period (`--cpu-quota`); -1 or 0 = unlimited.
    pub cpu_quota: Option<i64>,
    /// Microseconds (`--cpu-period`).
    pub cpu_period: Option<u64>,
    /// `--cpuset-cpus`, e.g. `0-1,3`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit`; <= 0 = unlimited.
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`, 10..1000.
    pub blkio_weight: Option<u16>,
}

impl Resources {
    /// Docker's API sends 0 for "not set" in the memory fields: treat those as `None`.
    fn normalized(&self) -> Resources {
        let set = |v: Option<i64>| v.filter(|v| *v != 0);
        Resources {
            memory: set(self.memory),
            memory_swap: set(self.memory_swap),
            memory_reservation: set(self.memory_reservation),
            ..self.clone()
        }
    }

    /// (period µs, quota µs) to write, `nano_cpus` taking precedence; a quota of -1 = none.
    fn cfs(&self) -> (Option<u64>, Option<i64>) {
        match self.nano_cpus {
            Some(n) if n > 0 => {
                let period = 100_000u64;
                (
                    Some(period),
                    Some((n as i128 * period as i128 / 1_000_000_000) as i64),
                )
            }
            Some(_) => (None, Some(-1)),
            None => (
                self.cpu_period,
                self.cpu_quota.map(|q| if q <= 0 { -1 } else { q }),
            ),
        }
    }
}

/// Every error names the file and what was being done with it.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The kernel refused a value (e.g. a memory limit below current usage).
    #[error("cgroup: write {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("cgroup: {op} {path}: timed out after {waited:?} ({detail})")]
    Timeout {
        op: &'static str,
        path: PathBuf,
        waited: Duration,
        detail: String,
    },
    #[error("cgroup: {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

pub type Result<T, E = CgroupError> = std::result::Result<T, E>;

/// The host's cgroup manager.
#[derive(Clone, Debug)]
pub struct Cgroups {
    parent: String,
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    V1(Vec<mountinfo::V1Mount>),
    /// The cgroup2 mount point.
    V2(PathBuf),
}

const MOUNTINFO: &str = "/proc/self/mountinfo";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

impl Cgroups {
    /// The host's hierarchies, with the parent from `BERTH_CGROUP_PARENT` (default `berth`).
    pub fn detect() -> Result<Self> {
        let parent = std::env::var("BERTH_CGROUP_PARENT")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PARENT.to_string());
        Self::with_parent(&parent)
    }

    /// As [`Cgroups::detect`] with an explicit parent (a relative path such as `berth` or
    /// `berth-test-1234/sub`).
    pub fn with_parent(parent: &str) -> Result<Self> {
        let parent = parent.trim_matches('/').to_string();
        if parent.is_empty()
            || parent
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(CgroupError::Invalid {
                path: PathBuf::from(&parent),
                reason: "a cgroup parent must be a relative path without . or .. components".into(),
            });
        }
        let info = read(Path::new(MOUNTINFO), "read")?;
        let backend = match crate::system::cgroups::detect(Path::new(CGROUP_ROOT)) {
            CgroupMode::V1 => {
                let mounts = mountinfo::v1_mounts(&info);
                if mounts.is_empty() {
                    return Err(CgroupError::Invalid {
                        path: PathBuf::from(MOUNTINFO),
                        reason: "no cgroup v1 hierarchy is mounted".into(),
                    });
                }
                Backend::V1(mounts)
            }
            CgroupMode::V2 => {
                let mounts = mountinfo::v2_mounts(&info);
                let root = mounts
                    .iter()
                    .find(|m| m.as_path() == Path::new(CGROUP_ROOT))
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from(CGROUP_ROOT));
                Backend::V2(root)
            }
        };
        Ok(Cgroups { parent, backend })
    }

    /// A v2 manager over the cgroup2 mount at `root`, whatever the host's mode: lets the
    /// tests drive the v2 code through the (controller-less) unified tree of a hybrid host.
    #[cfg(test)]
    fn v2_at(root: &Path, parent: &str) -> Self {
        Cgroups {
            parent: parent.to_string(),
            backend: Backend::V2(root.to_path_buf()),
        }
    }

    pub fn mode(&self) -> CgroupMode {
        match self.backend {
            Backend::V1(_) => CgroupMode::V1,
            Backend::V2(_) => CgroupMode::V2,
        }
    }

    pub fn parent(&self) -> &str {
        &self.parent
    }

    /// Makes `<parent>/<id>` in every hierarchy and applies `res`. Unless `privileged`,
    /// v1 also gets Docker's default device rules ([`devices::DEFAULT_ALLOWED`]).
    /// On failure nothing is left behind.
    pub fn create(&self, id: &str, res: &Resources, privileged: bool) -> Result<ContainerCgroup> {
        check_id(id)?;
        let inner = match &self.backend {
            Backend::V1(mounts) => Inner::V1(v1::V1Cgroup::create(
                mounts,
                &self.parent,
                id,
                res,
                privileged,
            )?),
            Backend::V2(root) => Inner::V2(v2::V2Cgroup::create(root, &self.parent, id, res)?),
        };
        Ok(ContainerCgroup {
            id: id.to_string(),
            inner,
        })
    }

    /// The cgroup of a container made earlier (e.g. by an agent that has since restarted),
    /// if it still exists.
    pub fn open(&self, id: &str) -> Option<ContainerCgroup> {
        check_id(id).ok()?;
        let inner = match &self.backend {
            Backend::V1(mounts) => Inner::V1(v1::V1Cgroup::open(mounts, &self.parent, id)?),
            Backend::V2(root) => Inner::V2(v2::V2Cgroup::open(root, &self.parent, id)?),
        };
        Some(ContainerCgroup {
            id: id.to_string(),
            inner,
        })
    }

    /// Names of the container cgroups under the parent, sorted (for cleanup at start).
    pub fn leftovers(&self) -> Vec<String> {
        let dirs: Vec<PathBuf> = match &self.backend {
            Backend::V1(mounts) => mounts
                .iter()
                .map(|m| m.mount_point.join(&self.parent))
                .collect(),
            Backend::V2(root) => vec![root.join(&self.parent)],
        };
        let mut names: Vec<String> = dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Removes the (empty) parent directories, deepest first; a missing one is fine.
    pub fn remove_parent(&self) -> Result<()> {
        let roots: Vec<PathBuf> = match &self.backend {
            Backend::V1(mounts) => mounts.iter().map(|m| m.mount_point.clone()).collect(),
            Backend::V2(root) => vec![root.clone()],
        };
        let components: Vec<&str> = self.parent.split('/').collect();
        for root in roots {
            for depth in (1..=components.len()).rev() {
                rmdir(&root.join(components[..depth].join("/")))?;
            }
        }
        Ok(())
    }
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(CgroupError::Invalid {
            path: PathBuf::from(id),
            reason: "a container cgroup name must be one path component".into(),
        });
    }
    Ok(())
}

/// One container's cgroup (a directory per v1 hierarchy, or one v2 directory).
#[derive(Clone, Debug)]
pub struct ContainerCgroup {
    id: String,
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    V1(v1::V1Cgroup),
    V2(v2::V2Cgroup),
}

macro_rules! dispatch {
    ($self:ident, $c:ident => $e:expr) => {
        match &$self.inner {
            Inner::V1($c) => $e,
            Inner::V2($c) => $e,
        }
    };
}

impl ContainerCgroup {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `cgroup.procs` files a process joins the container through: one per v1
    /// hierarchy (including named ones such as `name=systemd`), or the v2 one.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        dispatch!(self, c => c.procs_files())
    }

    /// Applies new limits (`docker update`); fields left `None` are unchanged.
    pub fn update(&self, res: &Resources) -> Result<()> {
        dispatch!(self, c => c.update(res))
    }

    /// Stops every process (pause); returns once the kernel reports the cgroup frozen.
    pub fn freeze(&self) -> Result<()> {
        dispatch!(self, c => c.freeze())
    }

    pub fn thaw(&self) -> Result<()> {
        dispatch!(self, c => c.thaw())
    }

    pub fn is_frozen(&self) -> bool {
        dispatch!(self, c => c.is_frozen())
    }

    /// Host PIDs of the processes in the cgroup (thread-group leaders).
    pub fn pids(&self) -> Vec<i32> {
        dispatch!(self, c => c.pids())
    }

    /// Sends `signal` to every process in the cgroup; processes already gone are fine.
    pub fn kill_all(&self, signal: Signal) -> Result<()> {
        signal_pids(&self.pids(), signal)
    }

    /// How many processes the kernel's OOM killer has killed in this cgroup.
    pub fn oom_kill_count(&self) -> u64 {
        dispatch!(self, c => c.oom_kill_count())
    }

    /// CPU time (ns) and memory in use without the inactive page cache (bytes): the cheap
    /// reading behind the dashboard's live columns. A file that cannot be read counts as 0.
    pub fn usage(&self) -> (u64, u64) {
        dispatch!(self, c => c.usage())
    }

    /// Usage; a file that cannot be read counts as zero.
    pub fn stats(&self) -> CgroupStats {
        let mut s = dispatch!(self, c => c.stats());
        let (system, cpus) = std::fs::read_to_string("/proc/stat")
            .map(|t| stats::parse_proc_stat(&t))
            .unwrap_or((0, 0));
        s.system_cpu_ns = system;
        s.online_cpus = if cpus > 0 {
            cpus
        } else {
            s.percpu_ns.len() as u32
        };
        s
    }

    /// Kills what is left (thawing first), waits for the cgroup to empty, and removes its
    /// directories. A directory already gone is fine.
    pub fn destroy(&self) -> Result<()> {
        let _ = self.thaw();
        let start = Instant::now();
        let limit = Duration::from_secs(5);
        loop {
            // Every hierarchy's procs, not only the one pids() reads: a process that joined
            // some hierarchies only would otherwise keep its directories busy.
            let mut pids: Vec<i32> = self
                .procs_files()
                .iter()
                .flat_map(|f| read_pids(f))
                .collect();
            pids.sort_unstable();
            pids.dedup();
            if pids.is_empty() {
                break;
            }
            if start.elapsed() > limit {
                let path = self.procs_files().into_iter().next().unwrap_or_default();
                return Err(CgroupError::Timeout {
                    op: "empty",
                    path,
                    waited: start.elapsed(),
                    detail: format!("processes {pids:?} survive SIGKILL"),
                });
            }
            dispatch!(self, c => c.kill_everything());
            signal_pids(&pids, Signal::KILL)?;
            std::thread::sleep(Duration::from_millis(10));
        }
        dispatch!(self, c => c.remove_dirs())
    }
}

// ---- file helpers shared by v1 and v2 ----

fn read(path: &Path, op: &'static str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    })
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Writes one value in one `write(2)`, as the kernel's cgroup files want.
fn write(path: &Path, value: &str) -> Result<()> {
    use std::io::Write as _;
    let res = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    res.map_err(|source| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

fn mkdir(path: &Path) -> Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CgroupError::Io {
            op: "mkdir",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// rmdir, with ENOENT as success and EBUSY retried for up to a second.
fn rmdir(path: &Path) -> Result<()> {
    let start = Instant::now();
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error())
                    && start.elapsed() < Duration::from_secs(1) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    op: "rmdir",
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// PIDs of a `cgroup.procs` file (empty if it cannot be read).
fn read_pids(path: &Path) -> Vec<i32> {
    read_opt(path)
        .map(|t| {
            t.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn signal_pids(pids: &[i32], signal: Signal) -> Result<()> {
    for &pid in pids {
        let Some(p) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        match rustix::process::kill_process(p, signal) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(e) => {
                return Err(CgroupError::Io {
                    op: "kill",
                    path: PathBuf::from(format!("/proc/{pid}")),
                    source: e.into(),
                });
            }
        }
    }
    Ok(())
}

/// Polls `check` until it returns true or `limit` passes.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn host_mem_total() -> u64 {
    read_opt(Path::new("/proc/meminfo"))
        .and_then(|t| stats::parse_mem_total(&t))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
