//! A `docker load` upload spooled to disk, so its `manifest.json` (which may come last)
//! can be read before the layers. Entry names are only keys: nothing from the archive
//! chooses a path on disk, and symlinks (old `docker save` dedups layers with them) are
//! resolved by name inside the archive.

use crate::image::error::ImageError;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

const MAX_ENTRIES: usize = 100_000;
const MAX_LINK_HOPS: usize = 8;

pub struct Spool {
    dir: PathBuf,
    files: HashMap<String, PathBuf>,
    links: HashMap<String, String>,
}

fn bad(message: String) -> ImageError {
    ImageError::BadInput(format!("invalid image archive: {message}"))
}

/// `./a/b/../c` → `a/c`; `None` if it climbs out or is empty.
fn normalize(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Spool {
    pub fn read(reader: impl Read, dir: &Path) -> Result<Self, ImageError> {
        std::fs::create_dir_all(dir).map_err(|e| bad(format!("spool dir: {e}")))?;
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            links: HashMap::new(),
        };
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
        for (index, entry) in entries.enumerate() {
            if index >= MAX_ENTRIES {
                return Err(bad(format!("more than {MAX_ENTRIES} entries")));
            }
            let mut entry = entry.map_err(|e| bad(e.to_string()))?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if raw.starts_with('/') {
                return Err(bad(format!("absolute entry name {raw:?}")));
            }
            let name = normalize(&raw)
                .ok_or_else(|| bad(format!("entry name {raw:?} leaves the archive")))?;
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let path = spool.dir.join(format!("{index}"));
                    let mut file = File::create(&path).map_err(|e| bad(format!("spool: {e}")))?;
                    io::copy(&mut entry, &mut file)
                        .map_err(|e| bad(format!("reading {name}: {e}")))?;
                    spool.files.insert(name, path);
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned())
                        .ok_or_else(|| bad(format!("symlink {name} has no target")))?;
                    let base = name.rsplit_once('/').map_or("", |(d, _)| d);
                    let joined = if target.starts_with('/') {
                        return Err(bad(format!("symlink {name} points outside the archive")));
                    } else {
                        format!("{base}/{target}")
                    };
                    let resolved = normalize(&joined)
                        .ok_or_else(|| bad(format!("symlink {name} points outside the archive")))?;
                    spool.links.insert(name, resolved);
                }
                _ => {}
            }
        }
        Ok(spool)
    }

    fn resolve(&self, name: &str) -> Result<&PathBuf, ImageError> {
        let mut current = normalize(name).ok_or_else(|| bad(format!("bad path {name:?}")))?;
        for _ in 0..MAX_LINK_HOPS {
            if let Some(path) = self.files.get(&current) {
                return Ok(path);
            }
            match self.links.get(&current) {
                Some(next) => current = next.clone(),
                None => return Err(bad(format!("{name} is missing from the archive"))),
            }
        }
        Err(bad(format!("{name}: too many symlinks")))
    }

    pub fn has(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    pub fn open(&self, name: &str) -> Result<File, ImageError> {
        let path = self.resolve(name)?;
        File::open(path).map_err(|e| bad(format!("{name}: {e}")))
    }

    /// A small file (JSON) read whole, refusing anything over `max` bytes.
    pub fn read_small(&self, name: &str, max: u64) -> Result<Vec<u8>, ImageError> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if bytes.len() as u64 > max {
            return Err(bad(format!("{name} is larger than {max} bytes")));
        }
        Ok(bytes)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn names_cannot_leave_the_archive() {
        assert_eq!(normalize("./a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("a/../../x"), None);
        assert_eq!(normalize("./"), None);
    }
}
