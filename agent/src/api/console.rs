//! The dashboard's console: `GET /berth/v1/containers/{id}/console` upgrades to a WebSocket
//! bridged to a shell run with a TTY through the container's exec machinery (what
//! `docker exec -it` does). Operators and admins only (`auth::policy`); the upgrade must come
//! from the agent's own origin.
//!
//! Browser → agent: binary messages are keystrokes (raw bytes for the terminal), text
//! messages are `shared::live::ConsoleInput` (resize). Agent → browser: binary messages are
//! the terminal's output, then one `ConsoleOutput::Exit` text message when the shell ends.
//! Closing the socket hangs the shell up (SIGHUP), as closing a terminal does.

use super::error::{ApiError, ApiResult};
use super::origin::{self, OriginCheck};
use super::query::{Params, param};
use super::state::AppState;
use crate::container::Containers;
use crate::container::exec::{Exec, ExecRequest};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use shared::live::{ConsoleInput, ConsoleOutput};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The shell when the page names none.
const DEFAULT_SHELL: &str = "/bin/sh";
/// Keystrokes and pastes: a generous paste fits.
const MAX_INPUT: usize = 256 * 1024;
const MAX_COMMAND: usize = 1024;
/// How long a hung-up shell has to exit before it is killed.
const HANGUP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The command line to run: `cmd` split on whitespace, or [`DEFAULT_SHELL`].
fn command(cmd: Option<&str>) -> ApiResult<Vec<String>> {
    let cmd = cmd.map(str::trim).filter(|c| !c.is_empty());
    let Some(cmd) = cmd else {
        return Ok(vec![DEFAULT_SHELL.to_string()]);
    };
    if cmd.len() > MAX_COMMAND || cmd.contains('\0') {
        return Err(ApiError::bad_request(format!(
            "the console command must be under {MAX_COMMAND} bytes without NUL"
        )));
    }
    Ok(cmd.split_whitespace().map(str::to_string).collect())
}

/// `cols`/`rows` of the page's terminal: 1–1000 each, 80×24 when absent.
fn size(q: &std::collections::HashMap<String, String>) -> ApiResult<(u16, u16)> {
    let read = |key: &str, default: u16| -> ApiResult<u16> {
        match param(q, key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| ApiError::bad_request(format!("invalid {key} {v:?} (1–1000)"))),
        }
    };
    Ok((read("cols", 80)?, read("rows", 24)?))
}

pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if let OriginCheck::Foreign(origin) = origin::check(&headers) {
        return Err(ApiError::forbidden(format!(
            "console upgrade from foreign origin {origin} refused"
        )));
    }
    let (cols, rows) = size(&q)?;
    let request = ExecRequest {
        attach_stdin: true,
        attach_stdout: true,
        attach_stderr: true,
        cmd: command(param(&q, "cmd"))?,
        env: Some(vec!["TERM=xterm-256color".into()]),
        tty: true,
        user: param(&q, "user").unwrap_or("").to_string(),
        console_size: Some([rows, cols]),
        ..Default::default()
    };
    let containers = state.engine.containers.clone();
    // Made before the upgrade, so an unknown or stopped container is a plain HTTP error.
    let exec = containers.exec_create(&id, request)?;
    Ok(upgrade
        .max_message_size(MAX_INPUT)
        .max_frame_size(MAX_INPUT)
        .on_upgrade(move |socket| bridge(socket, containers, exec)))
}

async fn send_text(socket: &mut WebSocket, message: &ConsoleOutput) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

/// A handle on the shell process that survives PID reuse, to hang it up.
fn pidfd(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

async fn bridge(mut socket: WebSocket, containers: Arc<Containers>, exec: Arc<Exec>) {
    let stream = match containers.exec_start(&exec).await {
        Ok(stream) => stream,
        Err(e) => {
            let message = format!("cannot start {}: {e}", exec.process.args.join(" "));
            let _ = send_text(&mut socket, &ConsoleOutput::Error { message }).await;
            let _ = socket.send(Message::Close(None)).await;
            containers.exec_finish(&exec);
            return;
        }
    };
    let shell = exec
        .state
        .lock()
        .map(|s| s.pid)
        .ok()
        .filter(|&p| p > 0)
        .and_then(pidfd);
    let (mut from_shell, mut to_shell) = stream.into_split();
    let mut buf = vec![0u8; 32 * 1024];
    let shell_ended = loop {
        tokio::select! {
            read = from_shell.read(&mut buf) => match read {
                Ok(0) | Err(_) => break true,
                Ok(n) => {
                    let bytes = axum::body::Bytes::copy_from_slice(&buf[..n]);
                    if socket.send(Message::Binary(bytes)).await.is_err() {
                        break false;
                    }
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Binary(keys))) => {
                    if to_shell.write_all(&keys).await.is_err() {
                        break true;
                    }
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ConsoleInput>(&text) {
                    Ok(ConsoleInput::Resize { cols, rows }) => {
                        let (cols, rows) = (cols.clamp(1, 1000), rows.clamp(1, 1000));
                        if let Err(e) = containers.exec_resize(&exec, rows, cols).await {
                            tracing::debug!("console resize: {e}");
                        }
                    }
                    Err(e) => {
                        let message = format!("bad console message: {e}");
                        if send_text(&mut socket, &ConsoleOutput::Error { message }).await.is_err() {
                            break false;
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break false,
                Some(Ok(_)) => {}
            },
        }
    };
    if !shell_ended {
        // The page went away with the shell still running: hang it up, then let the
        // supervisor's close of the stream tell us it has gone.
        drop(to_shell);
        let mut sink = tokio::io::sink();
        for signal in [rustix::process::Signal::HUP, rustix::process::Signal::KILL] {
            if let Some(fd) = &shell {
                let _ = rustix::process::pidfd_send_signal(fd, signal);
            }
            let drained = tokio::io::copy(&mut from_shell, &mut sink);
            if tokio::time::timeout(HANGUP_GRACE, drained).await.is_ok() {
                break;
            }
        }
    }
    containers.exec_finish(&exec);
    if shell_ended {
        let code = exec
            .state
            .lock()
            .ok()
            .and_then(|s| s.exit_code)
            .unwrap_or(-1);
        let _ = send_text(&mut socket, &ConsoleOutput::Exit { code }).await;
        let _ = socket.send(Message::Close(None)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_sizes() {
        assert_eq!(command(None).unwrap(), ["/bin/sh"]);
        assert_eq!(command(Some("  ")).unwrap(), ["/bin/sh"]);
        assert_eq!(command(Some("sh -l")).unwrap(), ["sh", "-l"]);
        assert!(command(Some("a\0b")).is_err());
        assert!(command(Some(&"x".repeat(2000))).is_err());
        let mut q = std::collections::HashMap::new();
        assert_eq!(size(&q).unwrap(), (80, 24));
        q.insert("cols".to_string(), "120".to_string());
        q.insert("rows".to_string(), "40".to_string());
        assert_eq!(size(&q).unwrap(), (120, 40));
        q.insert("rows".to_string(), "0".to_string());
        assert!(size(&q).is_err());
        q.insert("rows".to_string(), "-3".to_string());
        assert!(size(&q).is_err());
    }
}
