//! Files the supervisor leaves in the container directory.

use crate::runtime::bundle::BundleDir;
use crate::runtime::protocol::ExitStatus;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

/// Replaces `name` atomically: a temporary file, then a rename, so a reader (the agent,
/// also one restarted after a crash) never sees half a file.
///
/// Not fsynced: everything the supervisor writes (PIDs, the exit status) describes
/// processes that a host crash ends anyway, and the agent writes what must outlive one
/// into its own record. An fsync here would also cost a synchronous discard when the
/// container directory is removed (the data root is mounted `discard`).
pub fn write_atomic(dir: &BundleDir, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = match name.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/.{file}.tmp"),
        None => format!(".{name}.tmp"),
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.path(&tmp))?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(dir.path(&tmp), dir.path(name))
}

pub fn write_exit(dir: &BundleDir, name: &str, status: &ExitStatus) -> io::Result<()> {
    let json = serde_json::to_vec(status).map_err(io::Error::other)?;
    write_atomic(dir, name, &json)
}

/// Unix nanoseconds now.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A `waitpid` status as Docker reports it.
pub fn exit_status(wstatus: i32, error: Option<String>) -> ExitStatus {
    let (exit_code, signal) = if libc::WIFSIGNALED(wstatus) {
        let sig = libc::WTERMSIG(wstatus);
        (128 + sig, Some(sig))
    } else {
        (libc::WEXITSTATUS(wstatus), None)
    };
    ExitStatus {
        exit_code,
        signal,
        finished_at: now_nanos(),
        error,
    }
}

/// An exec ID becomes a file name: letters, digits, `-`, `_`, `.`, not leading `.`.
pub fn valid_exec_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}
