//! `docker exec`: create, start (hijacked), inspect, resize.

use super::error::{ApiError, ApiResult};
use super::hijack;
use super::query::{Params, dimension};
use super::state::AppState;
use crate::container::exec::ExecRequest;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /containers/{id}/exec`.
pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: ExecRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid exec config: {e}")))?;
    let exec = state.engine.containers.exec_create(&id, request)?;
    Ok((StatusCode::CREATED, Json(json!({"Id": exec.id}))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartRequest {
    detach: bool,
    tty: bool,
}

/// `POST /exec/{id}/start` (hijacked unless `Detach`).
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let containers = state.engine.containers.clone();
    let exec = containers.exec_find(&id)?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the exec start body: {e}")))?;
    let start: StartRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        StartRequest::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid exec start body: {e}")))?
    };
    let stream = containers.exec_start(&exec).await?;
    if start.detach {
        tokio::spawn(async move {
            let mut stream = stream;
            let _ = tokio::io::copy(&mut stream, &mut tokio::io::sink()).await;
            containers.exec_finish(&exec);
        });
        return Ok(StatusCode::OK.into_response());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = tx.send(stream);
    let tty = exec.process.tty || start.tty;
    let finished = exec.clone();
    let request = Request::from_parts(parts, axum::body::Body::empty());
    Ok(hijack::respond(request, tty, rx, move || {
        containers.exec_finish(&finished);
    }))
}

/// `GET /exec/{id}/json`.
pub async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.engine.containers.exec_find(&id)?.inspect()))
}

/// `POST /exec/{id}/resize?h=&w=`.
pub async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    let containers = &state.engine.containers;
    let exec = containers.exec_find(&id)?;
    containers
        .exec_resize(&exec, dimension(&q, "h")?, dimension(&q, "w")?)
        .await?;
    Ok(StatusCode::OK)
}
