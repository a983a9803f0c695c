//! Docker's system calls: `/_ping`, `/version`, `/info`.

use super::state::AppState;
use crate::system::{cgroups, facts::go_arch};
use crate::util::clock::rfc3339;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::{API_VERSION, MIN_API_VERSION};
use std::time::SystemTime;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET|HEAD /_ping`: the CLI's first call; it reads the headers to negotiate.
pub async fn ping() -> Response {
    let mut response = "OK".into_response();
    let h = response.headers_mut();
    h.insert("builder-version", HeaderValue::from_static("1"));
    h.insert("swarm", HeaderValue::from_static("inactive"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub async fn version(State(state): State<AppState>) -> Json<Value> {
    let host = &state.engine.host;
    let arch = go_arch(&host.arch);
    let git_commit = option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown");
    // The same fields stand at the top level and in the engine component's details.
    let mut top = json!({
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": git_commit,
        "GoVersion": "n/a (Rust)",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": host.kernel,
        "BuildTime": "",
    });
    let mut details = top.clone();
    details["Experimental"] = json!("false");
    top["Platform"] = json!({ "Name": "Berth" });
    top["Components"] = json!([{ "Name": "Engine", "Version": VERSION, "Details": details }]);
    top["Version"] = json!(VERSION);
    Json(top)
}

pub async fn info(State(state): State<AppState>) -> Json<Value> {
    let engine = &state.engine;
    let facts = engine.host_facts();
    let controllers = cgroups::controllers(engine.host.cgroup);
    let has = |c: &str| controllers.iter().any(|x| x == c);
    let stopped = facts.containers.saturating_sub(facts.containers_running);
    let runtime_path = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "berth".to_string());
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    Json(json!({
        "ID": engine.engine_id(),
        "Name": facts.name,
        "ServerVersion": VERSION,
        "Containers": facts.containers,
        "ContainersRunning": facts.containers_running,
        "ContainersPaused": 0,
        "ContainersStopped": stopped,
        "Images": facts.images,
        "Driver": facts.storage_driver,
        "DriverStatus": [["Backing Filesystem", backing_filesystem(engine.root())]],
        "DockerRootDir": facts.data_root,
        "Plugins": { "Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": null, "Log": ["json-file"] },
        "MemoryLimit": has("memory"),
        "SwapLimit": has("memory"),
        "CpuCfsPeriod": has("cpu"),
        "CpuCfsQuota": has("cpu"),
        "CPUShares": has("cpu"),
        "CPUSet": has("cpuset"),
        "PidsLimit": has("pids"),
        "OomKillDisable": false,
        "IPv4Forwarding": std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|s| s.trim() == "1").unwrap_or(false),
        "Debug": false,
        "NFd": open_fds,
        "NGoroutines": 0,
        "SystemTime": rfc3339(SystemTime::now()),
        "LoggingDriver": "json-file",
        "CgroupDriver": facts.cgroup_driver,
        "CgroupVersion": facts.cgroup_version,
        "NEventsListener": engine.events.listener_count(),
        "KernelVersion": facts.kernel,
        "OperatingSystem": facts.operating_system,
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": facts.arch,
        "NCPU": facts.cpus,
        "MemTotal": facts.mem_total,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"],
            "IndexConfigs": {},
            "Mirrors": []
        },
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Labels": [],
        "ExperimentalBuild": false,
        "Runtimes": { "berth": { "path": runtime_path } },
        "DefaultRuntime": "berth",
        "Swarm": {
            "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
            "ControlAvailable": false, "Error": "", "RemoteManagers": null
        },
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": { "ID": "" },
        "RuncCommit": { "ID": "" },
        "InitCommit": { "ID": "" },
        "SecurityOptions": [],
        "CDISpecDirs": [],
        "Warnings": [],
    }))
}

/// The filesystem type under the data root, as `docker info` shows it (`extfs`, `xfs`…).
fn backing_filesystem(root: &std::path::Path) -> &'static str {
    match rustix::fs::statfs(root) {
        #[allow(clippy::unnecessary_cast)]
        Ok(s) => match s.f_type as u64 {
            0xEF53 => "extfs",
            0x5846_5342 => "xfs",
            0x9123_683E => "btrfs",
            0x0102_1994 => "tmpfs",
            0x794C_7630 => "overlayfs",
            _ => "unknown",
        },
        Err(_) => "unknown",
    }
}
