//! Pull (`POST /images/create?fromImage=…`) and push (`POST /images/{name}/push`),
//! streamed as Docker's JSON-lines progress. A reference that does not resolve fails
//! with a plain HTTP error before the stream starts, so `docker run` can tell
//! "no such image" from a broken pull.

use super::error::{ApiError, ApiResult};
use super::progress::{self, Progress};
use super::state::AppState;
use crate::image::ImageError;
use crate::image::progress::ProgressSink;
use crate::image::reference::Reference;
use crate::registry::{Credentials, credentials_from_header};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Arc;

fn credentials(headers: &HeaderMap) -> ApiResult<Credentials> {
    match headers.get("x-registry-auth").and_then(|v| v.to_str().ok()) {
        Some(value) if !value.trim().is_empty() => credentials_from_header(value)
            .map_err(|e| ApiError::bad_request(format!("invalid X-Registry-Auth: {e}"))),
        _ => Ok(Credentials::Anonymous),
    }
}

fn sink(progress: &Progress) -> ProgressSink {
    let progress = progress.clone();
    Arc::new(move |line| progress.send(line))
}

/// `POST /images/create`: pull with `fromImage`, import with `fromSrc`.
pub async fn create(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    if query.contains_key("fromSrc") {
        return super::image_archive::import(state, &query, body).await;
    }
    let from = query
        .get("fromImage")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("fromImage or fromSrc is required"))?;
    let mut reference = Reference::parse_bare(from)?;
    match query
        .get("tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(tag) if tag.starts_with("sha256:") => {
            reference = Reference::parse_bare(&format!("{}@{tag}", reference.name()))?;
        }
        Some(tag) => reference = reference.with_tag(tag)?,
        None if reference.tag.is_none() && reference.digest.is_none() => {
            reference = reference.with_tag("latest")?;
        }
        None => {}
    }
    let credentials = credentials(&headers)?;
    let engine = state.engine.clone();
    let shown = reference.familiar_name();
    let prepared = match engine
        .images
        .prepare_pull(&engine.registry, reference, credentials)
        .await
    {
        Ok(prepared) => prepared,
        // As Docker does: a refusal reads as "not found" (it must not tell a private
        // repository from a missing one), and a 401 would make the CLI prompt for a login.
        Err(ImageError::Registry {
            status: 401 | 403,
            message,
        }) => {
            return Err(ApiError::not_found(format!(
                "pull access denied for {shown}, repository does not exist or may require 'docker login': {message}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (progress, response) = progress::channel();
    tokio::spawn(async move {
        let result = engine
            .images
            .run_pull(&engine.registry, prepared, sink(&progress))
            .await;
        if let Err(e) = result {
            tracing::warn!("pull failed: {e}");
            progress.error(&e.to_string());
        }
    });
    Ok(response)
}

/// `POST /images/{name}/push?tag=…`.
pub async fn push(
    state: AppState,
    name: String,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let mut reference = Reference::parse_bare(&name)?;
    if let Some(tag) = query.get("tag").filter(|t| !t.is_empty()) {
        reference = reference.with_tag(tag)?;
    } else if reference.tag.is_none() {
        reference = reference.with_tag("latest")?;
    }
    let tagged = reference.tagged_name().unwrap_or_default();
    if state.engine.images.resolve(&tagged).is_err() {
        return Err(ApiError::not_found(format!(
            "An image does not exist locally with the tag: {}",
            reference.familiar_name()
        )));
    }
    let credentials = credentials(headers)?;
    let engine = state.engine.clone();
    let (progress, response) = progress::channel();
    tokio::spawn(async move {
        let result = engine
            .images
            .push(&engine.registry, &reference, &credentials, sink(&progress))
            .await;
        if let Err(e) = result {
            tracing::warn!("push failed: {e}");
            progress.error(&e.to_string());
        }
    });
    Ok(response)
}
