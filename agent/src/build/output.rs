//! The build's output in the legacy builder's JSON-lines shape: `{"stream": …}` text
//! (`Step N/M : …`, ` ---> …`, RUN output), `{"aux": {"ID": …}}`, pull progress passed
//! through, and `{"error": …, "errorDetail": {…}}`.

use super::error::BuildError;
use crate::image::progress::ProgressSink;
use serde_json::json;

#[derive(Clone)]
pub struct Output {
    sink: ProgressSink,
}

impl Output {
    pub fn new(sink: ProgressSink) -> Self {
        Output { sink }
    }

    pub fn text(&self, text: impl Into<String>) {
        (self.sink)(json!({ "stream": text.into() }));
    }

    /// `Step 3/9 : RUN make`.
    pub fn step(&self, number: usize, total: usize, source: &str) {
        self.text(format!("Step {number}/{total} : {source}\n"));
    }

    /// ` ---> …`.
    pub fn arrow(&self, what: &str) {
        self.text(format!(" ---> {what}\n"));
    }

    pub fn aux_id(&self, image_id: &str) {
        (self.sink)(json!({ "aux": { "ID": image_id } }));
    }

    pub fn error(&self, error: &BuildError) {
        let mut detail = json!({ "message": error.message });
        if error.code != 0 {
            detail["code"] = json!(error.code);
        }
        (self.sink)(json!({ "errorDetail": detail, "error": error.message }));
    }

    /// The sink, for operations that report through one (pull).
    pub fn sink(&self) -> ProgressSink {
        self.sink.clone()
    }
}
