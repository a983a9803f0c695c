//! Parent directories, resolved inside the layer root with `openat2(RESOLVE_IN_ROOT)`.
//!
//! Every entry is created as `<parent fd> + <one name>`; this file produces the parent fd. The
//! kernel resolves the parent's path with the layer root as `/`: an absolute symlink made by an
//! earlier entry (`evil -> /`) lands on the layer root, and `..` (in `d -> ../..`) stops there
//! — so no symlink in the layer can redirect a later write outside it (CVE-2014-9356,
//! CVE-2018-15664-class, containerd `TestBreakouts`, moby `TestUntarSymlinkBreakout`). The
//! resolution is one atomic syscall per directory instead of a userspace walk that checks,
//! then uses, each component (the time-of-check/time-of-use gap behind CVE-2018-15664 and
//! CVE-2025-47290). `RESOLVE_NO_MAGICLINKS` and `RESOLVE_NO_XDEV` add that nothing in the tree
//! may be a `/proc` magic link or a mount point.
//!
//! Consecutive entries usually share a directory, so the last directory resolved (or created)
//! is kept open and reused while its path is unchanged. The fd always refers to a directory
//! inside the root — the tree is only changed by this extraction, which never renames — so
//! reuse cannot escape; it could only go stale if an entry removed or replaced something on
//! the way, and the extractor calls [`Dirs::forget`] after every removal.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags, fchmod, mkdirat, openat, openat2};
use rustix::io::Errno;

/// How every directory is opened: readable (for `fsetxattr`, `fstat`), never inherited.
pub(crate) const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// Mode of directories the archive implies but does not list (Docker uses 0755 too).
const IMPLIED_DIR_MODE: u32 = 0o755;

/// A resolution failure: the errno and the path prefix it happened at.
#[derive(Debug)]
pub(crate) struct ResolveError {
    pub errno: Errno,
    pub at: Vec<u8>,
}

/// The layer root and the last directory resolved in it.
pub(crate) struct Dirs {
    root: OwnedFd,
    cache: Option<(Vec<u8>, OwnedFd)>,
}

impl Dirs {
    pub(crate) fn new(root: OwnedFd) -> Self {
        Self { root, cache: None }
    }

    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The directory at `path` (a cleaned path, `""` for the root). With `create`, missing
    /// directories on the way are created (mode 0755).
    pub(crate) fn dir(
        &mut self,
        path: &[u8],
        create: bool,
    ) -> Result<BorrowedFd<'_>, ResolveError> {
        if path.is_empty() {
            return Ok(self.root.as_fd());
        }
        let hit = matches!(&self.cache, Some((cached, _)) if cached == path);
        if !hit {
            let fd = match self.open(path) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => self.create_all(path)?,
                Err(errno) => {
                    return Err(ResolveError {
                        errno,
                        at: path.to_vec(),
                    });
                }
            };
            self.cache = Some((path.to_vec(), fd));
        }
        match &self.cache {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => Err(ResolveError {
                errno: Errno::INVAL,
                at: path.to_vec(),
            }),
        }
    }

    /// Makes `fd` (the directory at `path`, just created or opened) the cached directory.
    pub(crate) fn remember(&mut self, path: &[u8], fd: OwnedFd) {
        self.cache = Some((path.to_vec(), fd));
    }

    /// Drops the cached directory: something on the way to it may have changed.
    pub(crate) fn forget(&mut self) {
        self.cache = None;
    }

    /// Opens the existing directory at `path` inside the root, following symlinks within it.
    pub(crate) fn open(&self, path: &[u8]) -> Result<OwnedFd, Errno> {
        let path = if path.is_empty() { &b"."[..] } else { path };
        // EAGAIN: the kernel could not rule out a concurrent rename racing a `..`; retry.
        let mut tries = 0;
        loop {
            match openat2(&self.root, path, DIR_FLAGS, Mode::empty(), RESOLVE) {
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                result => return result,
            }
        }
    }

    /// `mkdir -p` inside the root, one component at a time from the root down: an existing
    /// directory is opened without following (`O_NOFOLLOW`); a missing one is created with
    /// `mkdirat` in its (already resolved) parent; a symlink on the way is resolved by
    /// `openat2(RESOLVE_IN_ROOT)` of the prefix so far. A dangling symlink or a non-directory
    /// on the way is an error.
    fn create_all(&self, path: &[u8]) -> Result<OwnedFd, ResolveError> {
        let fail = |errno, end: usize| ResolveError {
            errno,
            at: path[..end].to_vec(),
        };
        let mut current: Option<OwnedFd> = None;
        let mut end = 0;
        for component in path.split(|&b| b == b'/') {
            end += component.len();
            let parent = current.as_ref().map_or(self.root.as_fd(), |fd| fd.as_fd());
            let nofollow = DIR_FLAGS | OFlags::NOFOLLOW;
            let next = match openat(parent, component, nofollow, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => match mkdirat(parent, component, Mode::from_raw_mode(0o700)) {
                    Ok(()) => {
                        let fd = openat(parent, component, nofollow, Mode::empty())
                            .map_err(|e| fail(e, end))?;
                        // Exactly 0755 whatever the process umask.
                        fchmod(&fd, Mode::from_raw_mode(IMPLIED_DIR_MODE))
                            .map_err(|e| fail(e, end))?;
                        fd
                    }
                    // Something is there after all (a dangling symlink): resolve it in root.
                    Err(Errno::EXIST) => self.open(&path[..end]).map_err(|e| fail(e, end))?,
                    Err(e) => return Err(fail(e, end)),
                },
                // A symlink (ELOOP, or ENOTDIR with O_DIRECTORY) or a non-directory: let the
                // kernel resolve the prefix inside the root; a non-directory fails there.
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    self.open(&path[..end]).map_err(|e| fail(e, end))?
                }
                Err(e) => return Err(fail(e, end)),
            };
            current = Some(next);
            end += 1; // the '/'
        }
        current.ok_or(ResolveError {
            errno: Errno::INVAL,
            at: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::apply::test_support::TempDir;
    use rustix::fs::{CWD, fstat};
    use std::os::unix::fs::symlink;

    fn dirs(t: &TempDir) -> Dirs {
        Dirs::new(openat(CWD, t.root(), DIR_FLAGS, Mode::empty()).unwrap())
    }

    fn ino(fd: BorrowedFd<'_>) -> u64 {
        fstat(fd).unwrap().st_ino
    }

    #[test]
    fn creates_missing_parents_with_0755() {
        let t = TempDir::new("resolve-create");
        let mut d = dirs(&t);
        d.dir(b"a/b/c", true).unwrap();
        let meta = std::fs::metadata(t.root().join("a/b/c")).unwrap();
        assert!(meta.is_dir());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
        assert!(matches!(
            d.dir(b"x/y", false),
            Err(ResolveError {
                errno: Errno::NOENT,
                ..
            })
        ));
    }

    #[test]
    fn absolute_symlink_resolves_to_the_layer_root() {
        let t = TempDir::new("resolve-abs");
        symlink("/", t.root().join("evil")).unwrap();
        let mut d = dirs(&t);
        let root_ino = ino(d.root());
        assert_eq!(ino(d.dir(b"evil", false).unwrap()), root_ino);
        // Creating through it creates inside the root.
        d.dir(b"evil/etc", true).unwrap();
        assert!(t.root().join("etc").is_dir());
    }

    #[test]
    fn dotdot_symlink_stops_at_the_layer_root() {
        let t = TempDir::new("resolve-dotdot");
        std::fs::create_dir(t.root().join("sub")).unwrap();
        symlink("../../..", t.root().join("sub/up")).unwrap();
        let mut d = dirs(&t);
        let root_ino = ino(d.root());
        assert_eq!(ino(d.dir(b"sub/up", false).unwrap()), root_ino);
        d.dir(b"sub/up/made", true).unwrap();
        assert!(t.root().join("made").is_dir());
    }

    #[test]
    fn non_directory_and_dangling_symlink_on_the_way_fail() {
        let t = TempDir::new("resolve-fail");
        std::fs::write(t.root().join("file"), b"x").unwrap();
        symlink("nowhere/deeper", t.root().join("dangling")).unwrap();
        let mut d = dirs(&t);
        let err = d.dir(b"file/sub", true).unwrap_err();
        assert_eq!(err.errno, Errno::NOTDIR);
        let err = d.dir(b"dangling/sub", true).unwrap_err();
        assert_eq!(err.errno, Errno::NOENT);
    }

    #[test]
    fn cache_is_reused_until_forgotten() {
        let t = TempDir::new("resolve-cache");
        let mut d = dirs(&t);
        let first = ino(d.dir(b"a/b", true).unwrap());
        std::fs::remove_dir(t.root().join("a/b")).unwrap();
        std::fs::create_dir(t.root().join("a/b")).unwrap();
        // Still the cached (now deleted) directory…
        assert_eq!(ino(d.dir(b"a/b", true).unwrap()), first);
        // …until the extractor says something was removed.
        d.forget();
        let again = d.dir(b"a/b", true).unwrap();
        let now = std::fs::metadata(t.root().join("a/b")).unwrap();
        assert_eq!(ino(again), std::os::unix::fs::MetadataExt::ino(&now));
    }
}
