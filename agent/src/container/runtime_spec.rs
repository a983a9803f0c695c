//! From a container record to the supervisor's [`RuntimeSpec`]: the process, the files
//! bound over /etc, volumes and tmpfs mounts, capabilities, namespaces.

use super::ContainerError;
use super::config::{ContainerConfig, HostConfig};
use super::record::ContainerRecord;
use crate::runtime::spec::{
    DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, MountKind, MountSpec,
    Namespaces, NetworkNamespace, ProcessSpec, Rlimit, RuntimeSpec,
};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

// Every capability Linux knows, in number order (`CAP_CHOWN` = 0), for `--privileged`
// and `--cap-add ALL`: the supervisor's own table.
use crate::runtime::process::capabilities::NAMES as ALL_CAPABILITIES;

/// The agent's bounding set (`CapBnd` of /proc/self/status), every bit if unreadable.
fn held_capabilities() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

fn normalise_cap(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// Docker's default set, plus `--cap-add`, minus `--cap-drop` (`ALL` allowed in both).
pub fn capabilities(host: &HostConfig) -> Result<Vec<String>, ContainerError> {
    if host.privileged {
        // "All" is what the agent itself may hand out: a host can withhold some (this
        // one's bounding set lacks CAP_SYS_RESOURCE), and asking for more fails capset.
        let held = held_capabilities();
        return Ok(ALL_CAPABILITIES
            .iter()
            .enumerate()
            .filter(|(bit, _)| held & (1u64 << bit) != 0)
            .map(|(_, c)| c.to_string())
            .collect());
    }
    let add: Vec<String> = host
        .cap_add
        .iter()
        .flatten()
        .map(|c| normalise_cap(c))
        .collect();
    let drop: Vec<String> = host
        .cap_drop
        .iter()
        .flatten()
        .map(|c| normalise_cap(c))
        .collect();
    for cap in add.iter().chain(&drop) {
        if cap != "ALL" && !ALL_CAPABILITIES.contains(&cap.as_str()) {
            return Err(ContainerError::BadInput(format!(
                "invalid capability: unknown capability: \"{cap}\""
            )));
        }
    }
    let mut caps: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c))
            .collect()
    };
    if add.iter().any(|c| c == "ALL") {
        caps = ALL_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c) || drop.iter().any(|d| d == "ALL"))
            .collect();
    } else {
        for cap in add {
            if !caps.contains(&cap) {
                caps.push(cap);
            }
        }
    }
    Ok(caps)
}

/// `-v src:dst[:opts]` and `--mount`, `--tmpfs`, as supervisor mounts. Named volumes
/// (a source without `/`) live under `<data root>/volumes/<name>/_data`, made on first use.
pub fn volume_mounts(
    host: &HostConfig,
    volumes_root: &Path,
) -> Result<Vec<MountSpec>, ContainerError> {
    let mut mounts = Vec::new();
    for bind in host.binds.iter().flatten() {
        let parts: Vec<&str> = bind.split(':').collect();
        let (source, destination, options) = match parts.as_slice() {
            [s, d] => (*s, *d, ""),
            [s, d, o] => (*s, *d, *o),
            _ => {
                return Err(ContainerError::BadInput(format!(
                    "invalid volume specification: '{bind}'"
                )));
            }
        };
        let readonly = options.split(',').any(|o| o == "ro");
        mounts.push(bind_mount(source, destination, readonly, volumes_root)?);
    }
    for mount in host.mounts.iter().flatten() {
        match mount.kind.as_str() {
            "bind" | "volume" => mounts.push(bind_mount(
                &mount.source,
                &mount.target,
                mount.read_only,
                volumes_root,
            )?),
            "tmpfs" => {
                let mut options = Vec::new();
                if let Some(t) = &mount.tmpfs_options {
                    if t.size_bytes > 0 {
                        options.push(format!("size={}", t.size_bytes));
                    }
                    if t.mode > 0 {
                        options.push(format!("mode={:o}", t.mode));
                    }
                }
                mounts.push(MountSpec {
                    destination: absolute(&mount.target)?,
                    kind: MountKind::Tmpfs {
                        options: options.join(","),
                        readonly: mount.read_only,
                    },
                });
            }
            other => {
                return Err(ContainerError::BadInput(format!(
                    "invalid mount config: mount type {other:?} is not supported"
                )));
            }
        }
    }
    for (destination, options) in host.tmpfs.iter().flatten() {
        mounts.push(MountSpec {
            destination: absolute(destination)?,
            kind: MountKind::Tmpfs {
                options: options.clone(),
                readonly: false,
            },
        });
    }
    Ok(mounts)
}

fn absolute(path: &str) -> Result<String, ContainerError> {
    if !path.starts_with('/') {
        return Err(ContainerError::BadInput(format!(
            "invalid mount config: mount path must be absolute: {path:?}"
        )));
    }
    Ok(path.to_string())
}

fn bind_mount(
    source: &str,
    destination: &str,
    readonly: bool,
    volumes_root: &Path,
) -> Result<MountSpec, ContainerError> {
    let destination = absolute(destination)?;
    let source_path = if source.starts_with('/') {
        let path = PathBuf::from(source);
        if !path.exists() {
            // Docker creates a missing bind source directory for -v (not for --mount).
            std::fs::create_dir_all(&path).map_err(|e| ContainerError::io(&path, e))?;
        }
        path
    } else {
        crate::container::volumes::ensure(volumes_root, source)?
    };
    Ok(MountSpec {
        destination,
        kind: MountKind::Bind {
            source: source_path,
            readonly,
            recursive: true,
        },
    })
}

/// The names a container's /etc/hosts gives beyond localhost: its own address (for its
/// hostname) and the other containers on its user-defined networks.
#[derive(Clone, Debug, Default)]
pub struct HostsEntries {
    pub own_address: Option<Ipv4Addr>,
    pub peers: Vec<(Ipv4Addr, Vec<String>)>,
}

/// The text of a container's /etc/hosts.
pub fn hosts_text(
    hostname: &str,
    host: &HostConfig,
    network: &NetworkNamespace,
    entries: &HostsEntries,
) -> String {
    let mut hosts = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for extra in host.extra_hosts.iter().flatten() {
        if let Some((name, address)) = extra.split_once(':').or_else(|| extra.split_once('=')) {
            hosts.push_str(&format!("{address}\t{name}\n"));
        }
    }
    if !matches!(network, NetworkNamespace::Host) {
        let own = entries
            .own_address
            .map_or_else(|| "127.0.1.1".to_string(), |a| a.to_string());
        hosts.push_str(&format!("{own}\t{hostname}\n"));
    }
    for (address, names) in &entries.peers {
        hosts.push_str(&format!("{address}\t{}\n", names.join(" ")));
    }
    hosts
}

/// The hostname a record's container runs with.
pub fn hostname(record: &ContainerRecord) -> String {
    let config: ContainerConfig = record.config_typed();
    if config.hostname.is_empty() {
        record.short_id().to_string()
    } else {
        config.hostname
    }
}

/// Rewrites a running container's /etc/hosts in place (same inode: it is bind-mounted),
/// when containers on its networks come and go.
pub fn rewrite_hosts(
    dir: &Path,
    record: &ContainerRecord,
    entries: &HostsEntries,
) -> Result<(), ContainerError> {
    let text = hosts_text(
        &hostname(record),
        &record.host_config_typed(),
        &NetworkNamespace::New,
        entries,
    );
    let path = dir.join("hosts");
    std::fs::write(&path, text).map_err(|e| ContainerError::io(&path, e))
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, written into its
/// directory and bound over the image's (which stay untouched in the layers).
pub fn write_etc_files(
    dir: &Path,
    hostname: &str,
    host: &HostConfig,
    network: &NetworkNamespace,
    entries: &HostsEntries,
) -> Result<Vec<MountSpec>, ContainerError> {
    let write = |name: &str, text: String| -> Result<PathBuf, ContainerError> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| ContainerError::io(&path, e))?;
        Ok(path)
    };
    let hosts = hosts_text(hostname, host, network, entries);
    let mut resolv = String::new();
    let dns = host.dns.clone().unwrap_or_default();
    if dns.is_empty() {
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for line in host_resolv.lines() {
            // A host's local stub resolver is unreachable from another network namespace.
            let local = line.starts_with("nameserver 127.") || line.starts_with("nameserver ::1");
            if !local || matches!(network, NetworkNamespace::Host) {
                resolv.push_str(line);
                resolv.push('\n');
            }
        }
    } else {
        for server in dns {
            resolv.push_str(&format!("nameserver {server}\n"));
        }
    }
    if let Some(search) = host.dns_search.as_ref().filter(|s| !s.is_empty()) {
        resolv.push_str(&format!("search {}\n", search.join(" ")));
    }
    if let Some(options) = host.dns_options.as_ref().filter(|o| !o.is_empty()) {
        resolv.push_str(&format!("options {}\n", options.join(" ")));
    }
    let files = [
        ("hostname", write("hostname", format!("{hostname}\n"))?),
        ("hosts", write("hosts", hosts)?),
        ("resolv.conf", write("resolv.conf", resolv)?),
    ];
    Ok(files
        .into_iter()
        .map(|(name, source)| MountSpec {
            destination: format!("/etc/{name}"),
            kind: MountKind::Bind {
                source,
                readonly: false,
                recursive: false,
            },
        })
        .collect())
}

/// Refuses network modes Berth cannot give (`container:` with nothing after it).
pub fn check_network_mode(mode: &str) -> Result<(), ContainerError> {
    if mode == "container:" {
        return Err(ContainerError::BadInput(
            "network mode container: needs a container name or ID".into(),
        ));
    }
    Ok(())
}

fn rlimits(host: &HostConfig) -> Vec<Rlimit> {
    host.ulimits
        .iter()
        .flatten()
        .map(|u| Rlimit {
            kind: format!("RLIMIT_{}", u.name.to_ascii_uppercase()),
            soft: u.soft.max(0) as u64,
            hard: u.hard.max(0) as u64,
        })
        .collect()
}

/// What Docker adds to every container's environment: `PATH` (its default), `HOSTNAME`,
/// and `TERM=xterm` with a TTY (unless the image or request set them).
fn runtime_env(mut env: Vec<String>, hostname: &str, tty: bool) -> Vec<String> {
    let has = |env: &[String], key: &str| env.iter().any(|e| e.split('=').next() == Some(key));
    if !has(&env, "PATH") {
        // Docker's default for images without one (e.g. made by `docker import`).
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        );
    }
    if !has(&env, "HOSTNAME") {
        env.insert(1.min(env.len()), format!("HOSTNAME={hostname}"));
    }
    if tty && !has(&env, "TERM") {
        env.push("TERM=xterm".to_string());
    }
    env
}

pub struct SpecInputs<'a> {
    pub record: &'a ContainerRecord,
    pub dir: &'a Path,
    pub rootfs: PathBuf,
    pub cgroup_procs: Vec<PathBuf>,
    pub volumes_root: &'a Path,
    pub network: NetworkNamespace,
    pub hosts: HostsEntries,
}

/// The whole spec for starting `record`'s main process.
pub fn build(inputs: SpecInputs<'_>) -> Result<RuntimeSpec, ContainerError> {
    let record = inputs.record;
    let config: ContainerConfig = record.config_typed();
    let host: HostConfig = record.host_config_typed();
    let network = inputs.network;
    let hostname = hostname(record);
    let mut mounts = write_etc_files(inputs.dir, &hostname, &host, &network, &inputs.hosts)?;
    let env = runtime_env(
        config.env.clone().unwrap_or_default(),
        &hostname,
        config.tty,
    );
    if host.shm_size > 0 {
        mounts.push(MountSpec {
            destination: "/dev/shm".into(),
            kind: MountKind::Tmpfs {
                options: format!("size={},mode=1777,nosuid,nodev,noexec", host.shm_size),
                readonly: false,
            },
        });
    }
    mounts.extend(volume_mounts(&host, inputs.volumes_root)?);
    let (masked, readonly) = if host.privileged {
        (Vec::new(), Vec::new())
    } else {
        (
            DEFAULT_MASKED_PATHS.iter().map(|p| p.to_string()).collect(),
            DEFAULT_READONLY_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        )
    };
    Ok(RuntimeSpec {
        id: record.id.clone(),
        rootfs: inputs.rootfs,
        readonly_rootfs: host.readonly_rootfs,
        hostname,
        process: ProcessSpec {
            args: record.argv.clone(),
            env,
            cwd: if config.working_dir.is_empty() {
                "/".into()
            } else {
                config.working_dir.clone()
            },
            user: config.user.clone(),
            additional_groups: host.group_add.clone().unwrap_or_default(),
            tty: config.tty,
            open_stdin: config.open_stdin,
            stdin_once: config.stdin_once,
            console_size: host.console_size.filter(|s| s[0] > 0 && s[1] > 0),
            capabilities: capabilities(&host)?,
            no_new_privileges: !host.privileged,
            rlimits: rlimits(&host),
        },
        mounts,
        namespaces: Namespaces {
            network,
            host_pid: host.pid_mode == "host",
            host_ipc: host.ipc_mode == "host",
            host_uts: host.uts_mode == "host",
        },
        cgroup_procs: inputs.cgroup_procs,
        masked_paths: masked,
        readonly_paths: readonly,
        privileged: host.privileged,
        init: host.init == Some(true),
        log_path: inputs.dir.join(format!("{}-json.log", record.id)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_arithmetic() {
        let host = HostConfig {
            cap_add: Some(vec!["sys_admin".into()]),
            cap_drop: Some(vec!["CAP_CHOWN".into(), "net_raw".into()]),
            ..Default::default()
        };
        let caps = capabilities(&host).unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_NET_RAW".to_string()));
        let none = HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(vec!["KILL".into()]),
            ..Default::default()
        };
        assert_eq!(capabilities(&none).unwrap(), vec!["CAP_KILL"]);
        let bad = HostConfig {
            cap_add: Some(vec!["FLY".into()]),
            ..Default::default()
        };
        assert!(capabilities(&bad).is_err());
    }

    #[test]
    fn binds_parse_and_reject() {
        let dir = tempfile::tempdir().unwrap();
        let host = HostConfig {
            binds: Some(vec![format!("{}:/data:ro", dir.path().display())]),
            ..Default::default()
        };
        let mounts = volume_mounts(&host, dir.path()).unwrap();
        assert!(matches!(
            &mounts[0].kind,
            MountKind::Bind { readonly: true, .. }
        ));
        let host = HostConfig {
            binds: Some(vec!["/a:relative".into()]),
            ..Default::default()
        };
        assert!(volume_mounts(&host, dir.path()).is_err());
    }
}
