//! A container's log body as lines: Docker multiplexes stdout and stderr into 8-byte-header
//! frames (`[stream, 0, 0, 0, length u32 BE]` + payload) when the container has no TTY, and
//! sends raw bytes when it has one. Pure, so it is unit-tested on the host.

/// One line of output; `err` when it came on stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub err: bool,
    pub text: String,
}

/// Whether `body` starts with a frame header (a raw TTY body almost never does).
fn framed(body: &[u8]) -> bool {
    body.len() >= 8 && body[0] <= 2 && body[1..4] == [0, 0, 0]
}

#[derive(Default)]
struct Lines {
    out: Vec<LogLine>,
    buf: Vec<u8>,
    err: bool,
}

impl Lines {
    /// Ends the current line.
    fn flush(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
        self.out.push(LogLine {
            err: self.err,
            text,
        });
        self.buf.clear();
    }

    /// Appends bytes of one stream; a change of stream ends an unfinished line.
    fn push(&mut self, err: bool, bytes: &[u8]) {
        if err != self.err && !self.buf.is_empty() {
            self.flush();
        }
        self.err = err;
        for &b in bytes {
            if b == b'\n' {
                self.flush();
            } else {
                self.buf.push(b);
            }
        }
    }

    fn finish(mut self) -> Vec<LogLine> {
        if !self.buf.is_empty() {
            self.flush();
        }
        self.out
    }
}

/// The lines of a `GET /containers/{id}/logs` body. `tty` is the container's `Config.Tty`; a
/// body that does not start with a frame header is read as raw text either way.
pub fn split(body: &[u8], tty: bool) -> Vec<LogLine> {
    let mut lines = Lines::default();
    if tty || !framed(body) {
        lines.push(false, body);
        return lines.finish();
    }
    let mut rest = body;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = rest.len().min(8 + len);
        lines.push(rest[0] == 2, &rest[8..end]);
        rest = &rest[end..];
    }
    lines.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: u8, payload: &str) -> Vec<u8> {
        let mut f = vec![stream, 0, 0, 0];
        f.extend((payload.len() as u32).to_be_bytes());
        f.extend(payload.as_bytes());
        f
    }

    fn show(lines: &[LogLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{}{}", if l.err { "E:" } else { "O:" }, l.text))
            .collect()
    }

    #[test]
    fn frames_split_into_lines_per_stream() {
        let mut body = frame(1, "hello-from-web\n");
        body.extend(frame(2, "oops\nsecond"));
        body.extend(frame(2, " half\n"));
        body.extend(frame(1, "no newline"));
        assert_eq!(
            show(&split(&body, false)),
            [
                "O:hello-from-web",
                "E:oops",
                "E:second half",
                "O:no newline"
            ]
        );
    }

    #[test]
    fn an_unfinished_line_ends_when_the_stream_changes() {
        let mut body = frame(1, "abc");
        body.extend(frame(2, "def\n"));
        assert_eq!(show(&split(&body, false)), ["O:abc", "E:def"]);
    }

    #[test]
    fn tty_bodies_are_raw() {
        assert_eq!(show(&split(b"one\r\ntwo\r\n", true)), ["O:one", "O:two"]);
        // Not framed although the container has no TTY (e.g. an older agent): raw as well.
        assert_eq!(show(&split(b"plain\n", false)), ["O:plain"]);
        assert!(split(b"", false).is_empty());
    }

    #[test]
    fn a_cut_frame_keeps_what_arrived() {
        let mut body = frame(1, "complete\n");
        body.extend(&frame(1, "truncated\n")[..12]);
        assert_eq!(show(&split(&body, false)), ["O:complete", "O:trun"]);
    }
}
