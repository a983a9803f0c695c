//! The container directory as both sides of the supervisor's socket see it.
//!
//! Unix socket paths are limited to 108 bytes and a data root can be longer, so the
//! socket is bound and connected through `/proc/self/fd/<dirfd>/shim.sock`, where
//! `dirfd` is an `O_PATH` descriptor of the container directory: always short.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// An open container directory (`containers/<id>/`).
#[derive(Debug)]
pub struct BundleDir {
    fd: OwnedFd,
}

impl BundleDir {
    pub fn open(bundle: &Path) -> io::Result<BundleDir> {
        let fd = rustix::fs::open(
            bundle,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(BundleDir { fd })
    }

    /// A short path to `name` in the directory, valid in this process while `self` lives.
    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}/{name}", self.fd.as_raw_fd()))
    }

    /// The supervisor's socket, through the short path.
    pub fn socket_path(&self) -> PathBuf {
        self.path(super::protocol::SOCKET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bundle_paths_give_short_socket_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let mut long = tmp.path().to_path_buf();
        for _ in 0..4 {
            long.push("a".repeat(60));
        }
        std::fs::create_dir_all(&long).unwrap();
        let dir = BundleDir::open(&long).unwrap();
        let sock = dir.socket_path();
        assert!(sock.as_os_str().len() < 108);
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(long.join("shim.sock").exists());
        std::os::unix::net::UnixStream::connect(dir.socket_path()).unwrap();
        drop(listener);
    }
}
