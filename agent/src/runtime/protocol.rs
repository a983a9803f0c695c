//! The supervisor's socket protocol, spoken between the agent and `berth shim`.
//!
//! Each container's supervisor listens on `containers/<id>/shim.sock` (a path socket in a
//! 0700 directory, never an abstract one: CVE-2020-15257). A client connects and sends one
//! JSON [`Request`] followed by `\n`. What follows depends on the request:
//!
//! - `Start`, `Resize`, `Kill`, `State`: one JSON [`Reply`] line, then the supervisor closes.
//! - `Wait`: one [`Reply::Exited`] line once the main process has exited (at once if it
//!   already has); the connection stays silent until then.
//! - `Attach`: the supervisor answers one [`Reply::Ok`] line; from then on the connection
//!   is a raw byte stream. Supervisor → client: the process's output, raw terminal bytes
//!   with a TTY, otherwise Docker's multiplexed frames (`[stream, 0, 0, 0, len u32 BE]` +
//!   payload, stream 1 = stdout, 2 = stderr) — so the agent copies bytes without parsing.
//!   Only the streams asked for are sent. Client → supervisor: stdin bytes (when `stdin`);
//!   the client's write shutdown is stdin EOF, which closes the process's stdin if the
//!   process was created with `stdin_once`. The supervisor closes the connection after the
//!   process has exited and its output is drained.
//! - `Exec`: like `Attach`, for a new process in the container's namespaces and cgroup; the
//!   first line is [`Reply::Started`] (or [`Reply::Error`]). When it exits the supervisor
//!   writes `exec/<exec id>.json` ([`ExitStatus`]) in the container directory, then closes.
//!
//! Files the supervisor keeps in `containers/<id>/`: `shim.pid`, `init.pid` (the main
//! process's host PID, written before it is released), `exit.json` ([`ExitStatus`], written
//! atomically once the main process has been reaped; the supervisor exits after that),
//! and the json-file log at `RuntimeSpec::log_path`.

use serde::{Deserialize, Serialize};

use super::spec::ProcessSpec;

/// Name of the supervisor's socket in the container directory.
pub const SOCKET: &str = "shim.sock";
/// Name of the main process's exit record in the container directory.
pub const EXIT_FILE: &str = "exit.json";

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Release the main process: it has been set up and waits just before `execve`.
    /// Replies `Started` once the exec succeeded, or `Error` with 126/127/125.
    Start,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    Wait,
    /// Terminal size of the main process (`exec: None`) or of an exec.
    Resize {
        #[serde(default)]
        exec: Option<String>,
        height: u16,
        width: u16,
    },
    /// Send `signal` to the main process (`all`: to every process in the container).
    Kill {
        signal: i32,
        #[serde(default)]
        all: bool,
    },
    /// The main process's PID and whether it still runs.
    State,
    Exec {
        id: String,
        process: ProcessSpec,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    /// The process runs, with this host PID.
    Started {
        pid: i32,
    },
    /// It could not start; `exit_code` as Docker reports it (126 not executable, 127 not
    /// found, 125 anything else).
    Error {
        message: String,
        exit_code: i32,
    },
    Exited(ExitStatus),
    State {
        pid: i32,
        running: bool,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExitStatus {
    /// 0–255, or 128 + signal when killed by a signal.
    pub exit_code: i32,
    /// The signal that killed it, if one did.
    #[serde(default)]
    pub signal: Option<i32>,
    /// Unix nanoseconds.
    pub finished_at: i64,
    /// Why it never ran (exec failure), if so.
    #[serde(default)]
    pub error: Option<String>,
}
