//! Which cgroup hierarchy this host offers.
//!
//! Hybrid hosts (v1 controllers plus a near-empty cgroup2 at /sys/fs/cgroup/unified)
//! are driven through v1, as DESIGN.md §4 says; only a pure cgroup2 mount at
//! /sys/fs/cgroup counts as v2.

use std::path::Path;

const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupMode {
    V1,
    V2,
}

impl CgroupMode {
    pub fn version(self) -> &'static str {
        match self {
            CgroupMode::V1 => "1",
            CgroupMode::V2 => "2",
        }
    }
}

/// Reads the mode from the filesystem type of `/sys/fs/cgroup`.
pub fn detect(cgroup_root: &Path) -> CgroupMode {
    match rustix::fs::statfs(cgroup_root) {
        #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
        Ok(stat) if stat.f_type as u64 == CGROUP2_SUPER_MAGIC => CgroupMode::V2,
        _ => CgroupMode::V1,
    }
}

/// The controllers the host offers to containers, e.g. `["cpu", "memory", "pids"]`.
pub fn controllers(mode: CgroupMode) -> Vec<String> {
    match mode {
        CgroupMode::V2 => std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        CgroupMode::V1 => std::fs::read_to_string("/proc/cgroups")
            .map(|s| v1_controllers(&s))
            .unwrap_or_default(),
    }
}

/// Controllers that /proc/cgroups lists as enabled and attached to a v1 hierarchy.
fn v1_controllers(proc_cgroups: &str) -> Vec<String> {
    proc_cgroups
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [name, hierarchy, _, "1"] if *hierarchy != "0" => Some(name.to_string()),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_cgroups() {
        let text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\nhugetlb\t0\t1\t1\nmemory\t4\t9\t1\nrdma\t5\t1\t0\n";
        assert_eq!(v1_controllers(text), vec!["cpu", "memory"]);
    }
}
