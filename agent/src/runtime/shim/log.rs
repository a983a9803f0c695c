//! Docker's json-file log: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-11-25T01:02:03.123456789Z"}`.
//!
//! Output is split on newlines; a partial line is kept until its newline arrives, or
//! written as is once it reaches 16 KiB (Docker's partial messages do the same) or when
//! the process has exited. Strings are escaped as moby's jsonlog writer does (`<`, `>`,
//! `&` as `\u003c`…, invalid UTF-8 as U+FFFD), times as Go's RFC 3339 with nanoseconds
//! (trailing zeros trimmed).

use std::fs::File;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// A partial line is flushed at this size.
pub const MAX_PARTIAL: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

pub struct JsonLog {
    file: Option<File>,
    /// Incomplete last line of stdout and stderr.
    partial: [Vec<u8>; 2],
    /// Reused to build the lines of one chunk, written with one `write`.
    out: Vec<u8>,
}

impl JsonLog {
    /// `file: None` logs nothing (the log could not be opened; output still reaches
    /// attached clients).
    pub fn new(file: Option<File>) -> JsonLog {
        JsonLog {
            file,
            partial: [Vec::new(), Vec::new()],
            out: Vec::new(),
        }
    }

    pub fn write(&mut self, stream: Stream, mut data: &[u8]) {
        let now = SystemTime::now();
        let idx = stream as usize;
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let (line, rest) = data.split_at(nl + 1);
                    let mut partial = std::mem::take(&mut self.partial[idx]);
                    partial.extend_from_slice(line);
                    self.entry(stream, &partial, now);
                    partial.clear();
                    self.partial[idx] = partial;
                    data = rest;
                }
                None => {
                    let room = MAX_PARTIAL - self.partial[idx].len();
                    let take = data.len().min(room);
                    self.partial[idx].extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial[idx].len() >= MAX_PARTIAL {
                        let partial = std::mem::take(&mut self.partial[idx]);
                        self.entry(stream, &partial, now);
                    }
                }
            }
        }
        self.flush_out();
    }

    /// Writes the incomplete last lines (at exit). Not fsynced, as Docker's json-file
    /// logger: a host crash may lose the log's last lines; a
    /// synced log would also cost synchronous discards when it is deleted.
    pub fn finish(&mut self) {
        let now = SystemTime::now();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = std::mem::take(&mut self.partial[stream as usize]);
            if !partial.is_empty() {
                self.entry(stream, &partial, now);
            }
        }
        self.flush_out();
    }

    fn entry(&mut self, stream: Stream, line: &[u8], time: SystemTime) {
        self.out.extend_from_slice(b"{\"log\":\"");
        escape(line, &mut self.out);
        self.out.extend_from_slice(b"\",\"stream\":\"");
        self.out.extend_from_slice(stream.name().as_bytes());
        self.out.extend_from_slice(b"\",\"time\":\"");
        rfc3339_nano(time, &mut self.out);
        self.out.extend_from_slice(b"\"}\n");
    }

    fn flush_out(&mut self) {
        if let Some(f) = &mut self.file {
            // A full disk must not stop the container: the line is lost, output flows on.
            let _ = f.write_all(&self.out);
        }
        self.out.clear();
    }
}

/// moby's jsonlog string escaping.
pub fn escape(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                    let v = c as u32;
                    out.extend_from_slice(b"\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(HEX[((v >> shift) & 0xf) as usize]);
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

/// `2026-11-25T01:02:03.123456789Z`, trailing zeros of the fraction trimmed as Go does.
pub fn rfc3339_nano(t: SystemTime, out: &mut Vec<u8>) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let nanos = d.subsec_nanos();
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    let s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    out.extend_from_slice(s.as_bytes());
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push(b'.');
        out.extend_from_slice(frac.trim_end_matches('0').as_bytes());
    }
    out.push(b'Z');
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_format() {
        let mut out = Vec::new();
        let t = UNIX_EPOCH + Duration::new(1_795_568_523, 123_456_789);
        rfc3339_nano(t, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-11-25T01:02:03.123456789Z"
        );
        let mut out = Vec::new();
        rfc3339_nano(
            UNIX_EPOCH + Duration::new(951_782_400, 500_000_000),
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "2000-02-29T00:00:00.5Z");
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        escape(b"a\"b\\<x>&\t\x01\xffz\n", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\\\u003cx\\u003e\\u0026\\t\\u0001\u{fffd}z\\n"
        );
    }

    #[test]
    fn lines_and_partials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let mut log = JsonLog::new(Some(File::create(&path).unwrap()));
        log.write(Stream::Stdout, b"hel");
        log.write(Stream::Stderr, b"oops\n");
        log.write(Stream::Stdout, b"lo\nwor");
        log.write(Stream::Stdout, &vec![b'x'; MAX_PARTIAL + 10]);
        log.finish();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["log"], "oops\n");
        assert_eq!(lines[0]["stream"], "stderr");
        assert_eq!(lines[1]["log"], "hello\n");
        assert_eq!(lines[2]["log"].as_str().unwrap().len(), MAX_PARTIAL);
        assert!(lines[2]["log"].as_str().unwrap().starts_with("worxx"));
        assert_eq!(lines[3]["log"].as_str().unwrap().len(), 13);
        assert!(lines[3]["time"].as_str().unwrap().ends_with('Z'));
    }
}
