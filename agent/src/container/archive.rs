//! `docker cp`: the archive API (`HEAD`/`GET`/`PUT /containers/{id}/archive?path=`).
//!
//! Paths are resolved inside the container's root with `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink in the container cannot point the copy at the host; a running container is
//! frozen while its files are read or written (CVE-2018-15664, the symlink-exchange race).
//! Uploads go through the same hostile-tar extractor as image layers.

use super::ContainerError;
use super::service::Containers;
use crate::layer::{ApplyOptions, apply_layer};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, openat2, statat};
use serde_json::json;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

/// What `X-Docker-Container-Path-Stat` carries.
#[derive(Clone, Debug)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits, as the CLI decodes them.
    pub mode: u32,
    pub mtime: String,
    pub link_target: String,
}

impl PathStat {
    pub fn header_json(&self) -> String {
        json!({
            "name": self.name,
            "size": self.size,
            "mode": self.mode,
            "mtime": self.mtime,
            "linkTarget": self.link_target,
        })
        .to_string()
    }

    pub fn is_dir(&self) -> bool {
        self.mode & GO_DIR != 0
    }
}

const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHARDEV: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

fn go_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    match FileType::from_raw_mode(st_mode) {
        FileType::Directory => mode |= GO_DIR,
        FileType::Symlink => mode |= GO_SYMLINK,
        FileType::Fifo => mode |= GO_PIPE,
        FileType::Socket => mode |= GO_SOCKET,
        FileType::CharacterDevice => mode |= GO_DEVICE | GO_CHARDEV,
        FileType::BlockDevice => mode |= GO_DEVICE,
        _ => {}
    }
    if st_mode & 0o4000 != 0 {
        mode |= GO_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        mode |= GO_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= GO_STICKY;
    }
    mode
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

fn not_found(path: &str, id: &str) -> ContainerError {
    ContainerError::NotFound(format!("Could not find the file {path} in container {id}"))
}

/// The path's handle inside `root` (final symlink not followed) and its stat.
fn resolve(root: &OwnedFd, path: &str, id: &str) -> Result<(OwnedFd, PathStat), ContainerError> {
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() { "." } else { relative };
    let fd = openat2(
        root,
        relative,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
    .map_err(|_| not_found(path, id))?;
    let st = statat(&fd, "", AtFlags::EMPTY_PATH).map_err(|_| not_found(path, id))?;
    let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        rustix::fs::readlinkat(&fd, "", Vec::new())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let name = std::path::Path::new(relative)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".to_string());
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(st.st_mtime.max(0) as u64);
    Ok((
        fd,
        PathStat {
            name,
            size: st.st_size,
            mode: go_mode(st.st_mode),
            mtime: crate::util::clock::rfc3339(mtime),
            link_target,
        },
    ))
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

impl Containers {
    /// Mounts (if needed) and opens the container's root; says whether to unmount after.
    fn open_root(
        &self,
        container: &super::service::Container,
    ) -> Result<(OwnedFd, bool), ContainerError> {
        let record = container.snapshot();
        let lowers = self.container_lowers(&record.image_id, container.dir())?;
        let was_mounted = crate::layer::snapshot::is_mounted(container.dir());
        let rootfs = self
            .driver()
            .mount(container.dir(), &lowers)
            .map_err(|e| ContainerError::Runtime(format!("mounting the rootfs: {e}")))?;
        let fd = rustix::fs::open(
            &rootfs,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ContainerError::io(&rootfs, e.into()))?;
        Ok((fd, !was_mounted && !record.state.status.is_live()))
    }

    fn release_root(&self, container: &super::service::Container, unmount: bool) {
        if unmount && !container.snapshot().state.status.is_live() {
            let _ = self.driver().unmount(container.dir());
        }
    }

    /// `HEAD /containers/{id}/archive?path=`.
    pub fn archive_stat(&self, input: &str, path: &str) -> Result<PathStat, ContainerError> {
        let container = self.find(input)?;
        let (root, unmount) = self.open_root(&container)?;
        let result = resolve(&root, path, &container.id).map(|(_, stat)| stat);
        self.release_root(&container, unmount);
        result
    }

    /// `GET /containers/{id}/archive?path=`: a tar of the path (a directory with its
    /// contents under its own name), written to `out`.
    pub async fn archive_get(
        self: &Arc<Self>,
        input: &str,
        path: &str,
        out: impl Write + Send + 'static,
    ) -> Result<PathStat, ContainerError> {
        let container = self.find(input)?;
        let (root, unmount) = self.open_root(&container)?;
        let (fd, stat) = match resolve(&root, path, &container.id) {
            Ok(found) => found,
            Err(e) => {
                self.release_root(&container, unmount);
                return Err(e);
            }
        };
        let frozen = self.freeze_for_copy(&container)?;
        let name = stat.name.clone();
        let is_dir = stat.is_dir();
        let is_link = stat.mode & GO_SYMLINK != 0;
        let link_target = stat.link_target.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut builder = tar::Builder::new(out);
            builder.follow_symlinks(false);
            builder.mode(tar::HeaderMode::Complete);
            if is_link {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                header.set_mode(0o777);
                builder.append_link(&mut header, &name, &link_target)?;
            } else if is_dir {
                // A directory handle (not O_PATH) so the walk starts at exactly this one.
                let dir = rustix::fs::openat(
                    &fd,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                builder.append_dir_all(&name, fd_path(&dir))?;
            } else {
                let file =
                    rustix::fs::openat(&fd, "", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                        .or_else(|_| {
                            rustix::fs::open(
                                fd_path(&fd),
                                OFlags::RDONLY | OFlags::CLOEXEC,
                                Mode::empty(),
                            )
                        })?;
                let mut file = std::fs::File::from(file);
                builder.append_file(&name, &mut file)?;
            }
            builder.into_inner()?.flush()
        })
        .await
        .map_err(|e| ContainerError::Runtime(format!("copy task: {e}")))?;
        drop(frozen);
        self.release_root(&container, unmount);
        written.map_err(|e| ContainerError::Runtime(format!("copying {path}: {e}")))?;
        Ok(stat)
    }

    /// `PUT /containers/{id}/archive?path=`: extracts a tar into the directory `path`.
    pub async fn archive_put(
        self: &Arc<Self>,
        input: &str,
        path: &str,
        body: impl Read + Send + 'static,
    ) -> Result<(), ContainerError> {
        let container = self.find(input)?;
        let (root, unmount) = self.open_root(&container)?;
        let resolved = resolve(&root, path, &container.id);
        let (fd, stat) = match resolved {
            Ok(found) => found,
            Err(e) => {
                self.release_root(&container, unmount);
                return Err(e);
            }
        };
        if !stat.is_dir() {
            self.release_root(&container, unmount);
            return Err(ContainerError::BadInput(format!(
                "extraction point is not a directory: {path}"
            )));
        }
        let frozen = self.freeze_for_copy(&container)?;
        let result = tokio::task::spawn_blocking(move || {
            let dir = rustix::fs::openat(
                &fd,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| ContainerError::io(path_for_errors(), e.into()))?;
            apply_layer(body, &fd_path(&dir), &ApplyOptions::default())
                .map_err(|e| ContainerError::BadInput(format!("copying into the container: {e}")))
        })
        .await
        .map_err(|e| ContainerError::Runtime(format!("copy task: {e}")))?;
        drop(frozen);
        self.release_root(&container, unmount);
        result.map(|_| ())
    }
}

fn path_for_errors() -> PathBuf {
    PathBuf::from("the extraction directory")
}
