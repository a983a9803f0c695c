//! Creating each kind of entry, fd-relative: `<parent fd from resolve.rs> + <one name>`.
//!
//! The final component is never followed: files are created with `O_CREAT | O_EXCL |
//! O_NOFOLLOW`, directories with `mkdirat` and opened with `O_NOFOLLOW`, and `symlinkat`,
//! `linkat` (without `AT_SYMLINK_FOLLOW`) and `mknodat` never follow by definition. When the
//! name already exists, what is there is removed (`remove.rs`) and the creation retried once,
//! except that a directory over a directory keeps it and only updates its metadata.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    AtFlags, Dir, FileType, Mode, OFlags, XattrFlags, fsetxattr, fstat, linkat, makedev, mkdirat,
    mknodat, openat, statat, symlinkat,
};
use rustix::io::Errno;

use super::meta::{self, Creator, DirTimes};
use super::path::{NameError, NormPath, Whiteout, whiteout};
use super::remove::remove;
use super::resolve::{DIR_FLAGS, Dirs, ResolveError};
use super::sparse::write_region;
use super::stream::{Entry, Kind, TarStream};
use super::xattrs::{self, Outcome};
use super::{ApplyOptions, ApplyStats};
use crate::layer::LayerError;

/// The overlayfs attribute that makes a directory hide the same directory in lower layers.
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// How many skipped-entry warnings are logged one by one before they are only counted.
const WARN_EACH: u64 = 16;
/// File data is copied through one buffer of this size.
const BUF_SIZE: usize = 256 * 1024;
const S_ISGID: u32 = 0o2000;

/// Applies entries one by one into the layer root.
pub(crate) struct Extractor<'o> {
    dirs: Dirs,
    options: &'o ApplyOptions,
    stats: ApplyStats,
    creator: Creator,
    dir_times: Vec<DirTimes>,
    /// Device nodes not created (not allowed): hardlinks to them are skipped as well.
    skipped: HashSet<Vec<u8>>,
    warnings: Warnings,
    buf: Vec<u8>,
}

impl<'o> Extractor<'o> {
    /// Starts on the open layer root `root`.
    pub(crate) fn new(root: OwnedFd, options: &'o ApplyOptions) -> io::Result<Self> {
        let setgid_root = fstat(&root)?.st_mode & S_ISGID != 0;
        let creator = Creator {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            // Anything already there may have any owner, and a setgid directory hands its
            // group to what is created in it: then skipping chown would be wrong.
            always_chown: setgid_root || !is_empty(root.as_fd())?,
        };
        Ok(Self {
            dirs: Dirs::new(root),
            options,
            stats: ApplyStats::default(),
            creator,
            dir_times: Vec::new(),
            skipped: HashSet::new(),
            warnings: Warnings::default(),
            buf: Vec::new(),
        })
    }

    /// Applies one entry; its data, if any, is read from `stream`.
    pub(crate) fn apply<R: Read>(
        &mut self,
        entry: &Entry,
        stream: &mut TarStream<R>,
    ) -> Result<(), LayerError> {
        self.stats.entries += 1;
        let path = NormPath::new(&entry.path).map_err(|e| name_error(entry, e))?;
        let whiteout = whiteout(path.name());
        if self.options.refuse_whiteouts && !matches!(whiteout, Ok(Whiteout::No)) {
            return Err(invalid(
                entry,
                "names starting with .wh. are reserved for layer whiteouts and cannot be copied",
            ));
        }
        match whiteout {
            Err(()) => return Err(invalid(entry, "invalid whiteout name")),
            Ok(Whiteout::Remove(name)) => return self.whiteout(&path, name, entry),
            Ok(Whiteout::Opaque) => return self.opaque(&path, entry),
            Ok(Whiteout::AufsMeta) => {
                tracing::debug!(path = %lossy(&entry.path), "skipping AUFS metadata entry");
                return Ok(());
            }
            Ok(Whiteout::No) => {}
        }
        if !self.skipped.is_empty() {
            self.skipped.remove(path.as_bytes());
        }
        if path.is_root() {
            return match entry.kind {
                Kind::Dir => self.root_dir(entry),
                _ => Err(invalid(
                    entry,
                    "only a directory can stand for the layer root",
                )),
            };
        }
        match entry.kind {
            Kind::File => self.file(&path, entry, stream),
            Kind::Dir => self.dir(&path, entry),
            Kind::Symlink => self.symlink(&path, entry),
            Kind::Hardlink => self.hardlink(&path, entry),
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => self.node(&path, entry),
        }
    }

    /// Sets the directories' times (now that their content is complete) and returns the totals.
    pub(crate) fn finish(mut self) -> Result<ApplyStats, LayerError> {
        let records = std::mem::take(&mut self.dir_times);
        meta::set_dir_times(&mut self.dirs, records).map_err(|e| LayerError::Fs {
            path: lossy(e.0.as_bytes()),
            op: "setting the directory's times",
            source: e.1.into(),
        })?;
        self.warnings.summary();
        Ok(self.stats)
    }

    /// A regular file, its data streamed from the archive (holes kept for sparse files).
    fn file<R: Read>(
        &mut self,
        path: &NormPath,
        entry: &Entry,
        stream: &mut TarStream<R>,
    ) -> Result<(), LayerError> {
        stream.limits().data(&entry.path, entry.size)?;
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (fd, removed) = create_replacing(parent, path.name(), |d, n| {
            openat(d, n, flags, Mode::from_raw_mode(0o600))
        })
        .map_err(|e| e.error(entry, "creating the file"))?;
        if removed {
            self.dirs.forget();
        }
        let file = File::from(fd);
        if self.buf.is_empty() {
            self.buf = vec![0u8; BUF_SIZE];
        }
        let write_error = |e: io::Error| LayerError::Fs {
            path: lossy(&entry.path),
            op: "writing the file",
            source: e,
        };
        match &entry.sparse {
            None => loop {
                let n = stream.read_data(&mut self.buf)?;
                if n == 0 {
                    break;
                }
                (&file).write_all(&self.buf[..n]).map_err(write_error)?;
            },
            Some(map) => {
                for region in &map.regions {
                    // The map was checked against the data size, so the data cannot run out
                    // before a region ends; a short read is refused all the same.
                    let read = |b: &mut [u8]| match stream.read_data(b)? {
                        0 => Err(LayerError::InvalidEntry {
                            path: lossy(&entry.path),
                            reason: "sparse map runs past the entry's data".into(),
                        }),
                        n => Ok(n),
                    };
                    write_region(&file, *region, &mut self.buf, read, write_error)?;
                }
                file.set_len(map.real_size).map_err(write_error)?;
            }
        }
        meta::owner_and_mode(file.as_fd(), entry, &self.creator)
            .map_err(|e| fs_error(entry, "setting owner and mode", e))?;
        set_xattrs(file.as_fd(), entry, &mut self.stats, &mut self.warnings)?;
        meta::times_fd(file.as_fd(), entry).map_err(|e| fs_error(entry, "setting times", e))?;
        self.stats.files += 1;
        self.stats.bytes += entry.size;
        Ok(())
    }

    /// A directory: created, or kept if one is there (a non-directory there is replaced).
    fn dir(&mut self, path: &NormPath, entry: &Entry) -> Result<(), LayerError> {
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let name = path.name();
        let mut removed = false;
        let mut existed = false;
        let created = mkdirat(parent, name, Mode::from_raw_mode(0o700));
        let fd = match created {
            Ok(()) => open_dir(parent, name),
            Err(Errno::EXIST) => match open_dir(parent, name) {
                Ok(fd) => {
                    existed = true;
                    Ok(fd)
                }
                // A symlink or a file under the name: replace it (containerd
                // `DirectoryOverrideSymlink`).
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    remove(parent, name).map_err(|e| replace_error(entry, e))?;
                    removed = true;
                    mkdirat(parent, name, Mode::from_raw_mode(0o700))
                        .and_then(|()| open_dir(parent, name))
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
        .map_err(|e| fs_error(entry, "creating the directory", e))?;
        if entry.mode & S_ISGID != 0 {
            self.creator.always_chown = true;
        }
        let creator = Creator {
            always_chown: self.creator.always_chown || existed,
            ..self.creator
        };
        meta::owner_and_mode(fd.as_fd(), entry, &creator)
            .map_err(|e| fs_error(entry, "setting owner and mode", e))?;
        set_xattrs(fd.as_fd(), entry, &mut self.stats, &mut self.warnings)?;
        let ino = fstat(&fd)
            .map_err(|e| fs_error(entry, "reading the directory", e))?
            .st_ino;
        self.dir_times.push(DirTimes {
            path: path.clone(),
            ino,
            times: meta::timestamps(entry),
        });
        if removed {
            self.dirs.forget();
        }
        // The next entries are most likely inside this directory.
        self.dirs.remember(path.as_bytes(), fd);
        self.stats.dirs += 1;
        Ok(())
    }

    /// `./` or `/`: the layer root's own metadata.
    fn root_dir(&mut self, entry: &Entry) -> Result<(), LayerError> {
        if entry.mode & S_ISGID != 0 {
            self.creator.always_chown = true;
        }
        let root = self.dirs.root();
        let creator = Creator {
            always_chown: true,
            ..self.creator
        };
        meta::owner_and_mode(root, entry, &creator)
            .map_err(|e| fs_error(entry, "setting owner and mode", e))?;
        set_xattrs(root, entry, &mut self.stats, &mut self.warnings)?;
        let ino = fstat(root)
            .map_err(|e| fs_error(entry, "reading the directory", e))?
            .st_ino;
        self.dir_times.push(DirTimes {
            path: NormPath::new(b"/").map_err(|e| name_error(entry, e))?,
            ino,
            times: meta::timestamps(entry),
        });
        self.stats.dirs += 1;
        Ok(())
    }

    /// A symlink, created as given: its target is resolved inside the container later, and
    /// writes through it during extraction are kept inside the root by `resolve.rs`.
    fn symlink(&mut self, path: &NormPath, entry: &Entry) -> Result<(), LayerError> {
        if entry.link.is_empty() {
            return Err(invalid(entry, "symlink with an empty target"));
        }
        if entry.link.contains(&0) {
            return Err(invalid(entry, "symlink target contains a NUL byte"));
        }
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let name = path.name();
        let ((), removed) =
            create_replacing(parent, name, |d, n| symlinkat(entry.link.as_slice(), d, n))
                .map_err(|e| e.error(entry, "creating the symlink"))?;
        meta::owner_at(parent, name, entry, &self.creator)
            .map_err(|e| fs_error(entry, "setting the owner", e))?;
        meta::times_at(parent, name, entry).map_err(|e| fs_error(entry, "setting times", e))?;
        if removed {
            self.dirs.forget();
        }
        self.skip_xattrs(entry, "symlink");
        self.stats.symlinks += 1;
        Ok(())
    }

    /// A hardlink to a non-directory earlier in this layer. The target name is cleaned like
    /// any name (`..` above the root is an error: moby `TestUntarInvalidHardlink`), its parent
    /// resolved inside the root (an absolute `/etc/shadow` means the layer's own
    /// `etc/shadow`, which must exist: CVE-2014-6407), and `linkat` without
    /// `AT_SYMLINK_FOLLOW` links a symlink itself, never the file it points to (containerd
    /// `HardlinkSymlink*`). Metadata stays the target's: re-applying the header's to a shared
    /// inode could only repeat it or fight it.
    fn hardlink(&mut self, path: &NormPath, entry: &Entry) -> Result<(), LayerError> {
        let target = NormPath::new(&entry.link).map_err(|e| match e {
            NameError::Escape => LayerError::HardlinkEscape {
                path: lossy(&entry.path),
                target: lossy(&entry.link),
            },
            NameError::Empty => link_target_error(entry, "is empty"),
            NameError::Nul => link_target_error(entry, "contains a NUL byte"),
        })?;
        if target.is_root() {
            return Err(link_target_error(entry, "is the layer root, a directory"));
        }
        if self.skipped.contains(target.as_bytes()) {
            self.skipped.insert(path.as_bytes().to_vec());
            self.stats.skipped_devices += 1;
            self.warnings
                .warn(entry, "hardlink to a skipped device node; skipped too");
            return Ok(());
        }
        let same_dir = target.parent() == path.parent();
        let target_dir = if same_dir {
            None
        } else {
            Some(self.dirs.open(target.parent()).map_err(|e| match e {
                Errno::NOENT | Errno::NOTDIR => {
                    link_target_error(entry, "does not exist in this layer")
                }
                e => fs_error(entry, "resolving the hardlink target's directory", e),
            })?)
        };
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let from = target_dir.as_ref().map_or(parent, |fd| fd.as_fd());
        let name = path.name();
        let linked = create_replacing(parent, name, |d, n| {
            linkat(from, target.name(), d, n, AtFlags::empty())
        });
        let ((), removed) = match linked {
            Ok(done) => done,
            Err(Failed::Create(Errno::NOENT | Errno::NOTDIR)) => {
                return Err(link_target_error(entry, "does not exist in this layer"));
            }
            // EPERM is how linkat refuses a directory.
            Err(Failed::Create(Errno::PERM))
                if statat(from, target.name(), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory) =>
            {
                return Err(link_target_error(entry, "is a directory"));
            }
            Err(e) => return Err(e.error(entry, "creating the hardlink")),
        };
        if removed {
            self.dirs.forget();
        }
        self.stats.hardlinks += 1;
        Ok(())
    }

    /// A FIFO, or a character or block device if the options allow device nodes.
    fn node(&mut self, path: &NormPath, entry: &Entry) -> Result<(), LayerError> {
        let file_type = match entry.kind {
            Kind::CharDevice => FileType::CharacterDevice,
            Kind::BlockDevice => FileType::BlockDevice,
            _ => FileType::Fifo,
        };
        if file_type != FileType::Fifo && !self.options.allow_device_nodes {
            // A device node in an image is a way to the host's disks or memory from inside
            // the container, should the device cgroup ever be loosened.
            self.skipped.insert(path.as_bytes().to_vec());
            self.stats.skipped_devices += 1;
            self.warnings
                .warn(entry, "device node not allowed here; skipped");
            return Ok(());
        }
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let name = path.name();
        let dev = makedev(entry.dev_major, entry.dev_minor);
        let perm = Mode::from_raw_mode(entry.mode & 0o777);
        let ((), removed) =
            create_replacing(parent, name, |d, n| mknodat(d, n, file_type, perm, dev))
                .map_err(|e| e.error(entry, "creating the node"))?;
        meta::owner_at(parent, name, entry, &self.creator)
            .map_err(|e| fs_error(entry, "setting the owner", e))?;
        meta::mode_of_node(parent, name, entry.mode)
            .map_err(|e| fs_error(entry, "setting the mode", e))?;
        meta::times_at(parent, name, entry).map_err(|e| fs_error(entry, "setting times", e))?;
        if removed {
            self.dirs.forget();
        }
        self.skip_xattrs(entry, "special file");
        Ok(())
    }

    /// `.wh.<name>`: an overlayfs whiteout, a 0:0 character device named `<name>`, replacing
    /// whatever this layer put there (a symlink is replaced, never followed).
    fn whiteout(&mut self, path: &NormPath, name: &[u8], entry: &Entry) -> Result<(), LayerError> {
        if !self.skipped.is_empty() {
            self.skipped
                .remove(path.parent_path().join(name).as_bytes());
        }
        let parent = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        let ((), removed) = create_replacing(parent, name, |d, n| {
            mknodat(
                d,
                n,
                FileType::CharacterDevice,
                Mode::empty(),
                makedev(0, 0),
            )
        })
        .map_err(|e| e.error(entry, "creating the whiteout"))?;
        meta::owner_at(parent, name, entry, &self.creator)
            .map_err(|e| fs_error(entry, "setting the owner", e))?;
        // The header's times, so that the same layer always gives the same tree.
        meta::times_at(parent, name, entry).map_err(|e| fs_error(entry, "setting times", e))?;
        if removed {
            self.dirs.forget();
        }
        self.stats.whiteouts += 1;
        Ok(())
    }

    /// `.wh..wh..opq`: the directory holding it becomes opaque (created if absent).
    fn opaque(&mut self, path: &NormPath, entry: &Entry) -> Result<(), LayerError> {
        let dir = self
            .dirs
            .dir(path.parent(), true)
            .map_err(|e| resolve_error(entry, e))?;
        fsetxattr(dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
            .map_err(|e| fs_error(entry, "marking the directory opaque", e))?;
        self.stats.whiteouts += 1;
        Ok(())
    }

    /// Symlinks and special files take no xattr the policy allows (`user.*` is refused by
    /// the kernel on them, `security.capability` means nothing there).
    fn skip_xattrs(&mut self, entry: &Entry, what: &str) {
        for (name, _) in &entry.xattrs {
            self.stats.skipped_xattrs += 1;
            self.warnings
                .warn(entry, &format!("xattr {} on a {what} skipped", lossy(name)));
        }
    }
}

/// Creates `name` in `parent` with `create`; if the name exists, removes what is there and
/// creates again. Returns whether something was removed (the caller then forgets the cached
/// directory).
fn create_replacing<T>(
    parent: BorrowedFd<'_>,
    name: &[u8],
    create: impl Fn(BorrowedFd<'_>, &[u8]) -> Result<T, Errno>,
) -> Result<(T, bool), Failed> {
    match create(parent, name) {
        Ok(value) => Ok((value, false)),
        Err(Errno::EXIST) => {
            remove(parent, name).map_err(Failed::Remove)?;
            create(parent, name)
                .map(|value| (value, true))
                .map_err(Failed::Create)
        }
        Err(e) => Err(Failed::Create(e)),
    }
}

/// Why [`create_replacing`] failed.
enum Failed {
    Create(Errno),
    Remove(io::Error),
}

impl Failed {
    fn error(self, entry: &Entry, op: &'static str) -> LayerError {
        match self {
            Failed::Create(errno) => fs_error(entry, op, errno),
            Failed::Remove(e) => replace_error(entry, e),
        }
    }
}

/// Opens the directory `name` in `parent` without following a symlink.
fn open_dir(parent: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, Errno> {
    openat(parent, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
}

/// Sets the entry's allowed xattrs on an open file or directory.
fn set_xattrs(
    fd: BorrowedFd<'_>,
    entry: &Entry,
    stats: &mut ApplyStats,
    warnings: &mut Warnings,
) -> Result<(), LayerError> {
    for (name, value) in &entry.xattrs {
        match xattrs::set(fd, name, value) {
            Ok(Outcome::Set) => {}
            Ok(Outcome::Skipped(why)) => {
                stats.skipped_xattrs += 1;
                warnings.warn(entry, &format!("xattr {} skipped: {why}", lossy(name)));
            }
            Err(e) => return Err(fs_error(entry, "setting an xattr", e)),
        }
    }
    Ok(())
}

/// True if the directory holds nothing but `.` and `..`.
fn is_empty(dir: BorrowedFd<'_>) -> io::Result<bool> {
    for entry in Dir::read_from(dir)? {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Warnings about skipped entries and attributes: the first few one by one, then a count, so
/// that a hostile layer cannot flood the log.
#[derive(Default)]
struct Warnings {
    count: u64,
}

impl Warnings {
    fn warn(&mut self, entry: &Entry, what: &str) {
        self.count += 1;
        if self.count <= WARN_EACH {
            tracing::warn!(path = %lossy(&entry.path), "layer entry: {what}");
        }
    }

    fn summary(&self) {
        if self.count > WARN_EACH {
            tracing::warn!(
                "{} more layer entries or attributes were skipped",
                self.count - WARN_EACH
            );
        }
    }
}

pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn invalid(entry: &Entry, reason: &str) -> LayerError {
    LayerError::InvalidEntry {
        path: lossy(&entry.path),
        reason: reason.to_string(),
    }
}

fn name_error(entry: &Entry, error: NameError) -> LayerError {
    match error {
        NameError::Escape => LayerError::Escape {
            path: lossy(&entry.path),
        },
        NameError::Empty => invalid(entry, "empty name"),
        NameError::Nul => invalid(entry, "name contains a NUL byte"),
    }
}

fn link_target_error(entry: &Entry, reason: &str) -> LayerError {
    LayerError::HardlinkTarget {
        path: lossy(&entry.path),
        target: lossy(&entry.link),
        reason: reason.to_string(),
    }
}

fn fs_error(entry: &Entry, op: &'static str, errno: Errno) -> LayerError {
    LayerError::Fs {
        path: lossy(&entry.path),
        op,
        source: errno.into(),
    }
}

fn replace_error(entry: &Entry, source: io::Error) -> LayerError {
    LayerError::Fs {
        path: lossy(&entry.path),
        op: "removing what it replaces",
        source,
    }
}

fn resolve_error(entry: &Entry, error: ResolveError) -> LayerError {
    let errno = io::Error::from(error.errno);
    LayerError::Fs {
        path: lossy(&entry.path),
        op: "resolving its directory",
        source: io::Error::new(errno.kind(), format!("at {:?}: {errno}", lossy(&error.at))),
    }
}
