//! Where long image operations report progress: Docker's JSON-lines messages.

use serde_json::{Value, json};
use std::sync::Arc;

/// Receives each progress line; the API turns them into a streamed response.
pub type ProgressSink = Arc<dyn Fn(Value) + Send + Sync>;

/// `{"status": …, "id": …}`.
pub fn status(sink: &ProgressSink, id: Option<&str>, status: &str) {
    let mut line = json!({ "status": status });
    if let Some(id) = id {
        line["id"] = json!(id);
    }
    sink(line);
}

/// `{"status": "Downloading", "progressDetail": {current, total}, "id": …}`.
pub fn detail(sink: &ProgressSink, id: &str, status: &str, current: u64, total: Option<u64>) {
    let mut detail = json!({ "current": current });
    if let Some(total) = total {
        detail["total"] = json!(total);
    }
    sink(json!({ "status": status, "progressDetail": detail, "id": id }));
}
