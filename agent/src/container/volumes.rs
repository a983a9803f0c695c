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
