//! A throw-away root filesystem over an image, for the steps that change files without
//! running anything (COPY, ADD, WORKDIR): `build/work/<id>/` with the container layout the
//! snapshotter knows (`upper/`, `work/`, `rootfs/`), mounted, written, then turned into a
//! layer tar by the same diff code `docker commit` uses. Dropped = unmounted and deleted;
//! what a killed agent leaves is deleted at the next start ([`clean_leftovers`]).

use crate::image::Images;
use crate::layer::diff::write_layer_tar;
use crate::layer::snapshot::Driver;
use crate::store::digest::Digest;
use crate::store::records::ImageRecord;
use std::path::{Path, PathBuf};

pub struct Scratch {
    dir: PathBuf,
    driver: Driver,
    lowers: Vec<PathBuf>,
}

/// The layer directories of an image, bottom first.
pub fn lowers(images: &Images, image: &ImageRecord) -> Result<Vec<PathBuf>, String> {
    image
        .layers
        .iter()
        .map(|chain| {
            Digest::parse(chain)
                .map(|d| images.store().layers.diff(&d))
                .map_err(|e| format!("layer {chain}: {e}"))
        })
        .collect()
}

impl Scratch {
    /// Mounts a fresh snapshot of `lowers` under `work_root`; returns it and its root.
    pub fn mount(
        work_root: &Path,
        driver: Driver,
        mut lowers: Vec<PathBuf>,
    ) -> Result<(Scratch, PathBuf), String> {
        let id = crate::util::random::hex_secret(16).map_err(|e| format!("random: {e}"))?;
        let dir = work_root.join(id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {dir:?}: {e}"))?;
        if lowers.is_empty() {
            // FROM scratch: overlay needs a lower layer; an empty one is nothing.
            let empty = dir.join("empty");
            std::fs::create_dir(&empty).map_err(|e| format!("creating {empty:?}: {e}"))?;
            lowers.push(empty);
        }
        let scratch = Scratch {
            dir,
            driver,
            lowers,
        };
        scratch
            .driver
            .prepare(&scratch.dir, &scratch.lowers)
            .map_err(|e| e.to_string())?;
        let rootfs = scratch
            .driver
            .mount(&scratch.dir, &scratch.lowers)
            .map_err(|e| e.to_string())?;
        Ok((scratch, rootfs))
    }

    /// Unmounts, then writes what changed as a layer tar. Blocking.
    pub fn write_layer(&self, out: impl std::io::Write) -> Result<(), String> {
        if self.driver == Driver::Overlay {
            self.driver.unmount(&self.dir).map_err(|e| e.to_string())?;
        }
        write_layer_tar(self.driver, &self.dir, &self.lowers, out)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.driver.remove(&self.dir) {
            tracing::warn!("removing the build snapshot {:?}: {e}", self.dir);
        }
    }
}

/// Unmounts and deletes snapshots a previous agent left (killed mid-build).
pub fn clean_leftovers(work_root: &Path, driver: Driver) {
    let Ok(entries) = std::fs::read_dir(work_root) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if let Err(e) = driver.remove(&dir) {
            tracing::warn!("removing the stale build snapshot {dir:?}: {e}");
        }
    }
}
