//! Docker's volume routes: named volumes under `<data root>/volumes/`.

use super::error::{ApiError, ApiResult};
use super::query::{parse_bool, parse_filters};
use super::state::AppState;
use crate::container::{ContainerError, volumes};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create`.
pub async fn create(State(state): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let body: CreateBody = if body.is_empty() {
        CreateBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid volume create body: {e}")))?
    };
    if !body.driver.is_empty() && body.driver != "local" {
        return Err(ApiError::bad_request(format!(
            "error looking up volume plugin {}: plugin not found",
            body.driver
        )));
    }
    let name = if body.name.is_empty() {
        crate::util::random::hex_secret(32).map_err(|e| ApiError::internal(e.to_string()))?
    } else {
        body.name
    };
    let root = state.engine.containers.volumes_root().to_path_buf();
    let info = volumes::create(&root, &name, body.labels.unwrap_or_default())?;
    Ok((StatusCode::CREATED, Json(info.to_docker(&root))).into_response())
}

/// `GET /volumes`.
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filters = parse_filters(q.get("filters").map(String::as_str))?;
    let root = state.engine.containers.volumes_root().to_path_buf();
    let used = state.engine.containers.volumes_in_use();
    let list: Vec<Value> = volumes::list(&root)?
        .into_iter()
        .filter(|v| {
            filters.iter().all(|(key, values)| {
                values.iter().any(|value| match key.as_str() {
                    "name" => v.name.contains(value.as_str()),
                    "dangling" => parse_bool(Some(value)) != used.contains_key(&v.name),
                    "label" => match value.split_once('=') {
                        Some((k, want)) => v.labels.get(k).is_some_and(|x| x == want),
                        None => v.labels.contains_key(value),
                    },
                    _ => true,
                })
            })
        })
        .map(|v| v.to_docker(&root))
        .collect();
    Ok(Json(json!({"Volumes": list, "Warnings": null})))
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let root = state.engine.containers.volumes_root().to_path_buf();
    let info = volumes::info(&root, &name)?
        .ok_or_else(|| ApiError::not_found(format!("get {name}: no such volume")))?;
    Ok(Json(info.to_docker(&root)))
}

/// `DELETE /volumes/{name}?force=`: refused while a container uses it.
pub async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let root = state.engine.containers.volumes_root().to_path_buf();
    if let Some(users) = state.engine.containers.volumes_in_use().get(&name) {
        return Err(ContainerError::Conflict(format!(
            "remove {name}: volume is in use - [{}]",
            users.join(", ")
        ))
        .into());
    }
    if volumes::info(&root, &name)?.is_none() {
        return Err(ApiError::not_found(format!("get {name}: no such volume")));
    }
    volumes::remove(&root, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune`: unused volumes (Berth makes no anonymous volumes, so every
/// unused volume counts, as with Docker's `--all`).
pub async fn prune(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let root = state.engine.containers.volumes_root().to_path_buf();
    let used = state.engine.containers.volumes_in_use();
    let mut deleted = Vec::new();
    for v in volumes::list(&root)? {
        if !used.contains_key(&v.name) {
            volumes::remove(&root, &v.name)?;
            deleted.push(v.name);
        }
    }
    Ok(Json(json!({
        "VolumesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": 0,
    })))
}
