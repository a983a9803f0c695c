//! The status pipe: how a forked child tells the supervisor how far it got.
//!
//! The write end is `O_CLOEXEC`, so a successful `execve` closes it: the supervisor sees
//! end-of-file and knows the exec worked, without a race against the process's first
//! output. Before that the child writes one-line messages, each in a single `write`
//! (shorter than `PIPE_BUF`, so never interleaved): `ready`, `pid <n>`, `error <code> <msg>`.

use std::os::fd::RawFd;

/// What a child reported.
#[derive(Debug, PartialEq)]
pub enum Status {
    /// Set up and waiting for the release byte.
    Ready,
    /// The host PID of the process that will exec (an exec's grandchild).
    Pid(i32),
    /// It failed; the supervisor passes message and Docker exit code on.
    Error { exit_code: i32, message: String },
}

/// Longest message we send: comfortably under `PIPE_BUF` (4096).
const MAX_MESSAGE: usize = 3000;

/// Sends one message from the child. Failures are ignored: the supervisor also sees the
/// child's exit status.
pub fn send(fd: RawFd, status: &Status) {
    let mut line = match status {
        Status::Ready => "ready".to_string(),
        Status::Pid(pid) => format!("pid {pid}"),
        Status::Error { exit_code, message } => {
            let mut message: String = message
                .chars()
                .map(|c| if c == '\n' { ' ' } else { c })
                .collect();
            if message.len() > MAX_MESSAGE {
                let mut end = MAX_MESSAGE;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
            }
            format!("error {exit_code} {message}")
        }
    };
    line.push('\n');
    // SAFETY: writing a valid buffer to a raw fd.
    unsafe { libc::write(fd, line.as_ptr().cast(), line.len()) };
}

/// Splits complete lines off `buf` and parses them; an unparsable line is an error
/// status rather than silently ignored.
pub fn parse(buf: &mut Vec<u8>) -> Vec<Status> {
    let mut out = Vec::new();
    while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=nl).collect();
        let line = String::from_utf8_lossy(&line[..nl]).into_owned();
        out.push(parse_line(&line));
    }
    out
}

fn parse_line(line: &str) -> Status {
    if line == "ready" {
        return Status::Ready;
    }
    if let Some(pid) = line.strip_prefix("pid ").and_then(|p| p.parse().ok()) {
        return Status::Pid(pid);
    }
    if let Some(rest) = line.strip_prefix("error ") {
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(exit_code) = code.parse() {
            return Status::Error {
                exit_code,
                message: message.to_string(),
            };
        }
    }
    Status::Error {
        exit_code: 125,
        message: format!("unexpected status from container process: {line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_keeps_partial() {
        let mut buf = b"ready\npid 42\nerror 127 exec: \"x\": not found\nerr".to_vec();
        let got = parse(&mut buf);
        assert_eq!(
            got,
            vec![
                Status::Ready,
                Status::Pid(42),
                Status::Error {
                    exit_code: 127,
                    message: "exec: \"x\": not found".into()
                }
            ]
        );
        assert_eq!(buf, b"err");
    }
}
