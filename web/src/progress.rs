//! Docker's JSON-lines progress stream (`POST /images/create`), read as it arrives: bytes are
//! cut into lines, and each line updates the per-layer status the Pull form shows.

use crate::json::Json;

/// Collects streamed bytes and hands out whole lines (without the `\n`).
#[derive(Default, Debug)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The lines `chunk` completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(chunk);
        let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last + 1);
        let done = std::mem::replace(&mut self.pending, rest);
        done[..last]
            .split(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// What is left after the stream ended without a final `\n`.
    pub fn finish(self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then_some(self.pending)
    }
}

/// One row of the progress view: a layer (or the tag being pulled) by `id`, or a general line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: Option<String>,
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
}

impl Row {
    /// `"0123456789ab: Pull complete"`, or the status alone.
    pub fn text(&self) -> String {
        match &self.id {
            Some(id) => format!("{id}: {}", self.status),
            None => self.status.clone(),
        }
    }

    /// A layer's row (its ID is a short digest), not the tag's or a general line.
    pub fn is_layer(&self) -> bool {
        self.id
            .as_deref()
            .is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// The layer needs nothing more: fetched and unpacked, sent, or already there.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Pull complete" | "Already exists" | "Pushed" | "Layer already exists"
        ) || self.status.starts_with("Mounted from")
    }

    /// The layer was on the host (pull) or in the registry (push) before: nothing moved.
    pub fn was_present(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Already exists" | "Layer already exists"
        )
    }

    /// Share done, 0–100, when the total is known.
    pub fn percent(&self) -> Option<f64> {
        match (self.current, self.total) {
            (Some(c), Some(t)) if t > 0 => Some((c as f64 * 100.0 / t as f64).clamp(0.0, 100.0)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    Done,
    Failed,
}

impl State {
    /// The `data-state` of `#pull-progress`, for tests and styles.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// A pull as the form shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullLog {
    /// What was asked for, `name:tag`.
    pub reference: String,
    pub rows: Vec<Row>,
    /// The first `{"error": …}` of the stream.
    pub error: Option<String>,
    pub state: State,
}

impl PullLog {
    pub fn new(reference: String) -> Self {
        PullLog {
            reference,
            rows: Vec::new(),
            error: None,
            state: State::Running,
        }
    }

    /// Applies one line of the stream. A line with an `id` updates that id's row (a layer's
    /// status moves on in place); others are appended. Unreadable lines show as they are.
    pub fn apply(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        // One line: `{"status","id","progressDetail"}` or `{"error","errorDetail"}`.
        let Some(msg) = Json::parse(text).filter(Json::is_object) else {
            self.rows.push(Row {
                id: None,
                status: text.to_string(),
                current: None,
                total: None,
            });
            return;
        };
        let error = msg
            .opt("error")
            .filter(|e| !e.is_empty())
            .or_else(|| msg.opt("errorDetail.message"));
        if let Some(error) = error {
            self.error.get_or_insert(error);
            return;
        }
        let Some(status) = msg.opt("status") else {
            return;
        };
        let amount = |k: &str| {
            let v = msg.at(k);
            (!v.is_empty()).then(|| v.uint())
        };
        let row = Row {
            id: msg.opt("id").filter(|i| !i.is_empty()),
            status,
            current: amount("progressDetail.current"),
            total: amount("progressDetail.total"),
        };
        match self
            .rows
            .iter_mut()
            .find(|r| r.id.is_some() && r.id == row.id)
        {
            Some(existing) => *existing = row,
            None => self.rows.push(row),
        }
    }

    /// `(finished, all)` layers so far.
    pub fn layers_done(&self) -> (usize, usize) {
        let layers = self.rows.iter().filter(|r| r.is_layer());
        let all = layers.clone().count();
        (layers.filter(|r| r.is_finished()).count(), all)
    }

    /// The stream ended; `Err` carries why it broke off, if it did.
    pub fn finish(&mut self, outcome: Result<(), String>) {
        if let Err(e) = outcome {
            self.error.get_or_insert(e);
        }
        self.state = if self.error.is_some() {
            State::Failed
        } else {
            State::Done
        };
    }
}

impl PullLog {
    /// The progress as markup (the same look as the Images page's pull form).
    pub fn html(&self) -> String {
        use crate::html::esc;
        use std::fmt::Write as _;
        let heading = match self.state {
            State::Running => format!("Pulling {}…", self.reference),
            State::Done => format!("Pulled {}", self.reference),
            State::Failed => format!("Pull of {} failed", self.reference),
        };
        let mut out = format!(
            "<div id=\"pull-progress\" class=\"pull-progress\" data-state=\"{}\"><p class=\"pull-heading\">{}</p>",
            self.state.as_str(),
            esc(&heading)
        );
        for row in &self.rows {
            let _ = write!(
                out,
                "<div class=\"pull-row\"><span class=\"mono\">{}</span>",
                esc(&row.text())
            );
            if let Some(p) = row.percent() {
                let _ = write!(
                    out,
                    "<span class=\"bar pull-bar\"><span style=\"width: {}%\"></span></span>",
                    crate::format::fixed(p, 1)
                );
            }
            out.push_str("</div>");
        }
        out.push_str("</div>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_as_markup() {
        let mut log = PullLog::new("b<x>:1".into());
        log.apply(
            br#"{"status":"Downloading","progressDetail":{"current":50,"total":200},"id":"a"}"#,
        );
        assert_eq!(
            log.html(),
            "<div id=\"pull-progress\" class=\"pull-progress\" data-state=\"running\"><p class=\"pull-heading\">Pulling b&lt;x&gt;:1…</p>\
             <div class=\"pull-row\"><span class=\"mono\">a: Downloading</span><span class=\"bar pull-bar\"><span style=\"width: 25.0%\"></span></span></div></div>"
        );
    }

    #[test]
    fn lines_are_cut_across_chunks() {
        let mut b = LineBuffer::default();
        assert!(b.push(b"{\"a\"").is_empty());
        assert_eq!(
            b.push(b":1}\n{\"b\":2}\n{"),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert_eq!(b.push(b"}\n\n"), vec![b"{}".to_vec(), Vec::new()]);
        assert_eq!(b.push(b"tail"), Vec::<Vec<u8>>::new());
        assert_eq!(b.finish(), Some(b"tail".to_vec()));
        assert_eq!(LineBuffer::default().finish(), None);
    }

    fn feed(log: &mut PullLog, lines: &[&str]) {
        for l in lines {
            log.apply(l.as_bytes());
        }
    }

    #[test]
    fn layer_rows_update_in_place() {
        let mut log = PullLog::new("busybox:latest".into());
        feed(
            &mut log,
            &[
                r#"{"status":"Pulling from library/busybox","id":"latest"}"#,
                r#"{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}"#,
                r#"{"status":"Pulling fs layer","progressDetail":{},"id":"bbb"}"#,
                r#"{"status":"Downloading","progressDetail":{"current":50,"total":200},"id":"aaa"}"#,
                r#"{"status":"Already exists","id":"bbb"}"#,
                r#"{"status":"Pull complete","id":"aaa"}"#,
                r#"{"status":"Digest: sha256:00"}"#,
                "",
                r#"{"status":"Status: Downloaded newer image for busybox:latest"}"#,
            ],
        );
        assert_eq!(log.layers_done(), (0, 0), "ids here are not digests");
        let texts: Vec<String> = log.rows.iter().map(Row::text).collect();
        assert_eq!(
            texts,
            [
                "latest: Pulling from library/busybox",
                "aaa: Pull complete",
                "bbb: Already exists",
                "Digest: sha256:00",
                "Status: Downloaded newer image for busybox:latest",
            ]
        );
        log.finish(Ok(()));
        assert_eq!(log.state, State::Done);
    }

    #[test]
    fn layers_count_as_done_when_finished_or_present() {
        let mut log = PullLog::new("app:1".into());
        feed(
            &mut log,
            &[
                r#"{"status":"Pulling from app","id":"1"}"#,
                r#"{"status":"Already exists","id":"0123456789ab"}"#,
                r#"{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"abcdefabcdef"}"#,
                r#"{"status":"Layer already exists","id":"aaaaaaaaaaaa"}"#,
            ],
        );
        assert_eq!(log.layers_done(), (2, 3));
        assert!(log.rows[1].was_present() && !log.rows[2].was_present());
        assert!(!log.rows[0].is_layer());
    }

    #[test]
    fn download_rows_have_a_share() {
        let mut log = PullLog::new("x:1".into());
        log.apply(
            br#"{"status":"Downloading","progressDetail":{"current":50,"total":200},"id":"a"}"#,
        );
        assert_eq!(log.rows[0].percent(), Some(25.0));
        log.apply(br#"{"status":"Downloading","progressDetail":{"current":9,"total":0},"id":"a"}"#);
        assert_eq!(log.rows[0].percent(), None);
    }

    #[test]
    fn errors_fail_the_pull() {
        let mut log = PullLog::new("nothing:here".into());
        feed(
            &mut log,
            &[
                r#"{"status":"Pulling fs layer","id":"a"}"#,
                r#"{"errorDetail":{"message":"blob unknown"},"error":"blob unknown"}"#,
                r#"{"errorDetail":{"message":"second"},"error":"second"}"#,
                "not json",
            ],
        );
        assert_eq!(log.error.as_deref(), Some("blob unknown"));
        assert_eq!(log.rows.last().map(Row::text).as_deref(), Some("not json"));
        log.finish(Ok(()));
        assert_eq!(log.state, State::Failed);

        let mut cut = PullLog::new("x:1".into());
        cut.finish(Err("cannot reach the agent".into()));
        assert_eq!(cut.state.as_str(), "failed");
        assert_eq!(cut.error.as_deref(), Some("cannot reach the agent"));
    }
}
