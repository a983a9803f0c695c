//! Leaves the host as it was after a test agent: stray processes, mounts, cgroups and files.
//!
//! Every function here is best-effort and tolerant: a previous cleanup may already have
//! removed everything, and a failure to remove one thing must not stop the rest. Problems are
//! returned as human-readable notes for the caller to print.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::mount::{UnmountFlags, unmount};
use rustix::process::{Pid, Signal, kill_process};

/// Where the kernel shows the cgroup hierarchies (v1 controllers and the unified tree).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// How deep below each hierarchy to look for a test's cgroups.
const CGROUP_SEARCH_DEPTH: usize = 4;

/// Undoes one mountinfo escape (`\040` for space, `\011`, `\012`, `\134`).
fn unescape_mount_path(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(digits) = bytes.get(i + 1..i + 4)
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            if let Ok(value) = u8::try_from(value) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Mount points at or below `root` in this process's mount namespace, deepest first.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mount_path)
        .filter(|mount_point| mount_point.starts_with(root))
        .collect();
    // Deepest first, so a mount on top of another is removed before the one below it.
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// Lazily unmounts (MNT_DETACH) everything mounted at or below `root`. Repeats a few times,
/// since a mount point may be stacked several times over.
pub fn unmount_all_under(root: &Path, notes: &mut Vec<String>) {
    for _ in 0..8 {
        let mounts = mounts_under(root);
        if mounts.is_empty() {
            return;
        }
        for mount_point in mounts {
            if let Err(err) = unmount(&mount_point, UnmountFlags::DETACH) {
                notes.push(format!("umount {}: {err}", mount_point.display()));
            }
        }
    }
    let left = mounts_under(root);
    if !left.is_empty() {
        notes.push(format!("mounts left under {}: {left:?}", root.display()));
    }
}

/// True when a NUL-separated /proc file (cmdline, environ) mentions `needle`.
fn proc_file_mentions(pid: u32, file: &str, needle: &[u8]) -> bool {
    fs::read(format!("/proc/{pid}/{file}"))
        .map(|data| data.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

/// SIGKILLs every process (other than this one) whose command line or environment mentions
/// `root`, or whose cgroup path contains `cgroup_name`: supervisors that outlive the agent,
/// and the containers they run.
pub fn kill_processes_of(root: &Path, cgroup_name: Option<&str>, notes: &mut Vec<String>) {
    let me = std::process::id();
    let root_bytes = root.as_os_str().as_encoded_bytes();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let in_cgroup = cgroup_name.is_some_and(|name| {
            fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(name))
        });
        if in_cgroup
            || proc_file_mentions(pid, "cmdline", root_bytes)
            || proc_file_mentions(pid, "environ", root_bytes)
        {
            let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
                continue;
            };
            if let Err(err) = kill_process(raw, Signal::KILL)
                && err != rustix::io::Errno::SRCH
            {
                notes.push(format!("kill {pid}: {err}"));
            }
        }
    }
}

/// Deletes the agent's default bridge and those of its user-defined networks (named in
/// `<root>/networks/*.json`). Veths went with the namespaces their containers held.
pub fn remove_bridges_of(root: &Path, default_bridge: &str, notes: &mut Vec<String>) {
    let mut names = vec![default_bridge.to_string()];
    if let Ok(entries) = fs::read_dir(root.join("networks")) {
        for entry in entries.flatten() {
            let record: Option<serde_json::Value> = fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(bridge) = record.as_ref().and_then(|r| r["bridge"].as_str()) {
                names.push(bridge.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        if !Path::new("/sys/class/net").join(&name).exists() {
            continue;
        }
        match std::process::Command::new("ip")
            .args(["link", "delete", "dev", &name])
            .status()
        {
            Ok(status) if status.success() => {}
            other => notes.push(format!("ip link delete {name}: {other:?}")),
        }
    }
}

/// Directories under `dir` (down to `depth` levels) whose name contains `name`.
fn find_dirs_named(dir: &Path, name: &str, depth: usize, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(name) {
            out.push(path);
        } else {
            find_dirs_named(&path, name, depth - 1, out);
        }
    }
}

/// All cgroup directories (v1 hierarchies and the unified tree) whose name contains `name`,
/// together with their sub-cgroups, deepest first.
pub fn cgroups_named(name: &str) -> Vec<PathBuf> {
    let mut tops = Vec::new();
    find_dirs_named(Path::new(CGROUP_ROOT), name, CGROUP_SEARCH_DEPTH, &mut tops);
    let mut all = Vec::new();
    for top in tops {
        collect_subdirs(&top, &mut all);
    }
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    all.dedup();
    all
}

/// `dir` and every directory below it.
fn collect_subdirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_subdirs(&entry.path(), out);
            }
        }
    }
}

/// Kills what is left in each cgroup named like `name` and removes the cgroup directories.
pub fn remove_cgroups_named(name: &str, notes: &mut Vec<String>) {
    let groups = cgroups_named(name);
    for group in &groups {
        if let Ok(procs) = fs::read_to_string(group.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                if let Some(pid) = Pid::from_raw(pid) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
        }
    }
    for group in groups {
        // A cgroup whose last process was just killed can stay busy for a moment.
        let mut removed = false;
        for _ in 0..50 {
            match fs::remove_dir(&group) {
                Ok(()) => {
                    removed = true;
                    break;
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    removed = true;
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        if !removed {
            notes.push(format!("cgroup {} could not be removed", group.display()));
        }
    }
}

/// Removes `dir` and everything in it; a missing directory is fine.
pub fn remove_dir(dir: &Path, notes: &mut Vec<String>) {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => notes.push(format!("removing {}: {err}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_octal() {
        assert_eq!(
            unescape_mount_path(r"/tmp/a\040b\134c"),
            PathBuf::from("/tmp/a b\\c")
        );
        assert_eq!(unescape_mount_path(r"/x\04"), PathBuf::from(r"/x\04"));
    }
}
