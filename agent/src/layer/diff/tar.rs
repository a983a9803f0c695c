//! The layer tar of what a container changed (`docker commit`, DESIGN §5).
//!
//! - overlay: every entry of `upper/`, walked in path order (parents first); a whiteout
//!   (char 0:0) becomes an empty regular file `.wh.<name>`, an opaque directory the directory
//!   followed by `<dir>/.wh..wh..opq`.
//! - vfs: the entries [`super::changes`] finds, Deleted ones as `.wh.<name>`.
//!
//! Entries keep mode, owner, mtime, symlink targets, devices and FIFOs; a file met twice
//! (same inode) is a hardlink the second time; xattrs except `trusted.overlay.*` go in PAX
//! `SCHILY.xattr.` records, as do names and link targets too long for ustar. Sockets are
//! skipped. The tree is the container's (hostile): it is walked with directory fds and
//! `O_NOFOLLOW`, never through a symlink, and a file is read for exactly the size its
//! header announced (zero-padded if it shrank meanwhile), so the tar is always well formed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, Stat, major, minor, openat2, readlinkat};
use tar::{EntryType, Header};

use super::changes::{ChangeKind, raw_changes};
use crate::layer::snapshot::fsops::{
    file_type, is_dir, is_opaque_at, is_whiteout, lstat_opt, open_dir_at, open_file_at,
    open_path_dir, perm, read_names, xattrs_at,
};
use crate::layer::snapshot::{Driver, Result, SnapshotError};

/// What [`write_layer_tar`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerTarStats {
    /// Bytes of tar written (headers, data, padding, end blocks).
    pub bytes: u64,
    /// Entries (PAX extension headers not counted; whiteout files counted).
    pub entries: u64,
}

/// Writes the container's changes against `lowers` (layer diff dirs, bottom first) to `out`
/// as an uncompressed layer tar. Blocking. The container should be stopped or paused.
pub fn write_layer_tar(
    driver: Driver,
    container_dir: &Path,
    lowers: &[PathBuf],
    out: impl Write,
) -> Result<LayerTarStats> {
    let mut tar = TarOut::new(out);
    match driver {
        Driver::Overlay => {
            let upper = container_dir.join("upper");
            let fd = open_path_dir(&upper).map_err(|e| SnapshotError::new("open", &upper, e))?;
            tar.walk_upper(&fd, b"")
                .map_err(|e| SnapshotError::new("write layer tar of", &upper, e))?;
        }
        Driver::Vfs => {
            let rootfs = container_dir.join("rootfs");
            let changes = raw_changes(driver, container_dir, lowers)?;
            let fd = open_path_dir(&rootfs).map_err(|e| SnapshotError::new("open", &rootfs, e))?;
            for change in changes {
                tar.add_change(&fd, &change.path, change.kind)
                    .map_err(|e| SnapshotError::new("write layer tar of", &rootfs, e))?;
            }
        }
    }
    tar.finish()
        .map_err(|e| SnapshotError::new("write layer tar of", container_dir, e))
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads exactly `left` bytes from `inner`: zeros once `inner` ends early.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct TarOut<W: Write> {
    builder: tar::Builder<Counting<W>>,
    /// (dev, ino) of multiply-linked files already written → their tar name.
    links: HashMap<(u64, u64), Vec<u8>>,
    entries: u64,
}

const USTAR_OCTAL_MAX: u64 = 0o7_777_777;
const USTAR_SIZE_MAX: u64 = 0o77_777_777_777;

/// One PAX record: `"<len> <key>=<value>\n"`, the length counting itself.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn copy_field(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Puts `path` in the ustar name (and prefix) fields; false if it does not fit.
fn set_ustar_name(header: &mut Header, path: &[u8]) -> bool {
    let Some(ustar) = header.as_ustar_mut() else {
        return false;
    };
    if path.len() <= 100 {
        copy_field(&mut ustar.name, path);
        ustar.prefix.fill(0);
        return true;
    }
    // Split at a '/' so that the prefix has ≤ 155 bytes and the name ≤ 100.
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    for (i, b) in trimmed.iter().enumerate().rev() {
        if *b != b'/' {
            continue;
        }
        let (prefix, name) = (&path[..i], &path[i + 1..]);
        if name.len() > 100 {
            return false;
        }
        if prefix.len() <= 155 && !prefix.is_empty() && !name.is_empty() {
            copy_field(&mut ustar.prefix, prefix);
            copy_field(&mut ustar.name, name);
            return true;
        }
    }
    false
}

impl<W: Write> TarOut<W> {
    fn new(out: W) -> Self {
        TarOut {
            builder: tar::Builder::new(Counting {
                inner: out,
                bytes: 0,
            }),
            links: HashMap::new(),
            entries: 0,
        }
    }

    fn finish(self) -> io::Result<LayerTarStats> {
        let entries = self.entries;
        let mut counting = self.builder.into_inner()?;
        counting.flush()?;
        Ok(LayerTarStats {
            bytes: counting.bytes,
            entries,
        })
    }

    /// A header with the common metadata of `stat`.
    fn header(stat: &Stat, kind: EntryType, pax: &mut Vec<u8>) -> Header {
        let mut h = Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(perm(stat));
        let uid = u64::from(stat.st_uid);
        let gid = u64::from(stat.st_gid);
        h.set_uid(uid.min(USTAR_OCTAL_MAX));
        h.set_gid(gid.min(USTAR_OCTAL_MAX));
        if uid > USTAR_OCTAL_MAX {
            pax_record(pax, b"uid", uid.to_string().as_bytes());
        }
        if gid > USTAR_OCTAL_MAX {
            pax_record(pax, b"gid", gid.to_string().as_bytes());
        }
        h.set_mtime(u64::try_from(stat.st_mtime).unwrap_or(0));
        h.set_size(0);
        h
    }

    /// Writes one entry: PAX header first if `pax` has records or the names do not fit.
    fn append(
        &mut self,
        mut header: Header,
        path: &[u8],
        link: Option<&[u8]>,
        mut pax: Vec<u8>,
        data: impl Read,
    ) -> io::Result<()> {
        if !set_ustar_name(&mut header, path) {
            pax_record(&mut pax, b"path", path);
            let tail = &path[path.len().saturating_sub(100)..];
            if let Some(u) = header.as_ustar_mut() {
                copy_field(&mut u.name, tail);
                u.prefix.fill(0);
            }
        }
        if let Some(link) = link
            && let Some(u) = header.as_ustar_mut()
        {
            if link.len() > 100 {
                pax_record(&mut pax, b"linkpath", link);
            }
            copy_field(&mut u.linkname, link);
        }
        if !pax.is_empty() {
            let mut ph = Header::new_ustar();
            ph.set_entry_type(EntryType::XHeader);
            ph.set_mode(0o644);
            ph.set_size(pax.len() as u64);
            let mut name = b"PaxHeaders.0/".to_vec();
            let base = path
                .strip_suffix(b"/")
                .unwrap_or(path)
                .rsplit(|b| *b == b'/')
                .next()
                .unwrap_or_default();
            name.extend_from_slice(&base[..base.len().min(80)]);
            if let Some(u) = ph.as_ustar_mut() {
                copy_field(&mut u.name, &name);
            }
            ph.set_cksum();
            self.builder.append(&ph, pax.as_slice())?;
        }
        header.set_cksum();
        self.builder.append(&header, data)?;
        self.entries += 1;
        Ok(())
    }

    /// An empty regular file (whiteouts, opaque markers).
    fn marker(&mut self, path: &[u8], stat: &Stat) -> io::Result<()> {
        let mut pax = Vec::new();
        let h = Self::header(stat, EntryType::Regular, &mut pax);
        self.append(h, path, None, pax, io::empty())
    }

    /// The whiteout for `path` (relative, `a/b`): `a/.wh.b`.
    fn whiteout(&mut self, path: &[u8], stat: &Stat) -> io::Result<()> {
        let (dir, base) = match path.iter().rposition(|b| *b == b'/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => (&b""[..], path),
        };
        let mut name = dir.to_vec();
        name.extend_from_slice(b".wh.");
        name.extend_from_slice(base);
        self.marker(&name, stat)
    }

    /// The entry for `name` in `dir`, written as `path` (relative, no leading '/').
    fn add(&mut self, dir: &OwnedFd, name: &OsStr, path: &[u8], stat: &Stat) -> io::Result<()> {
        if is_whiteout(stat) {
            return self.whiteout(path, stat);
        }
        let kind = file_type(stat);
        let mut pax = Vec::new();
        let entry_type = match kind {
            FileType::Directory => EntryType::Directory,
            FileType::RegularFile => EntryType::Regular,
            FileType::Symlink => EntryType::Symlink,
            FileType::CharacterDevice => EntryType::Char,
            FileType::BlockDevice => EntryType::Block,
            FileType::Fifo => EntryType::Fifo,
            _ => return Ok(()), // sockets: not content
        };
        let mut h = Self::header(stat, entry_type, &mut pax);
        for (key, value) in xattrs_at(dir, name)? {
            let mut k = b"SCHILY.xattr.".to_vec();
            k.extend_from_slice(&key);
            pax_record(&mut pax, &k, &value);
        }
        match kind {
            FileType::Directory => {
                let mut p = path.to_vec();
                p.push(b'/');
                self.append(h, &p, None, pax, io::empty())
            }
            FileType::Symlink => {
                let target = readlinkat(dir, name, Vec::new())?;
                self.append(h, path, Some(target.as_bytes()), pax, io::empty())
            }
            FileType::CharacterDevice | FileType::BlockDevice => {
                h.set_device_major(major(stat.st_rdev as _))?;
                h.set_device_minor(minor(stat.st_rdev as _))?;
                self.append(h, path, None, pax, io::empty())
            }
            FileType::Fifo => self.append(h, path, None, pax, io::empty()),
            _ => {
                let key = (stat.st_dev, stat.st_ino);
                if stat.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        h.set_entry_type(EntryType::Link);
                        return self.append(h, path, Some(&first), pax, io::empty());
                    }
                    self.links.insert(key, path.to_vec());
                }
                let size = stat.st_size.max(0) as u64;
                if size > USTAR_SIZE_MAX {
                    pax_record(&mut pax, b"size", size.to_string().as_bytes());
                }
                h.set_size(size);
                let file = open_file_at(dir, name)?;
                self.append(
                    h,
                    path,
                    None,
                    pax,
                    Exact {
                        inner: file,
                        left: size,
                    },
                )
            }
        }
    }

    /// The overlay upper dir `dir` (at `rel`, `""` for the root), in path order.
    fn walk_upper(&mut self, dir: &OwnedFd, rel: &[u8]) -> io::Result<()> {
        for name in read_names(dir)? {
            let Some(stat) = lstat_opt(dir, &name)? else {
                continue;
            };
            let mut path = rel.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
            self.add(dir, &name, &path, &stat)?;
            if is_dir(&stat) {
                if is_opaque_at(dir, &name) {
                    let mut marker = path.clone();
                    marker.extend_from_slice(b"/.wh..wh..opq");
                    self.marker(&marker, &stat)?;
                }
                let child = open_dir_at(dir, &name)?;
                self.walk_upper(&child, &path)?;
            }
        }
        Ok(())
    }

    /// One change of a vfs rootfs (`path` absolute, as `raw_changes` gives it).
    fn add_change(&mut self, rootfs: &OwnedFd, path: &[u8], kind: ChangeKind) -> io::Result<()> {
        let rel = path.strip_prefix(b"/").unwrap_or(path);
        if rel.is_empty() {
            return Ok(());
        }
        if kind == ChangeKind::Deleted {
            let stat = rustix::fs::fstat(rootfs)?;
            return self.whiteout(rel, &stat);
        }
        let (parent, name) = match rel.iter().rposition(|b| *b == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => (&b"."[..], rel),
        };
        // The parent must be inside the rootfs and reached without any symlink.
        let dir = match openat2(
            rootfs.as_fd(),
            OsStr::from_bytes(parent),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(d) => d,
            Err(rustix::io::Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let name = OsStr::from_bytes(name);
        let Some(stat) = lstat_opt(&dir, name)? else {
            return Ok(()); // gone since the walk
        };
        self.add(&dir, name, rel, &stat)
    }
}
