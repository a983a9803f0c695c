//! The create request (`POST /containers/create`) as Berth reads it, and its merge with
//! the image's defaults. Unknown keys are kept verbatim in the raw JSON for `inspect`;
//! these typed views hold only what the engine acts on.

use super::ContainerError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `Config` of the create body (Docker's ContainerConfig); all keys optional.
#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub image: String,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub labels: Option<BTreeMap<String, String>>,
    pub hostname: String,
    pub domainname: String,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub volumes: Option<BTreeMap<String, Value>>,
}

/// `HostConfig` of the create body: the parts Berth honours.
#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub auto_remove: bool,
    pub binds: Option<Vec<String>>,
    pub mounts: Option<Vec<MountRequest>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub network_mode: String,
    pub port_bindings: Option<BTreeMap<String, Value>>,
    pub publish_all_ports: bool,
    pub restart_policy: RestartPolicy,
    pub privileged: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub memory: i64,
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub pids_limit: Option<i64>,
    pub blkio_weight: u16,
    pub console_size: Option<[u16; 2]>,
    pub init: Option<bool>,
    pub extra_hosts: Option<Vec<String>>,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub readonly_rootfs: bool,
    pub ulimits: Option<Vec<Ulimit>>,
    pub group_add: Option<Vec<String>>,
    pub pid_mode: String,
    pub ipc_mode: String,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub shm_size: i64,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// One `--mount` (HostConfig.Mounts entry).
#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountRequest {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    pub size_bytes: i64,
    pub mode: u32,
}

impl RestartPolicy {
    /// Checks the policy name and count as Docker does.
    pub fn validate(&self) -> Result<(), ContainerError> {
        match self.name.as_str() {
            "" | "no" | "always" | "unless-stopped" if self.maximum_retry_count == 0 => Ok(()),
            "" | "no" | "always" | "unless-stopped" => Err(ContainerError::BadInput(format!(
                "invalid restart policy: maximum retry count can only be used with 'on-failure', not {:?}",
                self.name
            ))),
            "on-failure" if self.maximum_retry_count >= 0 => Ok(()),
            "on-failure" => Err(ContainerError::BadInput(
                "invalid restart policy: maximum retry count cannot be negative".into(),
            )),
            other => Err(ContainerError::BadInput(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            ))),
        }
    }
}

/// The create body split into its parts, each kept raw for `inspect` and typed for use.
pub struct CreateRequest {
    pub config_raw: Map<String, Value>,
    pub host_config_raw: Map<String, Value>,
    pub networking_raw: Value,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
}

impl CreateRequest {
    /// Splits and types the body. Config keys sit at the top level of the body.
    pub fn parse(body: &[u8]) -> Result<Self, ContainerError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ContainerError::BadInput(format!("invalid JSON in create body: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(ContainerError::BadInput(
                "invalid create body: expected a JSON object".into(),
            ));
        };
        let host_config_raw = match object.remove("HostConfig") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                return Err(ContainerError::BadInput(
                    "invalid HostConfig: expected an object".into(),
                ));
            }
        };
        let networking_raw = object.remove("NetworkingConfig").unwrap_or(Value::Null);
        let config: ContainerConfig = serde_json::from_value(Value::Object(object.clone()))
            .map_err(|e| ContainerError::BadInput(format!("invalid container config: {e}")))?;
        let host_config: HostConfig =
            serde_json::from_value(Value::Object(host_config_raw.clone()))
                .map_err(|e| ContainerError::BadInput(format!("invalid HostConfig: {e}")))?;
        if config.image.trim().is_empty() {
            return Err(ContainerError::BadInput(
                "config.Image: no image given".into(),
            ));
        }
        host_config.restart_policy.validate()?;
        if host_config.auto_remove && !matches!(host_config.restart_policy.name.as_str(), "" | "no")
        {
            return Err(ContainerError::Conflict(
                "conflicting options: cannot specify both --restart and --rm".into(),
            ));
        }
        Ok(CreateRequest {
            config_raw: object,
            host_config_raw,
            networking_raw,
            config,
            host_config,
        })
    }
}

/// The image's container defaults (its config's `config` object).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageDefaults {
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub stop_signal: String,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub volumes: Option<BTreeMap<String, Value>>,
}

/// What the container runs once the request and the image are merged.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
}

impl Merged {
    /// `Path` and `Args` of inspect: the first word and the rest.
    pub fn argv(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

/// Docker's merge: an Entrypoint given in the request resets the image's Cmd unless a Cmd
/// is given too; `[""]` as Entrypoint clears it; Env entries override the image's by key;
/// labels are the image's overlaid with the request's.
pub fn merge(request: &ContainerConfig, image: &ImageDefaults) -> Result<Merged, ContainerError> {
    let entrypoint = match &request.entrypoint {
        Some(e) if e.len() == 1 && e[0].is_empty() => Vec::new(),
        Some(e) => e.clone(),
        None => image.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = match (&request.cmd, &request.entrypoint) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => image.cmd.clone().unwrap_or_default(),
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(ContainerError::BadInput("no command specified".to_string()));
    }
    let env = merge_env(
        image.env.as_deref().unwrap_or_default(),
        request.env.as_deref().unwrap_or_default(),
    );
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(request.labels.clone().unwrap_or_default());
    Ok(Merged {
        entrypoint,
        cmd,
        env,
        working_dir: non_empty(&request.working_dir, &image.working_dir),
        user: non_empty(&request.user, &image.user),
        labels,
        stop_signal: non_empty(&request.stop_signal, &image.stop_signal),
    })
}

fn non_empty(first: &str, fallback: &str) -> String {
    if first.is_empty() { fallback } else { first }.to_string()
}

/// `KEY=value` lists: later keys replace earlier ones in place; a bare `KEY` in the
/// request (no `=`) is dropped, as Docker does for an unset variable.
pub fn merge_env(image: &[String], request: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in image.iter().chain(request) {
        let key = entry.split('=').next().unwrap_or(entry);
        if !entry.contains('=') {
            continue;
        }
        match out.iter_mut().find(|e| e.split('=').next() == Some(key)) {
            Some(existing) => *existing = entry.clone(),
            None => out.push(entry.clone()),
        }
    }
    if !out.iter().any(|e| e.starts_with("PATH=")) {
        out.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageDefaults {
        ImageDefaults {
            cmd: Some(vec!["sh".into()]),
            entrypoint: None,
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            working_dir: "/srv".into(),
            ..Default::default()
        }
    }

    #[test]
    fn request_cmd_replaces_image_cmd() {
        let request = ContainerConfig {
            cmd: Some(vec!["echo".into(), "hi".into()]),
            env: Some(vec!["A=2".into(), "B=3".into()]),
            ..Default::default()
        };
        let m = merge(&request, &image()).unwrap();
        assert_eq!(m.argv(), vec!["echo", "hi"]);
        assert_eq!(m.env, vec!["PATH=/bin", "A=2", "B=3"]);
        assert_eq!(m.working_dir, "/srv");
    }

    #[test]
    fn entrypoint_resets_image_cmd_and_empty_entrypoint_clears() {
        let request = ContainerConfig {
            entrypoint: Some(vec!["/bin/true".into()]),
            ..Default::default()
        };
        assert_eq!(merge(&request, &image()).unwrap().argv(), vec!["/bin/true"]);
        let image = ImageDefaults {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: Some(vec!["x".into()]),
            ..Default::default()
        };
        let request = ContainerConfig {
            entrypoint: Some(vec![String::new()]),
            cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        assert_eq!(merge(&request, &image).unwrap().argv(), vec!["ls"]);
    }

    #[test]
    fn nothing_to_run_is_an_error() {
        assert!(merge(&ContainerConfig::default(), &ImageDefaults::default()).is_err());
    }

    #[test]
    fn parse_rejects_bad_restart_policy_and_rm_with_restart() {
        let bad = br#"{"Image":"x","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}"#;
        assert!(CreateRequest::parse(bad).is_err());
        let both =
            br#"{"Image":"x","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}"#;
        assert!(matches!(
            CreateRequest::parse(both),
            Err(ContainerError::Conflict(_))
        ));
        let ok = br#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}}}"#;
        let parsed = CreateRequest::parse(ok).unwrap();
        assert_eq!(parsed.host_config.restart_policy.maximum_retry_count, 3);
    }
}
