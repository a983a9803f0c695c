//! The last steps before `execve`: rlimits, working directory, fds, `$PATH` lookup.

use super::{SetupError, check, cstring};
use crate::runtime::spec::{ProcessSpec, Rlimit};
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;

/// Docker's `PATH` when the environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn rlimit_resource(kind: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match kind.trim_start_matches("RLIMIT_") {
        "AS" => libc::RLIMIT_AS,
        "CORE" => libc::RLIMIT_CORE,
        "CPU" => libc::RLIMIT_CPU,
        "DATA" => libc::RLIMIT_DATA,
        "FSIZE" => libc::RLIMIT_FSIZE,
        "LOCKS" => libc::RLIMIT_LOCKS,
        "MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "NICE" => libc::RLIMIT_NICE,
        "NOFILE" => libc::RLIMIT_NOFILE,
        "NPROC" => libc::RLIMIT_NPROC,
        "RSS" => libc::RLIMIT_RSS,
        "RTPRIO" => libc::RLIMIT_RTPRIO,
        "RTTIME" => libc::RLIMIT_RTTIME,
        "SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

/// Applies each rlimit. An unknown kind is an error; a hard limit the host refuses to
/// raise (EPERM) is logged to the process's stderr and skipped, never fatal.
pub fn set_rlimits(limits: &[Rlimit]) -> Result<(), SetupError> {
    for l in limits {
        let res = rlimit_resource(&l.kind)
            .ok_or_else(|| SetupError::Invalid(format!("unknown rlimit {}", l.kind)))?;
        let lim = libc::rlimit {
            rlim_cur: l.soft,
            rlim_max: l.hard,
        };
        // SAFETY: setrlimit with a valid struct.
        let r = unsafe { libc::setrlimit(res, &lim) };
        if r == -1 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EPERM) {
                eprintln!(
                    "berth: warning: cannot set {} to {}:{}: {err}",
                    l.kind, l.soft, l.hard
                );
                continue;
            }
            return Err(super::sys(format!("setrlimit {}", l.kind))(err));
        }
    }
    Ok(())
}

/// Creates the working directory if missing (as root, before the user switch).
pub fn create_cwd(cwd: &str) -> Result<(), SetupError> {
    if !cwd.starts_with('/') {
        return Err(SetupError::Invalid(format!(
            "working directory {cwd:?} is not absolute"
        )));
    }
    std::fs::create_dir_all(cwd).map_err(super::sys(format!("mkdir {cwd}")))
}

/// chdir (as the container's user), then checks the result is inside the container's
/// root: a cwd reached through a leaked fd would read "(unreachable)" (CVE-2024-21626).
pub fn enter_cwd(cwd: &str) -> Result<(), SetupError> {
    std::env::set_current_dir(cwd).map_err(super::sys(format!("chdir to cwd {cwd:?}")))?;
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(SetupError::Invalid(format!(
            "current working directory {cwd:?} is outside of the container root"
        ))),
    }
}

/// Marks every fd from 3 up close-on-exec: the container sees only 0, 1, 2, while the
/// status pipe still works until the exec (CVE-2024-21626).
pub fn cloexec_from_3() -> Result<(), SetupError> {
    // SAFETY: close_range with the CLOEXEC flag only sets flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    check(r as libc::c_int, || "close_range".into()).map(drop)
}

/// Closes every fd from 3 up except `keep`: a child waiting for its release must not
/// hold the supervisor's fds (the release pipe's write end would keep it waiting forever
/// after the supervisor died).
pub fn close_except(keep: &[i32]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&fd| fd >= 3)
        .map(|&fd| fd as u32)
        .collect();
    keep.sort_unstable();
    let mut from = 3u32;
    for fd in keep {
        if fd > from {
            // SAFETY: closing fds this child does not use.
            unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0u32) };
        }
        from = from.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0u32) };
}

/// `PATH` from the process environment, or Docker's default.
pub fn env_path(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
}

/// Finds `name` as Go's `exec.LookPath` does: with a `/` it is used as is, otherwise the
/// first regular executable file in `PATH`.
pub fn look_path(name: &str, path: &str) -> Result<String, SetupError> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{dir}/{name}");
        if let Ok(md) = std::fs::metadata(&candidate)
            && md.is_file()
            && md.permissions().mode() & 0o111 != 0
        {
            return Ok(candidate);
        }
    }
    Err(SetupError::NotInPath(name.to_string()))
}

/// Looks up `args[0]` and execs. Returns only on failure.
pub fn exec(process: &ProcessSpec) -> SetupError {
    match try_exec(process) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn try_exec(process: &ProcessSpec) -> Result<std::convert::Infallible, SetupError> {
    let name = process
        .args
        .first()
        .ok_or_else(|| SetupError::Invalid("no command specified".into()))?;
    let path = look_path(name, env_path(&process.env))?;
    let argv: Vec<CString> = process
        .args
        .iter()
        .map(|a| cstring(a.as_str()))
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = process
        .env
        .iter()
        .map(|e| cstring(e.as_str()))
        .collect::<Result<_, _>>()?;
    let cpath = cstring(path.as_str())?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of C strings that outlive the call.
    unsafe { libc::execve(cpath.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    Err(SetupError::Exec {
        path,
        source: std::io::Error::last_os_error(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_and_messages() {
        assert_eq!(env_path(&["A=b".into()]), DEFAULT_PATH);
        assert_eq!(env_path(&["PATH=/x".into()]), "/x");
        assert_eq!(look_path("sh", "/nonexistent:/bin").unwrap(), "/bin/sh");
        assert_eq!(look_path("/a/b", "").unwrap(), "/a/b");
        let e = look_path("nope-berth", "/bin").unwrap_err();
        assert_eq!(e.exit_code(), 127);
        assert_eq!(
            e.to_string(),
            "exec: \"nope-berth\": executable file not found in $PATH"
        );
        let e = SetupError::Exec {
            path: "/etc".into(),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        assert_eq!(
            (e.exit_code(), e.to_string().as_str()),
            (126, "exec: \"/etc\": permission denied")
        );
    }
}
