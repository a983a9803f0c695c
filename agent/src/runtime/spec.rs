//! What the supervisor needs to start a container, written by the agent as
//! `containers/<id>/spec.json` before it spawns `berth shim`.
//!
//! OCI-shaped (process, root, mounts, namespaces, capabilities, rlimits, cgroups), but only
//! the parts Berth uses, and already resolved by the agent: the rootfs is mounted, the cgroup
//! exists with its limits set, the files to bind (hosts, hostname, resolv.conf, volumes) exist.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RuntimeSpec {
    /// The container's 64-hex ID.
    pub id: String,
    /// The merged root filesystem, already mounted by the agent (host mount namespace).
    pub rootfs: PathBuf,
    /// Make the root filesystem read-only (`--read-only`).
    #[serde(default)]
    pub readonly_rootfs: bool,
    pub hostname: String,
    pub process: ProcessSpec,
    /// Extra mounts over the rootfs, in order, after /proc, /dev, /sys and friends.
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    pub namespaces: Namespaces,
    /// The cgroup the container's processes join: one `cgroup.procs` file per v1
    /// hierarchy, or the single one of a v2 cgroup. The supervisor writes each child's
    /// host PID into every file before the child execs.
    #[serde(default)]
    pub cgroup_procs: Vec<PathBuf>,
    /// Paths hidden in the container (/dev/null bound over files, an empty read-only
    /// tmpfs over directories), as Docker's defaults.
    #[serde(default)]
    pub masked_paths: Vec<String>,
    /// Paths remounted read-only (/proc/sys, …).
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    /// `--privileged`: all capabilities, no masked or read-only paths, host devices.
    #[serde(default)]
    pub privileged: bool,
    /// `--init`: a small reaper runs as PID 1 and runs the process as its child.
    #[serde(default)]
    pub init: bool,
    /// Docker json-file log of the main process's output.
    pub log_path: PathBuf,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ProcessSpec {
    /// argv; `args[0]` is looked up in the container's `PATH` when it has no `/`.
    pub args: Vec<String>,
    /// `KEY=value`, the image's merged with the request's.
    #[serde(default)]
    pub env: Vec<String>,
    /// Absolute path inside the container; created if missing (as Docker does).
    #[serde(default = "root_dir")]
    pub cwd: String,
    /// As Docker's `--user`: `""` (root), `name`, `uid`, `name:group`, `uid:gid`.
    /// Resolved inside the container against its own /etc/passwd and /etc/group.
    #[serde(default)]
    pub user: String,
    /// Supplementary groups (`--group-add`), names or numbers.
    #[serde(default)]
    pub additional_groups: Vec<String>,
    #[serde(default)]
    pub tty: bool,
    /// Keep stdin open for attached clients (`-i`).
    #[serde(default)]
    pub open_stdin: bool,
    /// Close the process's stdin when the first attached client closes its stdin.
    #[serde(default)]
    pub stdin_once: bool,
    /// Initial terminal size `[rows, cols]` when `tty`.
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
    /// Capability names as `CAP_CHOWN`; bounding, effective, permitted. Inheritable and
    /// ambient stay empty (CVE-2022-24769).
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default = "yes")]
    pub no_new_privileges: bool,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Rlimit {
    /// `RLIMIT_NOFILE`, … as in the OCI spec.
    pub kind: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MountSpec {
    /// Absolute path inside the container. Created (inside the rootfs, never through a
    /// symlink that leaves it) when missing.
    pub destination: String,
    pub kind: MountKind,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountKind {
    /// A host path (file or directory) bound in; `recursive` = rbind.
    Bind {
        source: PathBuf,
        #[serde(default)]
        readonly: bool,
        #[serde(default = "yes")]
        recursive: bool,
    },
    /// A fresh tmpfs; `options` as `mount -o` takes them (`size=64m,mode=1777`).
    Tmpfs {
        #[serde(default)]
        options: String,
        #[serde(default)]
        readonly: bool,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Namespaces {
    pub network: NetworkNamespace,
    /// `--pid host`, `--ipc host`, `--uts host` share the host's.
    #[serde(default)]
    pub host_pid: bool,
    #[serde(default)]
    pub host_ipc: bool,
    #[serde(default)]
    pub host_uts: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum NetworkNamespace {
    /// A new namespace with only loopback (up). `--network none`, and the bridge until
    /// the network module moves a veth in.
    #[default]
    New,
    /// The host's (`--network host`).
    Host,
    /// Join an existing namespace (a bind-mounted `/run/…/netns/x` or `/proc/<pid>/ns/net`).
    Join { path: PathBuf },
}

fn root_dir() -> String {
    "/".to_string()
}

fn yes() -> bool {
    true
}

/// Docker's default capability set (moby `daemon/pkg/oci/caps/defaults.go`).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Docker's default masked paths (moby `daemon/pkg/oci/defaults.go`).
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Docker's default read-only paths.
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
