//! Usage figures for the hosts overview that take a little state to read: the CPU's busy
//! share between two reports (`/proc/stat` deltas), and the disk used by containers (a walk
//! of their directories, too slow to repeat on every report, so cached and refreshed in the
//! background).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A CPU reading younger than this is not replaced (many sockets ask every 2 s).
const CPU_MIN_INTERVAL: Duration = Duration::from_millis(900);
/// How old the containers' disk figure may get before a new walk starts.
const DISK_REFRESH: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Default)]
struct CpuSample {
    busy: u64,
    total: u64,
}

/// Busy share of all CPUs since the previous reading.
pub struct CpuMeter {
    state: Mutex<Option<(Instant, CpuSample, f64)>>,
}

impl CpuMeter {
    pub const fn new() -> Self {
        CpuMeter {
            state: Mutex::new(None),
        }
    }

    /// Percent (0–100) since the last reading at least a second ago; 0 at the first.
    pub fn percent(&self) -> f64 {
        let Some(now) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_cpu_line(&s))
        else {
            return 0.0;
        };
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            Some((at, _, last)) if at.elapsed() < CPU_MIN_INTERVAL => last,
            Some((_, before, _)) => {
                let percent = busy_percent(before, now);
                *state = Some((Instant::now(), now, percent));
                percent
            }
            None => {
                *state = Some((Instant::now(), now, 0.0));
                0.0
            }
        }
    }
}

fn busy_percent(before: CpuSample, now: CpuSample) -> f64 {
    let total = now.total.saturating_sub(before.total);
    if total == 0 {
        return 0.0;
    }
    let busy = now.busy.saturating_sub(before.busy);
    (busy as f64 * 100.0 / total as f64).clamp(0.0, 100.0)
}

/// The `cpu ` line of /proc/stat: busy (all but idle and iowait) and total jiffies.
fn parse_cpu_line(stat: &str) -> Option<CpuSample> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied()? + fields.get(4).copied().unwrap_or(0);
    Some(CpuSample {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Bytes under `<root>/containers`, cached.
pub struct ContainerDisk {
    dir: PathBuf,
    cached: std::sync::Arc<Mutex<Option<(Instant, u64)>>>,
    walking: std::sync::Arc<AtomicBool>,
}

impl ContainerDisk {
    pub fn new(containers_dir: PathBuf) -> Self {
        ContainerDisk {
            dir: containers_dir,
            cached: Default::default(),
            walking: Default::default(),
        }
    }

    /// The last figure (0 before the first walk ends); starts a walk when it is stale.
    pub fn bytes(&self) -> u64 {
        let cached = *self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let stale = cached.is_none_or(|(at, _)| at.elapsed() >= DISK_REFRESH);
        if stale && !self.walking.swap(true, Ordering::AcqRel) {
            let (dir, slot, walking) =
                (self.dir.clone(), self.cached.clone(), self.walking.clone());
            let spawned = std::thread::Builder::new()
                .name("disk-usage".into())
                .spawn(move || {
                    let bytes = tree_bytes(&dir);
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), bytes));
                    walking.store(false, Ordering::Release);
                });
            if spawned.is_err() {
                self.walking.store(false, Ordering::Release);
            }
        }
        cached.map_or(0, |(_, b)| b)
    }
}

/// Allocated bytes of a directory tree, staying on its filesystem (a container's mounted
/// root filesystem is another one: its image layers are counted as images).
pub fn tree_bytes(dir: &Path) -> u64 {
    let Ok(top) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    let device = top.dev();
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.dev() != device {
                continue;
            }
            total = total.saturating_add(meta.blocks().saturating_mul(512));
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_share_from_two_samples() {
        let a = parse_cpu_line("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        let b = parse_cpu_line("cpu  150 0 150 900 0 0 0 0 0 0\n").unwrap();
        assert_eq!(busy_percent(a, b), 50.0);
        assert_eq!(busy_percent(b, b), 0.0);
        assert!(parse_cpu_line("nothing").is_none());
    }

    #[test]
    fn counts_files_in_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f"), vec![1u8; 64 * 1024]).unwrap();
        assert!(tree_bytes(dir.path()) >= 64 * 1024);
        assert_eq!(tree_bytes(&dir.path().join("missing")), 0);
    }
}
