//! [`LayerBuilder`]: deterministic layer tars (sorted entries, fixed mtime, uid/gid 0), so the
//! same content always gives the same digest.
//!
//! Besides well-formed entries it can write *unchecked* ones (paths with `..`, absolute paths,
//! links pointing anywhere) for hostile-input tests: those bypass the `tar` crate's path checks
//! by writing the header's name field directly.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use tar::{EntryType, Header};

/// The mtime of every entry: 2000-01-01T00:00:00Z.
pub const FIXED_MTIME: u64 = 946_684_800;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File(Vec<u8>),
    /// A symbolic link to the given target.
    Symlink(String),
    /// A hard link to another path in the same archive.
    Hardlink(String),
    /// A character device (major, minor): whiteouts in overlay form are 0:0.
    CharDevice(u32, u32),
    Fifo,
}

/// One tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub path: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub kind: EntryKind,
    /// Write the name bytes as-is, bypassing the tar crate's path checks (hostile tests).
    pub unchecked: bool,
}

/// Collects entries by path and writes them sorted. Missing parent directories are added
/// (mode 0755) for checked entries.
#[derive(Debug, Clone, Default)]
pub struct LayerBuilder {
    entries: BTreeMap<String, TarEntry>,
    /// Unchecked entries keep their insertion order (after the sorted ones).
    unchecked: Vec<TarEntry>,
}

impl LayerBuilder {
    pub fn new() -> LayerBuilder {
        LayerBuilder::default()
    }

    /// Adds (or replaces) a well-formed entry; `path` is relative, without a leading `/`.
    pub fn entry(&mut self, path: &str, mode: u32, kind: EntryKind) -> &mut Self {
        let path = path.trim_matches('/').to_owned();
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            self.entries.entry(up.to_owned()).or_insert(TarEntry {
                path: up.to_owned(),
                mode: 0o755,
                uid: 0,
                gid: 0,
                kind: EntryKind::Dir,
                unchecked: false,
            });
            parent = up;
        }
        self.entries.insert(
            path.clone(),
            TarEntry {
                path,
                mode,
                uid: 0,
                gid: 0,
                kind,
                unchecked: false,
            },
        );
        self
    }

    /// A directory.
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        self.entry(path, mode, EntryKind::Dir)
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        self.entry(path, mode, EntryKind::File(data.into()))
    }

    /// A symbolic link `path` → `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.entry(path, 0o777, EntryKind::Symlink(target.to_owned()))
    }

    /// A hard link `path` → `target` (an earlier entry of the archive).
    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.entry(path, 0o644, EntryKind::Hardlink(target.to_owned()))
    }

    /// An OCI whiteout: deletes `path` of a lower layer (`dir/.wh.name`).
    pub fn whiteout(&mut self, path: &str) -> &mut Self {
        let path = path.trim_matches('/');
        let whiteout = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.wh.{name}"),
            None => format!(".wh.{path}"),
        };
        self.file(&whiteout, 0o644, Vec::new())
    }

    /// An OCI opaque-directory marker: hides everything a lower layer has in `dir`.
    pub fn opaque(&mut self, dir: &str) -> &mut Self {
        let dir = dir.trim_matches('/');
        self.file(&format!("{dir}/.wh..wh..opq"), 0o644, Vec::new())
    }

    /// Sets the owner of an existing entry.
    pub fn owner(&mut self, path: &str, uid: u64, gid: u64) -> &mut Self {
        if let Some(entry) = self.entries.get_mut(path.trim_matches('/')) {
            entry.uid = uid;
            entry.gid = gid;
        }
        self
    }

    /// Adds an entry whose name is written verbatim (at most 100 bytes), e.g. `../escape`,
    /// `/etc/x`, or a symlink to `/`; written after the checked entries, in insertion order.
    pub fn unchecked(&mut self, path: &str, mode: u32, kind: EntryKind) -> &mut Self {
        self.unchecked.push(TarEntry {
            path: path.to_owned(),
            mode,
            uid: 0,
            gid: 0,
            kind,
            unchecked: true,
        });
        self
    }

    /// Number of entries so far.
    pub fn len(&self) -> usize {
        self.entries.len() + self.unchecked.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The uncompressed tar.
    pub fn to_tar(&self) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in self.entries.values().chain(self.unchecked.iter()) {
            append(&mut builder, entry)
                .with_context(|| format!("adding {:?} to the layer tar", entry.path))?;
        }
        builder.into_inner().context("finishing the layer tar")
    }
}

fn append(builder: &mut tar::Builder<Vec<u8>>, entry: &TarEntry) -> Result<()> {
    let mut header = Header::new_gnu();
    header.set_mode(entry.mode);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mtime(FIXED_MTIME);
    header.set_size(0);
    let (entry_type, data, link): (EntryType, &[u8], Option<&str>) = match &entry.kind {
        EntryKind::Dir => (EntryType::Directory, &[], None),
        EntryKind::File(data) => (EntryType::Regular, data, None),
        EntryKind::Symlink(target) => (EntryType::Symlink, &[], Some(target)),
        EntryKind::Hardlink(target) => (EntryType::Link, &[], Some(target)),
        EntryKind::CharDevice(major, minor) => {
            header.set_device_major(*major)?;
            header.set_device_minor(*minor)?;
            (EntryType::Char, &[], None)
        }
        EntryKind::Fifo => (EntryType::Fifo, &[], None),
    };
    header.set_entry_type(entry_type);
    header.set_size(data.len() as u64);
    let name = if entry_type == EntryType::Directory && !entry.path.ends_with('/') {
        format!("{}/", entry.path)
    } else {
        entry.path.clone()
    };
    if entry.unchecked {
        write_name_field(&mut header.as_old_mut().name, &name)?;
        if let Some(target) = link {
            write_name_field(&mut header.as_old_mut().linkname, target)?;
        }
        header.set_cksum();
        builder.append(&header, data)?;
    } else if let Some(target) = link {
        builder.append_link(&mut header, &name, target)?;
    } else {
        builder.append_data(&mut header, &name, data)?;
    }
    Ok(())
}

/// Copies `value` into a fixed 100-byte header field, NUL-padded.
fn write_name_field(field: &mut [u8; 100], value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    if bytes.len() > field.len() {
        bail!("unchecked tar names are limited to 100 bytes: {value:?}");
    }
    field.fill(0);
    field[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                String::from_utf8_lossy(&e.path_bytes()).into_owned()
            })
            .collect()
    }

    #[test]
    fn sorted_with_parents_and_stable() {
        let mut b = LayerBuilder::new();
        b.file("usr/bin/z", 0o755, b"z".to_vec())
            .symlink("bin", "usr/bin")
            .file("a", 0o644, b"a".to_vec());
        let tar = b.to_tar().expect("tar");
        assert_eq!(
            names(&tar),
            ["a", "bin", "usr/", "usr/bin/", "usr/bin/z"].map(String::from)
        );
        assert_eq!(tar, b.to_tar().expect("tar again"));
    }

    #[test]
    fn unchecked_names_are_verbatim() {
        let mut b = LayerBuilder::new();
        b.unchecked("../escape", 0o644, EntryKind::File(b"x".to_vec()))
            .unchecked("link", 0o777, EntryKind::Symlink("/".into()));
        assert_eq!(names(&b.to_tar().expect("tar")), ["../escape", "link"]);
    }
}
