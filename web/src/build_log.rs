//! The Build page's reading of `POST /build`'s JSON-lines answer: text to show (`stream`,
//! pull `status` lines), the built image's ID (`aux`), and the error that ends a failed
//! build. Each line is read through [`Json`] (any of its shapes: `stream`, a pull's
//! `status`/`id`, `aux`, `error`).

use crate::json::{self, Json};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildLog {
    pub text: String,
    /// `sha256:…` of the last stage built (the result, once the stream ends without error).
    pub image: Option<String>,
    pub error: Option<String>,
    pub done: bool,
}

/// Longest output kept (the start is dropped beyond it).
const MAX_TEXT: usize = 512 * 1024;

impl BuildLog {
    /// Takes one line of the answer.
    pub fn apply(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let Some(value) = Json::parse(&text).filter(Json::is_object) else {
            self.push(&text);
            self.push("\n");
            return;
        };
        if let Some(text) = value.opt("stream") {
            self.push(&text);
        } else if let Some(status) = value.opt("status") {
            match value.opt("id") {
                Some(id) => self.push(&format!("{id}: {status}\n")),
                None => self.push(&format!("{status}\n")),
            }
        }
        if let Some(id) = value.opt("aux.ID") {
            self.image = Some(id);
        }
        if let Some(error) = value.opt("error") {
            self.error = Some(error);
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
        if self.text.len() > MAX_TEXT {
            let mut cut = self.text.len() - MAX_TEXT;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }

    /// The built image, when the build ended well.
    pub fn result(&self) -> Option<&str> {
        (self.done && self.error.is_none())
            .then_some(self.image.as_deref())
            .flatten()
    }
}

/// `KEY=VALUE` lines as the `buildargs` JSON object (`KEY` alone: an empty value).
pub fn build_args(text: &str) -> String {
    let mut map = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        map.insert(k.trim(), v);
    }
    let pairs: Vec<(&str, &str)> = map.into_iter().collect();
    json::object(&pairs)
}

/// Tags typed with commas or spaces between them.
pub fn tags(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stream() {
        let mut log = BuildLog::default();
        log.apply(br#"{"stream":"Step 1/2 : FROM busybox\n"}"#);
        log.apply(br#"{"status":"Pulling fs layer","id":"abc"}"#);
        log.apply(br#"{"aux":{"ID":"sha256:0123"}}"#);
        log.apply(br#"{"stream":"Successfully built 0123\n"}"#);
        log.done = true;
        assert_eq!(
            log.text,
            "Step 1/2 : FROM busybox\nabc: Pulling fs layer\nSuccessfully built 0123\n"
        );
        assert_eq!(log.result(), Some("sha256:0123"));
        log.apply(br#"{"errorDetail":{"message":"boom","code":3},"error":"boom"}"#);
        assert_eq!(log.error.as_deref(), Some("boom"));
        assert_eq!(log.result(), None);
        log.apply(b"not json");
        assert!(log.text.ends_with("not json\n"));
    }

    #[test]
    fn args_and_tags() {
        assert_eq!(
            build_args("A=1\n\n B = two words \nC"),
            r#"{"A":"1","B":" two words","C":""}"#
        );
        assert_eq!(
            tags("app:1, app:latest\nother"),
            vec!["app:1", "app:latest", "other"]
        );
    }
}
