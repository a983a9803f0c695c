//! The build's output in the legacy builder's JSON-lines shape: `{"stream": …}` text
//! (`Step N/M : …`, ` ---> …`, RUN output), `{"aux": {"ID": …}}`, pull progress passed
//! through, and `{"error": …, "errorDetail": {…}}`.

use super::error::BuildError;
use crate::image::progress::ProgressSink;
use serde_json::json;
use std::sync::Arc;

/// Whether the client went away (then the build stops).
pub type Gone = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
pub struct Output {
    sink: ProgressSink,
    gone: Gone,
}

impl Output {
    /// Output to `sink`, for a client that can go away (`gone` tells).
    pub fn new(sink: ProgressSink, gone: Gone) -> Self {
        Output { sink, gone }
    }

    /// An error once the client has gone (the build stops between steps, and a RUN's
    /// container is removed).
    pub fn check_cancelled(&self) -> Result<(), BuildError> {
        if (self.gone)() {
            return Err(BuildError::bad("Build cancelled: the client went away"));
        }
        Ok(())
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
