//! Turning a [`ProcessSpec`](super::spec::ProcessSpec) into a running container process,
//! with system calls only (never a shell command). Everything here runs in a child the
//! supervisor forked: it ends in `execve`, or reports an error over the status pipe
//! ([`status`]) and exits. Nothing returns to the supervisor's loop.

pub mod capabilities;
pub mod child;
pub mod devices;
pub mod exec;
pub mod mounts;
pub mod namespaces;
pub mod reaper;
pub mod status;
pub mod user;

use std::ffi::CString;
use std::io;

/// Why a container process could not be set up or started. Its `Display` is the message
/// Docker users see; [`SetupError::exit_code`] is Docker's code for it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{context}: {source}")]
    Sys {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    /// `args[0]` has no `/` and is in no directory of `$PATH`.
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotInPath(String),
    /// `execve` itself failed.
    #[error("{}", exec_message(.path, .source))]
    Exec {
        path: String,
        #[source]
        source: io::Error,
    },
}

fn exec_message(path: &str, err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOENT) => {
            format!("exec: \"{path}\": stat {path}: no such file or directory")
        }
        Some(libc::EACCES) => format!("exec: \"{path}\": permission denied"),
        Some(libc::ENOEXEC) => format!("exec: \"{path}\": exec format error"),
        _ => format!("exec: \"{path}\": {err}"),
    }
}

impl SetupError {
    /// Docker's exit codes: 127 not found, 126 not executable, 125 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            SetupError::NotInPath(_) => 127,
            SetupError::Exec { source, .. } => match source.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) => 127,
                Some(libc::EACCES) | Some(libc::ENOEXEC) | Some(libc::EISDIR) => 126,
                _ => 125,
            },
            _ => 125,
        }
    }
}

/// Context for the last OS error: `sys("mount /proc")(err)`.
pub(crate) fn sys(context: impl Into<String>) -> impl FnOnce(io::Error) -> SetupError {
    let context = context.into();
    move |source| SetupError::Sys { context, source }
}

/// `Err(last OS error)` when a libc call returned -1.
pub(crate) fn check(
    ret: libc::c_int,
    context: impl FnOnce() -> String,
) -> Result<libc::c_int, SetupError> {
    if ret == -1 {
        Err(SetupError::Sys {
            context: context(),
            source: io::Error::last_os_error(),
        })
    } else {
        Ok(ret)
    }
}

/// A C string of a path or argument; interior NULs are refused (they would truncate).
pub(crate) fn cstring(s: impl Into<Vec<u8>>) -> Result<CString, SetupError> {
    CString::new(s).map_err(|e| SetupError::Invalid(format!("NUL byte in {:?}", e.into_vec())))
}
