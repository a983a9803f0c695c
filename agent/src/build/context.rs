//! The build context: the tar the client sends with `POST /build`, read once.
//!
//! Nothing is unpacked. While the tar streams in, each file's data is appended to an
//! unlinked spool file and hashed, and an index keeps every entry's metadata, its data's
//! place in the spool and a digest of both. Cache checks then cost no file I/O (DESIGN §7:
//! a fully cached rebuild must not copy files); COPY reads what it needs from the spool.
//!
//! The tar is hostile input: it goes through the layer extractor's bounded tar reader;
//! absolute names and names with `..` are refused; entry count, name length and total data
//! are bounded; device nodes are left out. Paths inside the context are resolved with
//! symlinks followed *inside* the context (a link to `/etc/shadow` means
//! `<context>/etc/shadow`), never on the host.

use super::ignore::{Ignore, clean};
use crate::layer::{TarEntry, TarKind, TarLimits, TarStream};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bounds on one context.
#[derive(Debug, Clone, Copy)]
pub struct ContextLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
    pub max_name: usize,
}

impl Default for ContextLimits {
    fn default() -> Self {
        ContextLimits {
            max_entries: 1_000_000,
            max_bytes: 16 << 30,
            max_name: 4096,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("reading the build context: {0}")]
    Tar(#[from] crate::layer::LayerError),
    #[error("build context entry {path:?}: {reason}")]
    Entry { path: String, reason: String },
    #[error(
        "the build context is compressed with {0}, which is not supported: send a plain or gzip tar"
    )]
    Compression(&'static str),
    #[error("spooling the build context: {0}")]
    Spool(io::Error),
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// File data: `size` bytes at `offset` of the spool, with its SHA-256.
    File {
        offset: u64,
        size: u64,
        sha256: [u8; 32],
    },
    Dir,
    Symlink(String),
}

/// One path of the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits with setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

impl Entry {
    fn implicit_dir() -> Entry {
        Entry {
            kind: Kind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// What the cache compares: type, mode, owner, link target and content — not the
    /// modification time (as Docker's tarsum v1 leaves it out), so a fresh checkout of
    /// unchanged files still hits the cache.
    pub fn digest_into(&self, hasher: &mut Sha256) {
        match &self.kind {
            Kind::File { size, sha256, .. } => {
                hasher.update(b"f");
                hasher.update(size.to_le_bytes());
                hasher.update(sha256);
            }
            Kind::Dir => hasher.update(b"d"),
            Kind::Symlink(target) => {
                hasher.update(b"l");
                hasher.update((target.len() as u64).to_le_bytes());
                hasher.update(target.as_bytes());
            }
        }
        hasher.update(self.mode.to_le_bytes());
        hasher.update(self.uid.to_le_bytes());
        hasher.update(self.gid.to_le_bytes());
    }
}

/// The indexed context and its spooled file data.
pub struct Context {
    /// Relative, cleaned paths (`a/b`; the root is `""` and not stored).
    entries: BTreeMap<String, Entry>,
    spool: File,
    pub bytes: u64,
}

/// A path looked up in the context, symlinks followed.
#[derive(Debug)]
pub struct Found<'a> {
    /// The path it resolved to (`""` for the root).
    pub path: String,
    pub entry: &'a Entry,
}

/// Reads the whole tar (plain or gzip; zstd too) from `reader` into a context whose data
/// is spooled in an unlinked file under `spool_dir`. Blocking.
pub fn read(
    reader: impl Read,
    spool_dir: &Path,
    limits: ContextLimits,
) -> Result<Context, ContextError> {
    let mut reader = io::BufReader::with_capacity(256 * 1024, reader);
    let prefix = io::BufRead::fill_buf(&mut reader).map_err(ContextError::Spool)?;
    let source: Box<dyn Read> = if prefix.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(reader).map_err(ContextError::Spool)?)
    } else if prefix.starts_with(b"BZh") {
        return Err(ContextError::Compression("bzip2"));
    } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Err(ContextError::Compression("xz"));
    } else {
        Box::new(reader)
    };
    let spool = spool_file(spool_dir).map_err(ContextError::Spool)?;
    let mut context = Context {
        entries: BTreeMap::new(),
        spool,
        bytes: 0,
    };
    let options = crate::layer::ApplyOptions {
        max_entries: limits.max_entries,
        max_total_bytes: limits.max_bytes,
        ..crate::layer::ApplyOptions::default()
    };
    let mut stream = TarStream::new(source, TarLimits::new(&options));
    let spool_writer = context.spool.try_clone().map_err(ContextError::Spool)?;
    let mut writer = io::BufWriter::with_capacity(256 * 1024, spool_writer);
    let mut offset = 0u64;
    let mut buf = vec![0u8; 128 * 1024];
    while let Some(entry) = stream.next_entry()? {
        let name = entry_name(&entry.path, limits.max_name)?;
        if name.is_empty() {
            continue; // "./": the root itself
        }
        let kind = match entry.kind {
            TarKind::Dir => Kind::Dir,
            TarKind::Symlink => Kind::Symlink(link_target(&entry, &name, limits.max_name)?),
            TarKind::File => {
                if entry.sparse.is_some() {
                    return Err(ContextError::Entry {
                        path: name,
                        reason: "sparse files are not supported in a build context".into(),
                    });
                }
                stream.limits().data(&entry.path, entry.size)?;
                let mut hasher = Sha256::new();
                let mut left = entry.size;
                while left > 0 {
                    let n = stream.read_data(&mut buf)?;
                    hasher.update(&buf[..n]);
                    writer.write_all(&buf[..n]).map_err(ContextError::Spool)?;
                    left -= n as u64;
                }
                let kind = Kind::File {
                    offset,
                    size: entry.size,
                    sha256: hasher.finalize().into(),
                };
                offset += entry.size;
                kind
            }
            TarKind::Hardlink => {
                let target = clean_relative(&link_target(&entry, &name, limits.max_name)?)
                    .ok_or_else(|| ContextError::Entry {
                        path: name.clone(),
                        reason: "a hardlink to a path outside the context".into(),
                    })?;
                match context.entries.get(&target) {
                    Some(
                        e @ Entry {
                            kind: Kind::File { .. },
                            ..
                        },
                    ) => e.kind.clone(),
                    _ => {
                        return Err(ContextError::Entry {
                            path: name,
                            reason: format!(
                                "hardlink to {target:?}, which is not a file before it"
                            ),
                        });
                    }
                }
            }
            // Devices and FIFOs cannot be copied into an image by a build: left out.
            TarKind::CharDevice | TarKind::BlockDevice | TarKind::Fifo => continue,
        };
        context.insert(name, entry_meta(&entry, kind));
    }
    stream.finish()?;
    writer.flush().map_err(ContextError::Spool)?;
    drop(writer);
    context.bytes = offset;
    Ok(context)
}

/// An unlinked file (O_TMPFILE): nothing is left behind whatever happens to the agent.
fn spool_file(dir: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    std::fs::create_dir_all(dir)?;
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    Ok(File::from(fd))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The entry's name, relative and clean; absolute names, `..` and non-UTF-8 are refused.
fn entry_name(raw: &[u8], max: usize) -> Result<String, ContextError> {
    let bad = |reason: &str| ContextError::Entry {
        path: lossy(raw),
        reason: reason.into(),
    };
    if raw.len() > max {
        return Err(bad("the name is too long"));
    }
    let name = std::str::from_utf8(raw).map_err(|_| bad("the name is not UTF-8"))?;
    if name.starts_with('/') {
        return Err(bad("absolute names are not allowed in a build context"));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(bad("names with .. are not allowed in a build context"));
    }
    let cleaned = clean(name);
    Ok(if cleaned == "." {
        String::new()
    } else {
        cleaned
    })
}

fn link_target(entry: &TarEntry, name: &str, max: usize) -> Result<String, ContextError> {
    if entry.link.is_empty() || entry.link.len() > max {
        return Err(ContextError::Entry {
            path: name.into(),
            reason: "a link with an empty or too long target".into(),
        });
    }
    String::from_utf8(entry.link.clone()).map_err(|_| ContextError::Entry {
        path: name.into(),
        reason: "the link target is not UTF-8".into(),
    })
}

fn entry_meta(entry: &TarEntry, kind: Kind) -> Entry {
    Entry {
        kind,
        mode: entry.mode & 0o7777,
        uid: entry.uid,
        gid: entry.gid,
        mtime: entry.mtime.secs,
    }
}

/// `a/./b` → `a/b`; `None` if it climbs out of the root.
fn clean_relative(path: &str) -> Option<String> {
    let cleaned = clean(path.trim_start_matches('/'));
    if cleaned == ".." || cleaned.starts_with("../") {
        return None;
    }
    Some(if cleaned == "." {
        String::new()
    } else {
        cleaned
    })
}

/// The most symlinks followed while resolving one path (Linux's limit).
const MAX_LINKS: usize = 40;

impl Context {
    fn insert(&mut self, name: String, entry: Entry) {
        // A later entry replaces an earlier one; replacing a directory drops what was in it.
        if !entry.is_dir() && self.entries.get(&name).is_some_and(Entry::is_dir) {
            let prefix = format!("{name}/");
            let inside: Vec<String> = self
                .entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in inside {
                self.entries.remove(&k);
            }
        }
        // Parent directories the tar did not list exist implicitly.
        let mut end = 0;
        while let Some(slash) = name[end..].find('/') {
            let parent = &name[..end + slash];
            match self.entries.get(parent) {
                Some(e) if e.is_dir() => {}
                _ => {
                    self.entries
                        .insert(parent.to_string(), Entry::implicit_dir());
                }
            }
            end += slash + 1;
        }
        self.entries.insert(name, entry);
    }

    /// Drops what `.dockerignore` excludes.
    pub fn apply_ignore(&mut self, ignore: &Ignore) {
        if ignore.is_empty() {
            return;
        }
        self.entries.retain(|path, _| !ignore.excludes(path));
    }

    /// The entry at exactly `path` (no symlink following).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Every path, for wildcard matching.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Everything under directory `dir` (not `dir` itself), in path order, with paths
    /// relative to `dir`.
    pub fn walk<'a>(&'a self, dir: &str) -> Box<dyn Iterator<Item = (&'a str, &'a Entry)> + 'a> {
        if dir.is_empty() {
            return Box::new(self.entries.iter().map(|(k, v)| (k.as_str(), v)));
        }
        let prefix = format!("{dir}/");
        let skip = prefix.len();
        Box::new(
            self.entries
                .range(prefix.clone()..)
                .take_while(move |(k, _)| k.starts_with(&prefix))
                .map(move |(k, v)| (&k[skip..], v)),
        )
    }

    /// Resolves `path` (relative to the context root; a leading `/` or `./` is the root)
    /// following symlinks *inside* the context, as Docker's `FollowSymlinkInScope` does:
    /// an absolute link target starts again at the context root, `..` stops at it.
    /// `Ok(None)` when nothing is there; `Err` for a path that names a place outside.
    pub fn resolve(&self, path: &str) -> Result<Option<Found<'_>>, String> {
        if path.split('/').any(|p| p == "..") {
            let cleaned = clean(path.trim_start_matches('/'));
            if cleaned == ".." || cleaned.starts_with("../") {
                return Err(format!("forbidden path outside the build context: {path}"));
            }
        }
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut current: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                current.pop();
                continue;
            }
            current.push(part);
            let joined = current.join("/");
            let Some(entry) = self.entries.get(&joined) else {
                return Ok(None);
            };
            if let Kind::Symlink(target) = &entry.kind {
                links += 1;
                if links > MAX_LINKS {
                    return Err(format!("too many levels of symbolic links in {path}"));
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty() && *p != ".")
                        .rev()
                        .map(str::to_string),
                );
            } else if !pending.is_empty() && !entry.is_dir() {
                return Ok(None); // a file in the middle of a path
            }
        }
        let path = current.join("/");
        static ROOT: std::sync::OnceLock<Entry> = std::sync::OnceLock::new();
        let entry = match self.entries.get(&path) {
            Some(e) => e,
            None if path.is_empty() => ROOT.get_or_init(Entry::implicit_dir),
            None => return Ok(None),
        };
        Ok(Some(Found { path, entry }))
    }

    /// Reads up to `max` bytes of a file (for the Dockerfile and `.dockerignore`).
    /// `Ok(None)` when it is missing; an error when it is not a file or too big.
    pub fn read_small(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
        let Some(found) = self.resolve(path)? else {
            return Ok(None);
        };
        match found.entry.kind {
            Kind::File { offset, size, .. } => {
                if size > max {
                    return Err(format!(
                        "{path} is {size} bytes, more than the {max} allowed"
                    ));
                }
                let mut data = vec![0u8; size as usize];
                self.spool
                    .read_exact_at(&mut data, offset)
                    .map_err(|e| format!("reading {path} from the context: {e}"))?;
                Ok(Some(data))
            }
            _ => Err(format!("{path} is not a file")),
        }
    }

    /// A reader of a file's data.
    pub fn open(&self, entry: &Entry) -> io::Result<SpoolReader<'_>> {
        match entry.kind {
            Kind::File { offset, size, .. } => Ok(SpoolReader {
                file: &self.spool,
                offset,
                left: size,
            }),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a file")),
        }
    }

    /// The digest of the paths under `dir` (relative names and entry digests): what a
    /// COPY of that directory depends on.
    pub fn tree_digest(&self, dir: &str, hasher: &mut Sha256) {
        for (name, entry) in self.walk(dir) {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            entry.digest_into(hasher);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Reads one file's bytes from the spool.
pub struct SpoolReader<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Read for SpoolReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spooled context ended early",
            ));
        }
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, mode: u32, body: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, body).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o777);
        h.set_entry_type(kind);
        b.append_link(&mut h, name, target).unwrap();
    }

    /// A raw header with any name (the tar crate refuses `..` when appending).
    fn raw(b: &mut tar::Builder<Vec<u8>>, name: &str) {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(0);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
    }

    fn read_ctx(bytes: &[u8]) -> Result<Context, ContextError> {
        let dir = tempfile::tempdir().unwrap();
        read(bytes, dir.path(), ContextLimits::default())
    }

    #[test]
    fn indexes_files_dirs_links_and_implicit_parents() {
        let t = tar(|b| {
            file(b, "Dockerfile", 0o644, b"FROM busybox\n");
            file(b, "src/app/main.txt", 0o600, b"hello");
            link(b, tar::EntryType::Symlink, "latest", "src/app");
            link(b, tar::EntryType::Link, "copy.txt", "src/app/main.txt");
        });
        let ctx = read_ctx(&t).unwrap();
        assert!(ctx.get("src").unwrap().is_dir());
        assert!(ctx.get("src/app").unwrap().is_dir());
        assert_eq!(ctx.get("src/app/main.txt").unwrap().mode, 0o600);
        assert_eq!(
            ctx.read_small("Dockerfile", 100).unwrap().unwrap(),
            b"FROM busybox\n"
        );
        assert_eq!(
            ctx.read_small("latest/main.txt", 100).unwrap().unwrap(),
            b"hello"
        );
        assert_eq!(ctx.read_small("copy.txt", 100).unwrap().unwrap(), b"hello");
        assert!(ctx.read_small("missing", 100).unwrap().is_none());
        assert!(ctx.read_small("Dockerfile", 3).is_err());
        let names: Vec<&str> = ctx.walk("src").map(|(n, _)| n).collect();
        assert_eq!(names, vec!["app", "app/main.txt"]);
        assert_eq!(ctx.bytes, 13 + 5);
    }

    #[test]
    fn symlinks_resolve_inside_the_context() {
        let t = tar(|b| {
            file(b, "etc/passwd", 0o644, b"context passwd");
            link(b, tar::EntryType::Symlink, "shadow", "/etc/shadow");
            link(b, tar::EntryType::Symlink, "up", "../../../etc/passwd");
            link(b, tar::EntryType::Symlink, "loop", "loop");
        });
        let ctx = read_ctx(&t).unwrap();
        // `/etc/shadow` means the context's etc/shadow, which is not there.
        assert!(ctx.resolve("shadow").unwrap().is_none());
        // `..` stops at the context root.
        let found = ctx.resolve("up").unwrap().unwrap();
        assert_eq!(found.path, "etc/passwd");
        assert!(ctx.resolve("loop").unwrap_err().contains("too many levels"));
        assert!(
            ctx.resolve("../outside")
                .unwrap_err()
                .contains("outside the build context")
        );
        assert!(ctx.resolve("a/../../outside").is_err());
        assert_eq!(ctx.resolve("/").unwrap().unwrap().path, "");
        assert_eq!(ctx.resolve("./etc/").unwrap().unwrap().path, "etc");
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in ["../escape", "a/../../b", "/etc/passwd"] {
            let t = tar(|b| raw(b, name));
            let err = read_ctx(&t)
                .err()
                .unwrap_or_else(|| panic!("{name} accepted"));
            assert!(
                err.to_string().contains(name.trim_start_matches('/')),
                "{err}"
            );
        }
        let t = tar(|b| link(b, tar::EntryType::Link, "l", "../x"));
        assert!(read_ctx(&t).is_err());
        let t = tar(|b| link(b, tar::EntryType::Link, "l", "missing"));
        assert!(read_ctx(&t).is_err());
    }

    #[test]
    fn limits_and_compression() {
        let t = tar(|b| {
            for i in 0..5 {
                file(b, &format!("f{i}"), 0o644, b"x");
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let tight = ContextLimits {
            max_entries: 3,
            ..ContextLimits::default()
        };
        assert!(read(&t[..], dir.path(), tight).is_err());
        let small = ContextLimits {
            max_bytes: 2,
            ..ContextLimits::default()
        };
        assert!(read(&t[..], dir.path(), small).is_err());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let ctx = read_ctx(&gz.finish().unwrap()).unwrap();
        assert_eq!(ctx.len(), 5);
        assert!(matches!(
            read_ctx(b"BZh91AY&SY"),
            Err(ContextError::Compression("bzip2"))
        ));
        // Garbage is a tar error, not a panic.
        assert!(read_ctx(&[7u8; 1024]).is_err());
    }

    #[test]
    fn ignore_and_digests() {
        let t = tar(|b| {
            file(b, "a.log", 0o644, b"x");
            file(b, "keep/b", 0o644, b"y");
        });
        let mut ctx = read_ctx(&t).unwrap();
        let digest = |ctx: &Context| {
            let mut h = Sha256::new();
            ctx.tree_digest("", &mut h);
            h.finalize()
        };
        let before = digest(&ctx);
        ctx.apply_ignore(&Ignore::parse("*.log\n").unwrap());
        assert!(ctx.get("a.log").is_none());
        assert_ne!(before, digest(&ctx));
        // The modification time does not count.
        let t2 = tar(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            h.set_mtime(5);
            b.append_data(&mut h, "keep/b", &b"y"[..]).unwrap();
        });
        let ctx2 = read_ctx(&t2).unwrap();
        assert_eq!(digest(&ctx), digest(&ctx2));
    }
}
