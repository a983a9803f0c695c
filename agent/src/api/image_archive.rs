//! `docker save` (`GET /images/get`, `GET /images/{name}/get`), streamed as it is written.

use super::error::{ApiError, ApiResult};
use super::state::AppState;
use crate::util::channel_writer::ChannelWriter;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// `GET /images/get?names=a&names=b` (the name list repeats the key).
pub async fn save_many(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let names: Vec<String> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v.into_owned())
        .collect();
    if names.is_empty() {
        return Err(ApiError::bad_request("no image names given"));
    }
    save(state, names, &headers, &HashMap::new()).await
}

pub async fn save(
    state: AppState,
    names: Vec<String>,
    _headers: &HeaderMap,
    _query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let images = &state.engine.images;
    let items = images.plan_save(&names)?;
    images.publish_saved(&items);
    let (writer, receiver) = ChannelWriter::new();
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        if let Err(e) = engine.images.write_save(&items, &mut writer) {
            tracing::warn!("docker save failed: {e}");
            writer.fail(std::io::Error::other(e.to_string()));
        }
    });
    let chunks = futures_util::stream::unfold(receiver, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let body = Body::from_stream(chunks);
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}
