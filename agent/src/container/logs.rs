//! Reading a container's json-file log (written by its supervisor) for `docker logs`:
//! stream selection, `--since`/`--until`, `--tail`, `-t`, and `-f`.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::{mpsc, watch};

#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Unix nanoseconds; entries before are skipped.
    pub since: Option<i64>,
    /// Unix nanoseconds; entries after are skipped (and `follow` ends there).
    pub until: Option<i64>,
    /// Only the last N entries of what is already written.
    pub tail: Option<usize>,
    pub timestamps: bool,
    pub follow: bool,
    /// Raw bytes (TTY) instead of Docker's multiplexed frames.
    pub tty: bool,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
}

/// One log entry as it goes to the client: framed (no TTY) or raw, with its timestamp.
fn render(line: &Line, options: &LogOptions, out: &mut BytesMut) {
    let stream = match line.stream.as_str() {
        "stderr" => 2u8,
        _ => 1u8,
    };
    let mut payload = Vec::with_capacity(line.log.len() + 32);
    if options.timestamps {
        payload.extend_from_slice(line.time.as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(line.log.as_bytes());
    if !options.tty {
        out.put_u8(stream);
        out.put_bytes(0, 3);
        out.put_u32(payload.len() as u32);
    }
    out.extend_from_slice(&payload);
}

fn wanted(line: &Line, options: &LogOptions) -> bool {
    let stream_ok = match line.stream.as_str() {
        "stderr" => options.stderr,
        _ => options.stdout,
    };
    if !stream_ok {
        return false;
    }
    if options.since.is_none() && options.until.is_none() {
        return true;
    }
    let Ok(time) = humantime::parse_rfc3339(&line.time) else {
        return true;
    };
    let nanos = time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    options.since.is_none_or(|s| nanos >= s) && options.until.is_none_or(|u| nanos <= u)
}

/// Streams the log at `path` into a channel of chunks. With `follow`, keeps reading new
/// entries until `running` turns false (and what was written before that is sent).
pub fn stream(
    path: PathBuf,
    options: LogOptions,
    mut running: watch::Receiver<super::life::Life>,
) -> mpsc::Receiver<std::io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !options.follow => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Not written yet: follow from an empty start.
                let _ = running.changed().await;
                match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(_) => return,
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let mut reader = BufReader::new(file);
        // What is already there: apply --tail over the wanted entries.
        let mut backlog: Vec<Line> = Vec::new();
        let mut raw = String::new();
        let mut offset: u64 = 0;
        loop {
            raw.clear();
            match reader.read_line(&mut raw).await {
                Ok(0) => break,
                Ok(n) if raw.ends_with('\n') => {
                    offset += n as u64;
                    if let Ok(line) = serde_json::from_str::<Line>(&raw)
                        && wanted(&line, &options)
                    {
                        backlog.push(line);
                    }
                }
                Ok(_) => break, // a line still being written: read it again when complete
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
        let skip = options
            .tail
            .map(|n| backlog.len().saturating_sub(n))
            .unwrap_or(0);
        let mut chunk = BytesMut::new();
        for line in &backlog[skip..] {
            render(line, &options, &mut chunk);
            if chunk.len() > 64 * 1024 && tx.send(Ok(chunk.split().freeze())).await.is_err() {
                return;
            }
        }
        if !chunk.is_empty() && tx.send(Ok(chunk.split().freeze())).await.is_err() {
            return;
        }
        if !options.follow {
            return;
        }
        // Follow: poll for appended lines; stop once the container has stopped and the
        // file is drained, or past `until`.
        let mut reader = reader;
        if reader.seek(SeekFrom::Start(offset)).await.is_err() {
            return;
        }
        loop {
            let still_running = running.borrow().running;
            let mut progressed = false;
            loop {
                raw.clear();
                match reader.read_line(&mut raw).await {
                    Ok(0) => break,
                    Ok(n) if raw.ends_with('\n') => {
                        offset += n as u64;
                        progressed = true;
                        if let Ok(line) = serde_json::from_str::<Line>(&raw)
                            && wanted(&line, &options)
                        {
                            render(&line, &options, &mut chunk);
                        }
                    }
                    Ok(_) => {
                        let _ = reader.seek(SeekFrom::Start(offset)).await;
                        break;
                    }
                    Err(_) => return,
                }
            }
            if !chunk.is_empty() && tx.send(Ok(chunk.split().freeze())).await.is_err() {
                return;
            }
            if options
                .until
                .is_some_and(|u| crate::util::clock::now_nanos() > u)
            {
                return;
            }
            if !still_running && !progressed {
                return;
            }
            if !progressed {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = running.changed() => {}
                    _ = tx.closed() => return,
                }
            }
        }
    });
    rx
}

/// The dashboard's view of a container's log (WebSocket topic `logs`): the last entries at
/// once, then every entry appended after them, across the container's restarts.
pub struct Follower {
    path: PathBuf,
    reader: Option<BufReader<tokio::fs::File>>,
    /// Bytes of complete lines read so far.
    offset: u64,
    raw: String,
}

/// At most this many entries go in one batch (a chatty container still yields often).
const BATCH: usize = 500;

fn entry(line: Line) -> shared::live::LogLine {
    let text = line.log.strip_suffix('\n').unwrap_or(&line.log);
    let text = text.strip_suffix('\r').unwrap_or(text);
    shared::live::LogLine {
        err: line.stream == "stderr",
        text: text.to_string(),
        time: line.time,
    }
}

impl Follower {
    pub fn new(path: PathBuf) -> Self {
        Follower {
            path,
            reader: None,
            offset: 0,
            raw: String::new(),
        }
    }

    /// The complete entries appended since the last call (the first call: all there are,
    /// of which only the last `keep` are returned). Empty when there is nothing new, or no
    /// log yet (a container that never ran). Unreadable lines are skipped.
    pub async fn read_new(&mut self, keep: usize) -> std::io::Result<Vec<shared::live::LogLine>> {
        if self.reader.is_none() {
            match tokio::fs::File::open(&self.path).await {
                Ok(f) => self.reader = Some(BufReader::new(f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            }
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(Vec::new());
        };
        let mut out = std::collections::VecDeque::new();
        loop {
            self.raw.clear();
            let n = reader.read_line(&mut self.raw).await?;
            if n == 0 {
                break;
            }
            if !self.raw.ends_with('\n') {
                // Still being written: read it again once complete.
                reader.seek(SeekFrom::Start(self.offset)).await?;
                break;
            }
            self.offset += n as u64;
            if let Ok(line) = serde_json::from_str::<Line>(&self.raw) {
                out.push_back(entry(line));
                if out.len() > keep {
                    out.pop_front();
                }
            }
            if keep >= BATCH && out.len() >= BATCH {
                break;
            }
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(log: &str, stream: &str) -> Line {
        Line {
            log: log.into(),
            stream: stream.into(),
            time: "2026-11-25T01:02:03.000000001Z".into(),
        }
    }

    #[test]
    fn frames_without_tty_and_raw_with() {
        let mut out = BytesMut::new();
        let options = LogOptions {
            stdout: true,
            ..Default::default()
        };
        render(&line("hello\n", "stdout"), &options, &mut out);
        assert_eq!(&out[..], b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n");
        let mut out = BytesMut::new();
        let options = LogOptions {
            tty: true,
            timestamps: true,
            ..Default::default()
        };
        render(&line("x\n", "stdout"), &options, &mut out);
        assert_eq!(&out[..], b"2026-11-25T01:02:03.000000001Z x\n");
    }

    #[tokio::test]
    async fn follower_gives_the_tail_then_what_is_appended() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut follower = Follower::new(path.clone());
        assert!(follower.read_new(2).await.unwrap().is_empty(), "no log yet");
        let mut file = std::fs::File::create(&path).unwrap();
        for (i, stream) in ["stdout", "stderr", "stdout"].iter().enumerate() {
            writeln!(
                file,
                r#"{{"log":"line {i}\r\n","stream":"{stream}","time":"2026-01-01T00:00:0{i}Z"}}"#
            )
            .unwrap();
        }
        writeln!(file, "not json").unwrap();
        write!(file, r#"{{"log":"half"#).unwrap();
        let first = follower.read_new(2).await.unwrap();
        let texts: Vec<(&str, bool)> = first.iter().map(|l| (l.text.as_str(), l.err)).collect();
        assert_eq!(texts, [("line 1", true), ("line 2", false)]);
        assert_eq!(first[1].time, "2026-01-01T00:00:02Z");
        assert!(follower.read_new(2).await.unwrap().is_empty());
        writeln!(file, r#"\n","stream":"stdout","time":"t"}}"#).unwrap();
        let next = follower.read_new(BATCH).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].text, "half");
    }

    #[test]
    fn filters_streams_and_times() {
        let options = LogOptions {
            stderr: true,
            since: Some(1_800_000_000_000_000_000),
            ..Default::default()
        };
        assert!(!wanted(&line("a", "stdout"), &options));
        // 2026-11-25 is after 2027-01-15 (1.8e9 s)? No: it is before, so it is skipped.
        assert!(!wanted(&line("a", "stderr"), &options));
        let options = LogOptions {
            stderr: true,
            ..Default::default()
        };
        assert!(wanted(&line("a", "stderr"), &options));
    }
}
