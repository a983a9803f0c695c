//! Where the cgroup hierarchies are mounted, read from `/proc/self/mountinfo`.
//!
//! v1 hierarchies are recognised by their super options (`rw,cpu,cpuacct`,
//! `rw,name=systemd`), never by their mount point's name: cpu and cpuacct may be one
//! hierarchy or two depending on the host.

use std::path::PathBuf;

/// One mounted v1 hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1Mount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// Its controllers, e.g. `["cpu", "cpuacct"]`, or `["name=systemd"]` for a named
    /// hierarchy without controllers.
    pub controllers: Vec<String>,
}

/// Super options of a v1 cgroup mount that are not controllers.
const NON_CONTROLLER_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "none",
];

/// The v1 hierarchies in `mountinfo`, one entry per hierarchy (a hierarchy bind-mounted
/// twice is listed once, at its first mount point). Only mounts of the hierarchy's root
/// (root field `/`) are used: a sub-cgroup bind-mounted elsewhere cannot hold siblings.
pub fn v1_mounts(mountinfo: &str) -> Vec<V1Mount> {
    let mut out: Vec<V1Mount> = Vec::new();
    for line in mountinfo.lines() {
        let Some(m) = parse_line(line) else { continue };
        if m.fstype != "cgroup" || m.root != "/" {
            continue;
        }
        let mut controllers: Vec<String> = m
            .super_options
            .split(',')
            .filter(|o| !o.is_empty())
            .filter(|o| !NON_CONTROLLER_OPTIONS.contains(o))
            .filter(|o| !o.starts_with("release_agent="))
            .map(str::to_string)
            .collect();
        if controllers.is_empty() {
            continue;
        }
        controllers.sort();
        if out.iter().any(|h| h.controllers == controllers) {
            continue;
        }
        out.push(V1Mount {
            mount_point: PathBuf::from(m.mount_point),
            controllers,
        });
    }
    out
}

/// Mount points of cgroup2 filesystems mounted at their root, in mountinfo order.
pub fn v2_mounts(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(parse_line)
        .filter(|m| m.fstype == "cgroup2" && m.root == "/")
        .map(|m| PathBuf::from(m.mount_point))
        .collect()
}

struct Line {
    root: String,
    mount_point: String,
    fstype: String,
    super_options: String,
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &str) -> Option<Line> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let right: Vec<&str> = right.split(' ').collect();
    if left.len() < 6 || right.len() < 3 {
        return None;
    }
    Some(Line {
        root: unescape(left[3]),
        mount_point: unescape(left[4]),
        fstype: right[0].to_string(),
        super_options: right[2].to_string(),
    })
}

/// mountinfo writes space, tab, newline and backslash as `\040`-style octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const DEBIAN10: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
99 25 0:29 / /mnt/pids\\040again rw,relatime - cgroup cgroup rw,pids
100 25 0:29 /sub /mnt/sub rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn separate_cpu_and_cpuacct() {
        let m = v1_mounts(HYBRID);
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].controllers, vec!["cpu"]);
        assert_eq!(m[1].controllers, vec!["cpuacct"]);
        assert_eq!(m[4].controllers, vec!["name=systemd"]);
        assert_eq!(m[3].mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(
            v2_mounts(HYBRID),
            vec![PathBuf::from("/sys/fs/cgroup/unified")]
        );
    }

    #[test]
    fn combined_cpu_cpuacct_and_duplicates() {
        let m = v1_mounts(DEBIAN10);
        let names: Vec<String> = m.iter().map(|h| h.controllers.join(",")).collect();
        assert_eq!(
            names,
            vec!["name=systemd", "cpu,cpuacct", "net_cls,net_prio", "pids"]
        );
        assert_eq!(
            m[1].mount_point,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\04"), "/end\\04");
    }
}
