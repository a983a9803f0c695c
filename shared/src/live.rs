//! What the agent pushes about containers while a dashboard watches them: log lines, one
//! container's usage every second, and every running container's CPU and memory every few
//! seconds (WebSocket topics `logs`, `stats` and `usage`, see [`crate::ws`]).

use serde::{Deserialize, Serialize};

/// One entry of a container's json-file log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// It came on stderr (else stdout).
    #[serde(default, skip_serializing_if = "is_false")]
    pub err: bool,
    /// RFC 3339 with nanoseconds, as the log file has it.
    pub time: String,
    /// The text, without its line ending.
    pub text: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One container's usage at one moment (the `stats` topic, about every second while it runs).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct StatsSample {
    /// Milliseconds since the Unix epoch, agent clock.
    pub time_ms: u64,
    /// Since the previous sample; 100 = one CPU busy (as `docker stats`).
    pub cpu_percent: f64,
    /// In use, without the inactive page cache (as `docker stats`).
    pub memory_used: u64,
    /// The container's limit, or the host's memory when it has none.
    pub memory_limit: u64,
    /// Totals since the container started, every interface but `lo`.
    pub net_rx: u64,
    pub net_tx: u64,
    /// Totals of the container's cgroup.
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// CPU and memory of one running container (the `usage` topic).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Usage {
    /// The first 12 characters of the container's ID.
    pub id: String,
    /// 100 = one CPU busy, over the last interval.
    pub cpu: f32,
    /// Bytes in use, without the inactive page cache.
    pub mem: u64,
}

/// One path a container changed in its image, with its size.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SizedChange {
    pub path: String,
    /// `A` added, `C` changed, `D` deleted (as `docker diff`).
    pub kind: char,
    /// Bytes of a regular file (or a symlink's target); 0 for directories and deletions.
    pub size: u64,
}

/// `GET /berth/v1/containers/{id}/changes`: what a commit of the container would capture.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct ContainerChanges {
    /// Sorted by path.
    pub changes: Vec<SizedChange>,
    /// The new layer's size as the image history will show it: bytes of the regular files
    /// it holds (a hard-linked file counted once).
    pub layer_size: u64,
}

/// `GET /berth/v1/ports/check`: whether a host port can be published, and a free one near it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PortCheck {
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    pub free: bool,
    /// Why it is not free (which container publishes it, or that something else holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A free port: the asked one when free, else the next free one above it (or below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<u16>,
}

/// What the browser sends on a console WebSocket besides keystrokes (which go as binary
/// messages, raw bytes to the terminal).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsoleInput {
    /// The terminal's size changed.
    Resize { cols: u16, rows: u16 },
}

/// What the agent sends on a console WebSocket besides the terminal's output (binary).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsoleOutput {
    /// The shell exited; the socket closes after this.
    Exit { code: i32 },
    /// The shell could not be started or the link to it broke.
    Error { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        let line = LogLine {
            err: false,
            time: "t".into(),
            text: "hi".into(),
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"time":"t","text":"hi"}"#
        );
        let back: LogLine = serde_json::from_str(r#"{"err":true,"time":"t","text":""}"#).unwrap();
        assert!(back.err);
        let resize: ConsoleInput =
            serde_json::from_str(r#"{"type":"resize","cols":80,"rows":24}"#).unwrap();
        assert_eq!(resize, ConsoleInput::Resize { cols: 80, rows: 24 });
        assert_eq!(
            serde_json::to_string(&ConsoleOutput::Exit { code: 3 }).unwrap(),
            r#"{"type":"exit","code":3}"#
        );
        let change = SizedChange {
            path: "/a".into(),
            kind: 'A',
            size: 2,
        };
        assert_eq!(
            serde_json::to_string(&change).unwrap(),
            r#"{"path":"/a","kind":"A","size":2}"#
        );
    }
}
