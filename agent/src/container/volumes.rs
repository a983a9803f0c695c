//! Named volumes: `<data root>/volumes/<name>/_data`, made on first use and kept after
//! the containers that used them are gone.

use super::ContainerError;
use std::path::{Path, PathBuf};

/// Docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<(), ContainerError> {
    let mut chars = name.chars();
    let ok = name.len() >= 2
        && name.len() <= 255
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ContainerError::BadInput(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )))
    }
}

/// The data directory of volume `name`, created if missing.
pub fn ensure(volumes_root: &Path, name: &str) -> Result<PathBuf, ContainerError> {
    validate_name(name)?;
    let data = volumes_root.join(name).join("_data");
    std::fs::create_dir_all(&data).map_err(|e| ContainerError::io(&data, e))?;
    Ok(data)
}

/// What `docker volume inspect` shows.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct VolumeInfo {
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

const INFO_FILE: &str = "volume.json";

impl VolumeInfo {
    pub fn to_docker(&self, volumes_root: &Path) -> serde_json::Value {
        serde_json::json!({
            "Name": self.name,
            "Driver": "local",
            "Mountpoint": volumes_root.join(&self.name).join("_data"),
            "CreatedAt": self.created_at,
            "Labels": self.labels,
            "Options": {},
            "Scope": "local",
        })
    }
}

/// `docker volume create`: idempotent, as Docker's local driver is.
pub fn create(
    volumes_root: &Path,
    name: &str,
    labels: std::collections::BTreeMap<String, String>,
) -> Result<VolumeInfo, ContainerError> {
    ensure(volumes_root, name)?;
    if let Some(existing) = info(volumes_root, name)? {
        return Ok(existing);
    }
    let info = VolumeInfo {
        name: name.to_string(),
        created_at: crate::util::clock::rfc3339(std::time::SystemTime::now()),
        labels,
    };
    let path = volumes_root.join(name).join(INFO_FILE);
    let bytes = serde_json::to_vec(&info).map_err(|e| ContainerError::Runtime(e.to_string()))?;
    crate::util::atomic_file::write_atomic(&path, &bytes, 0o600)
        .map_err(|e| ContainerError::io(&path, e))?;
    Ok(info)
}

/// A volume's record; one made implicitly by `-v name:/path` gets one on first look.
pub fn info(volumes_root: &Path, name: &str) -> Result<Option<VolumeInfo>, ContainerError> {
    validate_name(name)?;
    let dir = volumes_root.join(name);
    if !dir.join("_data").is_dir() {
        return Ok(None);
    }
    match std::fs::read(dir.join(INFO_FILE)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let created = std::fs::metadata(&dir)
                .and_then(|m| m.modified())
                .map(crate::util::clock::rfc3339)
                .unwrap_or_default();
            Ok(Some(VolumeInfo {
                name: name.to_string(),
                created_at: created,
                labels: Default::default(),
            }))
        }
        Err(e) => Err(ContainerError::io(dir.join(INFO_FILE), e)),
    }
}

/// Every volume, by name.
pub fn list(volumes_root: &Path) -> Result<Vec<VolumeInfo>, ContainerError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(volumes_root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(ContainerError::io(volumes_root, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(Some(v)) = info(volumes_root, &name) {
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Deletes a volume and its data.
pub fn remove(volumes_root: &Path, name: &str) -> Result<(), ContainerError> {
    validate_name(name)?;
    let dir = volumes_root.join(name);
    if !dir.exists() {
        return Err(ContainerError::NotFound(format!("volume {name}")));
    }
    std::fs::remove_dir_all(&dir).map_err(|e| ContainerError::io(&dir, e))
}
