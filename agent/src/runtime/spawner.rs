//! The agent's side of `berth shim-server` ([`super::shim::server`]): one server per
//! agent, started with the first container start and again if it has died. Starting a
//! supervisor sends the container directory's path with a pipe, and reads the supervisor's
//! one-line report from the pipe: it has set the container up and waits for `Start`.

use super::client::ShimError;
use super::protocol::Reply;
use super::shim::server::{SUBCOMMAND, TITLE_ROOM};
use rustix::net::{
    AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::io::AsyncReadExt;

/// Longest report line read from a supervisor.
const MAX_REPORT: u64 = 64 * 1024;
/// How long a request may wait for room in the server's socket queue.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Spawner {
    exe: PathBuf,
    /// `<data root>/containers`: the server starts only supervisors of directories in it.
    containers: PathBuf,
    server: Mutex<Option<Server>>,
}

/// The agent's end of a running server's socket. Dropping it (a replaced server, the
/// agent stopping or dying) closes the socket, and the server exits by itself.
struct Server {
    socket: OwnedFd,
}

impl Spawner {
    /// `exe`: the `berth` binary the server runs; `containers`: the directory whose
    /// subdirectories are the containers.
    pub fn new(exe: &Path, containers: &Path) -> Spawner {
        Spawner {
            exe: exe.to_path_buf(),
            // The server refuses relative paths (its working directory is not ours to trust).
            containers: std::path::absolute(containers).unwrap_or_else(|_| containers.into()),
            server: Mutex::new(None),
        }
    }

    /// Starts the supervisor of the container in `bundle`; returns the main process's
    /// host PID once it waits for `Start`.
    pub async fn spawn(&self, bundle: &Path) -> Result<i32, ShimError> {
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| ShimError::Spawn(format!("report pipe: {e}")))?;
        self.send(bundle, write)?;
        let mut line = Vec::new();
        let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(read)
            .map_err(|e| ShimError::Spawn(format!("report pipe: {e}")))?;
        // One line, not to end-of-file: the container process holds a copy of the write
        // end until it execs.
        let mut reader = reader.take(MAX_REPORT);
        let mut chunk = [0u8; 512];
        loop {
            let n = reader.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            line.extend_from_slice(&chunk[..n]);
            if line.contains(&b'\n') {
                break;
            }
        }
        parse_report(&line)
    }

    /// Sends one request, starting the server first if there is none or it has died.
    fn send(&self, bundle: &Path, report: OwnedFd) -> Result<(), ShimError> {
        let bundle = std::path::absolute(bundle).unwrap_or_else(|_| bundle.into());
        let path = bundle.as_os_str().as_bytes();
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = String::new();
        for _ in 0..2 {
            if server.is_none() {
                *server = Some(self.start()?);
            }
            let Some(s) = server.as_ref() else { continue };
            let fds = [report.as_fd()];
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            control.push(SendAncillaryMessage::ScmRights(&fds));
            let sent = loop {
                match rustix::net::sendmsg(
                    &s.socket,
                    &[IoSlice::new(path)],
                    &mut control,
                    SendFlags::NOSIGNAL,
                ) {
                    Err(rustix::io::Errno::INTR) => continue,
                    other => break other,
                }
            };
            match sent {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    *server = None;
                }
            }
        }
        Err(ShimError::Spawn(format!("the supervisor server: {last}")))
    }

    fn start(&self) -> Result<Server, ShimError> {
        let (ours, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| ShimError::Spawn(format!("socketpair: {e}")))?;
        // A hang guard: a server that stops reading (stopped, wedged) must not hold the
        // start path and a runtime thread forever; after this it is replaced.
        rustix::net::sockopt::set_socket_timeout(
            &ours,
            rustix::net::sockopt::Timeout::Send,
            Some(SEND_TIMEOUT),
        )
        .map_err(|e| ShimError::Spawn(format!("socket send timeout: {e}")))?;
        let mut process = tokio::process::Command::new(&self.exe)
            .arg(SUBCOMMAND)
            .arg(&self.containers)
            // Room for the supervisors' titles (see the server).
            .arg(" ".repeat(TITLE_ROOM))
            .stdin(std::process::Stdio::from(theirs))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| ShimError::Spawn(format!("{}: {e}", self.exe.display())))?;
        // Reaped as soon as it exits, so a dead server leaves no zombie behind.
        tokio::spawn(async move {
            match process.wait().await {
                Ok(status) if status.success() => {}
                status => tracing::warn!("the supervisor server ended: {status:?}"),
            }
        });
        Ok(Server { socket: ours })
    }
}

/// A supervisor's report: `Started { pid }` or why it failed.
fn parse_report(line: &[u8]) -> Result<i32, ShimError> {
    let text = String::from_utf8_lossy(line);
    let first = text.lines().next().unwrap_or("").trim();
    match serde_json::from_str::<Reply>(first) {
        Ok(Reply::Started { pid }) => Ok(pid),
        Ok(Reply::Error { message, exit_code }) => Err(ShimError::Failed { message, exit_code }),
        Ok(other) => Err(ShimError::Protocol(format!("unexpected reply {other:?}"))),
        Err(_) if first.is_empty() => Err(ShimError::Spawn(
            "the supervisor exited before reporting".into(),
        )),
        Err(_) => Err(ShimError::Spawn(format!("the supervisor said {first:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_read_as_the_supervisor_writes_them() {
        assert_eq!(
            parse_report(b"{\"reply\":\"started\",\"pid\":42}\n").unwrap(),
            42
        );
        match parse_report(b"{\"reply\":\"error\",\"message\":\"no\",\"exit_code\":127}\n") {
            Err(ShimError::Failed { message, exit_code }) => {
                assert_eq!((message.as_str(), exit_code), ("no", 127));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_report(b""), Err(ShimError::Spawn(_))));
        assert!(matches!(
            parse_report(b"thread main panicked"),
            Err(ShimError::Spawn(_))
        ));
    }
}
