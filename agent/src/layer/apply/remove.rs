//! Removing what an entry replaces, fd-relative and never following a symlink.
//!
//! A later entry of the same name replaces an earlier one (a non-directory replaces anything; a
//! directory replaces a non-directory), as Docker's `UnpackLayer` does with `os.RemoveAll`. The
//! removal works on `<parent fd> + name` with `unlinkat`, so a symlink is removed itself and
//! never its target (containerd `TestBreakouts` "whiteout of a symlink must not remove /etc").

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{AtFlags, Dir, Mode, OFlags, openat, unlinkat};
use rustix::io::Errno;

use super::resolve::DIR_FLAGS;

/// How deep a replaced directory tree may be. Paths are bounded by `PATH_MAX` (4096 bytes, so
/// at most 2048 levels); holding two fds per level that deep could exhaust the fd limit, so a
/// deeper tree is an error instead — no real layer replaces a directory 128 levels deep.
const MAX_DEPTH: usize = 128;

/// Removes `name` in `parent`, whatever it is; a directory with everything under it.
pub(crate) fn remove(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    match unlinkat(parent, name, AtFlags::empty()) {
        Err(Errno::ISDIR) => remove_tree(parent, name, 0),
        result => result.map_err(io::Error::from),
    }
}

fn remove_tree(parent: BorrowedFd<'_>, name: &[u8], depth: usize) -> io::Result<()> {
    if depth >= MAX_DEPTH {
        return Err(io::Error::other(format!(
            "the directory tree to replace is deeper than {MAX_DEPTH} levels"
        )));
    }
    let dir = openat(parent, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
    // Names first, removals after: deleting while reading could make readdir skip entries.
    let mut children = Vec::new();
    for entry in Dir::read_from(&dir)? {
        let entry = entry?;
        let child = entry.file_name().to_bytes();
        if child != b"." && child != b".." {
            children.push(child.to_vec());
        }
    }
    for child in children {
        match unlinkat(&dir, child.as_slice(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(Errno::ISDIR) => remove_tree(dir.as_fd(), &child, depth + 1)?,
            Err(e) => return Err(e.into()),
        }
    }
    unlinkat(parent, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::apply::test_support::TempDir;
    use rustix::fs::CWD;
    use std::os::unix::fs::symlink;

    #[test]
    fn removes_files_trees_and_symlinks_not_their_targets() {
        let t = TempDir::new("remove");
        let outside = TempDir::new("remove-outside");
        std::fs::write(outside.root().join("keep"), b"canary").unwrap();
        let r = t.root();
        std::fs::write(r.join("file"), b"x").unwrap();
        std::fs::create_dir_all(r.join("tree/a/b/c")).unwrap();
        std::fs::write(r.join("tree/a/b/c/f"), b"x").unwrap();
        std::fs::write(r.join("tree/a/g"), b"x").unwrap();
        symlink(outside.root(), r.join("tree/link-out")).unwrap();
        symlink(outside.root(), r.join("link")).unwrap();
        let root = openat(CWD, r, DIR_FLAGS, Mode::empty()).unwrap();
        for name in ["file", "tree", "link"] {
            remove(root.as_fd(), name.as_bytes()).unwrap();
            assert!(r.join(name).symlink_metadata().is_err(), "{name}");
        }
        assert_eq!(
            std::fs::read(outside.root().join("keep")).unwrap(),
            b"canary"
        );
    }

    #[test]
    fn too_deep_is_an_error_not_a_stack_overflow() {
        let t = TempDir::new("remove-deep");
        let mut deep = t.root().join("top");
        for _ in 0..MAX_DEPTH + 1 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let root = openat(CWD, t.root(), DIR_FLAGS, Mode::empty()).unwrap();
        let err = remove(root.as_fd(), b"top").unwrap_err();
        assert!(err.to_string().contains("deeper than"), "{err}");
    }
}
