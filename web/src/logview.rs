//! The Logs tab without the DOM: each log line as HTML (a stdout/stderr badge, the time when
//! asked, the text with the search matches marked) and as text for the download. Pure, so it
//! is unit-tested on the host.

use crate::html::esc_into;
use shared::live::LogLine;
use std::fmt::Write as _;

/// Lines the tab keeps (the oldest go first).
pub const KEPT: usize = 5000;

/// Byte ranges of `text` matching `query`, ignoring ASCII case; none for an empty query.
pub fn matches(text: &str, query: &str) -> Vec<(usize, usize)> {
    if query.is_empty() {
        return Vec::new();
    }
    let (hay, needle) = (text.to_ascii_lowercase(), query.to_ascii_lowercase());
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = hay[from..].find(&needle) {
        let start = from + i;
        out.push((start, start + needle.len()));
        from = start + needle.len();
    }
    out
}

/// `2026-01-02T03:04:05.123456789Z` → `03:04:05.123` (the date is in the title).
pub fn short_time(time: &str) -> &str {
    let t = time.split_once('T').map_or(time, |(_, t)| t);
    t.get(..12).unwrap_or(t.trim_end_matches('Z'))
}

/// One line as HTML, or `None` when a search is on and it does not match.
pub fn line_html(line: &LogLine, query: &str, timestamps: bool) -> Option<String> {
    let found = matches(&line.text, query);
    if !query.is_empty() && found.is_empty() {
        return None;
    }
    let (class, badge) = if line.err {
        ("ln err", "err")
    } else {
        ("ln", "out")
    };
    let mut out = format!("<div class=\"{class}\"><b class=\"src\">{badge}</b>");
    if timestamps {
        out.push_str("<time title=\"");
        esc_into(&mut out, &line.time);
        out.push_str("\">");
        esc_into(&mut out, short_time(&line.time));
        out.push_str("</time>");
    }
    let mut at = 0;
    for (start, end) in found {
        esc_into(&mut out, &line.text[at..start]);
        out.push_str("<mark>");
        esc_into(&mut out, &line.text[start..end]);
        out.push_str("</mark>");
        at = end;
    }
    esc_into(&mut out, &line.text[at..]);
    out.push_str("</div>");
    Some(out)
}

/// The lines as a text file: `time stream text`, one per line.
pub fn download_text<'a>(lines: impl IntoIterator<Item = &'a LogLine>) -> String {
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(
            out,
            "{} {} {}",
            l.time,
            if l.err { "stderr" } else { "stdout" },
            l.text
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, err: bool) -> LogLine {
        LogLine {
            err,
            time: "2026-01-02T03:04:05.123456789Z".into(),
            text: text.into(),
        }
    }

    #[test]
    fn lines_are_escaped_badged_and_searched() {
        assert_eq!(
            line_html(&line("a <b> Error", false), "", false).unwrap(),
            "<div class=\"ln\"><b class=\"src\">out</b>a &lt;b&gt; Error</div>"
        );
        assert_eq!(
            line_html(&line("error: ERROR", true), "error", true).unwrap(),
            "<div class=\"ln err\"><b class=\"src\">err</b><time title=\"2026-01-02T03:04:05.123456789Z\">03:04:05.123</time>\
             <mark>error</mark>: <mark>ERROR</mark></div>"
        );
        assert_eq!(line_html(&line("fine", false), "error", false), None);
    }

    #[test]
    fn times_and_downloads() {
        assert_eq!(short_time("2026-01-02T03:04:05Z"), "03:04:05");
        assert_eq!(short_time("junk"), "junk");
        assert_eq!(
            download_text(&[line("hi", false), line("oops", true)]),
            "2026-01-02T03:04:05.123456789Z stdout hi\n2026-01-02T03:04:05.123456789Z stderr oops\n"
        );
        assert_eq!(matches("aaa", "aa"), [(0, 2)]);
        assert!(matches("x", "").is_empty());
    }
}
