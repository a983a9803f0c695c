//! `docker save` (`GET /images/get`, `GET /images/{name}/get`), streamed as it is written.

use super::error::{ApiError, ApiResult};
use super::state::AppState;
use crate::util::channel_writer::ChannelWriter;
use crate::util::chunk_reader::ChunkReader;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// `GET /images/get?names=a&names=b` (the name list repeats the key).
pub async fn save_many(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let names: Vec<String> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v.into_owned())
        .collect();
    if names.is_empty() {
        return Err(ApiError::bad_request("no image names given"));
    }
    save(state, names).await
}

pub async fn save(state: AppState, names: Vec<String>) -> ApiResult<Response> {
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
    let body = super::body::channel_body(receiver);
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

/// `POST /images/load`: a `docker save` tar or an OCI layout tar, chunked.
pub async fn load(
    axum::extract::State(state): axum::extract::State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let lines = state
        .engine
        .images
        .load(ChunkReader::from_body(body))
        .await?;
    let (progress, response) = super::progress::channel();
    for line in lines {
        progress.stream_text(&format!("{line}\n"));
    }
    Ok(response)
}

/// `POST /images/create?fromSrc=-`: `docker import`.
pub async fn import(
    state: AppState,
    query: &HashMap<String, String>,
    body: Body,
) -> ApiResult<Response> {
    match query.get("fromSrc").map(String::as_str) {
        Some("-") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "importing from {other:?} is not supported: send the archive as the request body (fromSrc=-)"
            )));
        }
        None => return Err(ApiError::bad_request("fromSrc is required")),
    }
    if query.get("changes").is_some_and(|c| !c.is_empty()) {
        return Err(ApiError::bad_request(
            "import --change is not supported yet; set the config with a build instead",
        ));
    }
    let image = state
        .engine
        .images
        .import(
            ChunkReader::from_body(body),
            query.get("repo").map(String::as_str),
            query.get("tag").map(String::as_str),
            query.get("message").map(String::as_str),
        )
        .await?;
    let (progress, response) = super::progress::channel();
    progress.status(&image.id);
    Ok(response)
}
