//! Where COPY/ADD read from: the build context (its index and spool) or another image's
//! root filesystem (`--from=<stage|image>`, mounted read-only for the step). Both resolve
//! a source path with symlinks followed *inside* their root — never on the host — and hand
//! out the files under a directory in path order.

use super::super::context::{Context, Entry, Kind};
use super::super::error::BuildError;
use super::super::pattern::Glob;
use super::tarout::{Meta, TarOut};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, openat, openat2, statat};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

/// What a resolved source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    File { size: u64 },
    Dir,
    Symlink(String),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub meta: Meta,
}

/// How the entries of a copy are owned and moded.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite {
    /// `--chown` (or root for context files); `None` keeps the source's owner.
    pub owner: Option<(u32, u32)>,
    /// `--chmod`.
    pub mode: Option<u32>,
}

impl Rewrite {
    pub fn apply(&self, meta: Meta) -> Meta {
        let (uid, gid) = self.owner.unwrap_or((meta.uid, meta.gid));
        Meta {
            mode: self.mode.unwrap_or(meta.mode),
            uid,
            gid,
            mtime: meta.mtime,
        }
    }
}

/// A root to copy from.
pub trait Source {
    /// A handle on a resolved path.
    type Item;

    /// `path` with symlinks followed inside the root; `None` when nothing is there.
    fn resolve(&self, path: &str) -> Result<Option<(Self::Item, Node)>, BuildError>;

    /// The paths (not resolved) matching a wildcard pattern, in order.
    fn matching(&self, pattern: &str) -> Result<Vec<String>, BuildError>;

    /// Writes one file's data as `name`.
    fn write_file<W: Write>(
        &self,
        item: &Self::Item,
        node: &Node,
        name: &str,
        meta: Meta,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError>;

    /// Writes everything under a directory, as `dest/<relative path>`.
    fn write_tree<W: Write>(
        &self,
        item: &Self::Item,
        dest: &str,
        rewrite: Rewrite,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError>;

    /// The first bytes of a file (to recognise archives).
    fn peek(&self, item: &Self::Item, buf: &mut [u8]) -> Result<usize, BuildError>;

    /// A reader of a whole file.
    fn reader<'s>(&'s self, item: &'s Self::Item) -> Result<Box<dyn Read + 's>, BuildError>;
}

fn io_error(what: &str) -> impl Fn(io::Error) -> BuildError + '_ {
    move |e| BuildError::internal(format!("{what}: {e}"))
}

fn node_of(entry: &Entry) -> Node {
    let kind = match &entry.kind {
        Kind::File { size, .. } => NodeKind::File { size: *size },
        Kind::Dir => NodeKind::Dir,
        Kind::Symlink(t) => NodeKind::Symlink(t.clone()),
    };
    Node {
        kind,
        meta: Meta {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
        },
    }
}

/// Joins a destination directory and a relative name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

impl Source for Context {
    type Item = (String, Entry);

    fn resolve(&self, path: &str) -> Result<Option<(Self::Item, Node)>, BuildError> {
        let found = Context::resolve(self, path).map_err(BuildError::bad)?;
        Ok(found.map(|f| {
            let node = node_of(f.entry);
            ((f.path, f.entry.clone()), node)
        }))
    }

    fn matching(&self, pattern: &str) -> Result<Vec<String>, BuildError> {
        let glob = Glob::path_match(pattern).map_err(|e| BuildError::bad(e.to_string()))?;
        Ok(self
            .paths()
            .filter(|p| glob.matches(p))
            .map(str::to_string)
            .collect())
    }

    fn write_file<W: Write>(
        &self,
        item: &Self::Item,
        node: &Node,
        name: &str,
        meta: Meta,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError> {
        let NodeKind::File { size } = node.kind else {
            return Err(BuildError::internal(format!("{} is not a file", item.0)));
        };
        let reader = self.open(&item.1).map_err(io_error(&item.0))?;
        out.file(name, meta, size, reader).map_err(io_error(name))
    }

    fn write_tree<W: Write>(
        &self,
        item: &Self::Item,
        dest: &str,
        rewrite: Rewrite,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError> {
        for (rel, entry) in self.walk(&item.0) {
            let name = join(dest, rel);
            let node = node_of(entry);
            let meta = rewrite.apply(node.meta);
            match &entry.kind {
                Kind::Dir => out.dir(&name, meta),
                Kind::Symlink(target) => out.symlink(&name, target, meta),
                Kind::File { size, .. } => {
                    let reader = self.open(entry).map_err(io_error(rel))?;
                    out.file(&name, meta, *size, reader)
                }
            }
            .map_err(io_error(&name))?;
        }
        Ok(())
    }

    fn peek(&self, item: &Self::Item, buf: &mut [u8]) -> Result<usize, BuildError> {
        let mut reader = self.open(&item.1).map_err(io_error(&item.0))?;
        read_up_to(&mut reader, buf).map_err(io_error(&item.0))
    }

    fn reader<'s>(&'s self, item: &'s Self::Item) -> Result<Box<dyn Read + 's>, BuildError> {
        Ok(Box::new(self.open(&item.1).map_err(io_error(&item.0))?))
    }
}

pub fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Another image's files, mounted for the step: `root` is a directory fd on its root.
pub struct ImageRoot {
    pub root: OwnedFd,
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

fn stat_node(fd: impl AsFd, name: &str) -> io::Result<Option<Node>> {
    let st = statat(
        fd.as_fd(),
        name,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH,
    )?;
    let meta = Meta {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: st.st_mtime,
    };
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => NodeKind::File {
            size: st.st_size as u64,
        },
        FileType::Directory => NodeKind::Dir,
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(fd.as_fd(), name, Vec::new())?;
            NodeKind::Symlink(target.to_string_lossy().into_owned())
        }
        // Devices, FIFOs and sockets are not copied.
        _ => return Ok(None),
    };
    Ok(Some(Node { kind, meta }))
}

impl ImageRoot {
    fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let rel = if rel.is_empty() { "." } else { rel };
        Ok(openat2(
            &self.root,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )?)
    }

    /// The names in a directory, sorted.
    fn list(dir: &OwnedFd) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        let reader = rustix::fs::Dir::read_from(dir)?;
        for entry in reader {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn walk_into<W: Write>(
        &self,
        dir: &OwnedFd,
        dest: &str,
        rewrite: Rewrite,
        out: &mut TarOut<W>,
        depth: usize,
    ) -> io::Result<()> {
        if depth > 256 {
            return Err(io::Error::other("directories nested too deep"));
        }
        for name in Self::list(dir)? {
            let Some(node) = stat_node(dir, &name)? else {
                continue;
            };
            let target = join(dest, &name);
            let meta = rewrite.apply(node.meta);
            match &node.kind {
                NodeKind::Dir => {
                    out.dir(&target, meta)?;
                    let sub = openat(
                        dir,
                        name.as_str(),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    self.walk_into(&sub, &target, rewrite, out, depth + 1)?;
                }
                NodeKind::Symlink(link) => out.symlink(&target, link, meta)?,
                NodeKind::File { size } => {
                    let file = openat(
                        dir,
                        name.as_str(),
                        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    out.file(&target, meta, *size, std::fs::File::from(file))?;
                }
            }
        }
        Ok(())
    }
}

impl Source for ImageRoot {
    type Item = (String, OwnedFd);

    fn resolve(&self, path: &str) -> Result<Option<(Self::Item, Node)>, BuildError> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        let fd = match openat2(
            &self.root,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(BuildError::internal(format!("{path}: {e}"))),
        };
        let node = stat_node(&fd, "").map_err(io_error(path))?;
        Ok(node.map(|n| ((path.to_string(), fd), n)))
    }

    fn matching(&self, pattern: &str) -> Result<Vec<String>, BuildError> {
        // Level by level, as deep as the pattern: a wildcard segment lists the directories
        // reached so far (not following symlinks, as Docker's walk does not).
        let mut reached = vec![String::new()];
        for segment in pattern.split('/').filter(|s| !s.is_empty()) {
            let mut next = Vec::new();
            let glob = Glob::has_wildcards(segment)
                .then(|| Glob::path_match(segment))
                .transpose()
                .map_err(|e| BuildError::bad(e.to_string()))?;
            for dir in &reached {
                let Ok(fd) = self.open_dir(dir) else {
                    continue;
                };
                match &glob {
                    Some(glob) => {
                        for name in Self::list(&fd).map_err(io_error(dir))? {
                            if glob.matches(&name) {
                                next.push(join(dir, &name));
                            }
                        }
                    }
                    None => {
                        if statat(&fd, segment, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                            next.push(join(dir, segment));
                        }
                    }
                }
            }
            reached = next;
            if reached.len() > 100_000 {
                return Err(BuildError::bad(format!("{pattern} matches too many paths")));
            }
        }
        reached.retain(|p| !p.is_empty());
        Ok(reached)
    }

    fn write_file<W: Write>(
        &self,
        item: &Self::Item,
        node: &Node,
        name: &str,
        meta: Meta,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError> {
        let NodeKind::File { size } = node.kind else {
            return Err(BuildError::internal(format!("{} is not a file", item.0)));
        };
        let file = self.reader(item)?;
        out.file(name, meta, size, file).map_err(io_error(name))
    }

    fn write_tree<W: Write>(
        &self,
        item: &Self::Item,
        dest: &str,
        rewrite: Rewrite,
        out: &mut TarOut<W>,
    ) -> Result<(), BuildError> {
        let dir = self
            .open_dir(item.0.trim_start_matches('/'))
            .map_err(io_error(&item.0))?;
        self.walk_into(&dir, dest, rewrite, out, 0)
            .map_err(io_error(&item.0))
    }

    fn peek(&self, item: &Self::Item, buf: &mut [u8]) -> Result<usize, BuildError> {
        let mut reader = self.reader(item)?;
        read_up_to(&mut reader, buf).map_err(io_error(&item.0))
    }

    fn reader<'s>(&'s self, item: &'s Self::Item) -> Result<Box<dyn Read + 's>, BuildError> {
        // Re-open the O_PATH handle for reading through its /proc link (the handle was
        // resolved inside the root already).
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&item.1));
        let file = rustix::fs::open(
            path.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| BuildError::internal(format!("{}: {e}", item.0)))?;
        Ok(Box::new(std::fs::File::from(file)))
    }
}
