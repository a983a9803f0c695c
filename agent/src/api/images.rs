//! Docker's image routes. Image names contain `/` and `:`, so `/images/{*rest}` is
//! split on its last segment (`…/json`, `…/history`, `…/tag`, `…/push`, `…/get`).

use super::error::{ApiError, ApiResult};
use super::query::{Params, glob_match, param, parse_bool, parse_filters};
use super::state::AppState;
use crate::image::reference::Reference;
use crate::image::service::Removed;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `GET /images/json`.
pub async fn list(State(state): State<AppState>, Query(q): Params) -> ApiResult<Json<Vec<Value>>> {
    let images = &state.engine.images;
    let filters = parse_filters(param(&q, "filters"))?;
    for key in filters.keys() {
        if !["dangling", "label", "before", "since", "reference", "until"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter '{key}'")));
        }
    }
    let created_of = |name: &str| -> ApiResult<i64> { Ok(images.resolve(name)?.created) };
    let before = filters
        .get("before")
        .and_then(|v| v.first())
        .map(|n| created_of(n))
        .transpose()?;
    let since = filters
        .get("since")
        .and_then(|v| v.first())
        .map(|n| created_of(n))
        .transpose()?;
    let dangling = filters
        .get("dangling")
        .and_then(|v| v.first())
        .map(|v| parse_bool(Some(v)));
    // As Docker: an untagged image that others are built on (a build's intermediate
    // image) shows only with `all`, and is never dangling.
    let all = parse_bool(param(&q, "all"));
    let parents = images.parents()?;
    let mut out = Vec::new();
    for (image, summary) in images.summaries()? {
        let untagged = summary["RepoTags"].as_array().is_none_or(Vec::is_empty)
            && summary["RepoDigests"].as_array().is_none_or(Vec::is_empty);
        if untagged && parents.contains(&image.id) && (!all || dangling == Some(true)) {
            continue;
        }
        let tags: Vec<String> = summary["RepoTags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if dangling.is_some_and(|d| d != tags.is_empty()) {
            continue;
        }
        if before.is_some_and(|b| image.created >= b) || since.is_some_and(|s| image.created <= s) {
            continue;
        }
        if let Some(labels) = filters.get("label") {
            let have = &summary["Labels"];
            let ok = labels.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => have.get(k).and_then(Value::as_str) == Some(v),
                None => have.get(l).is_some(),
            });
            if !ok {
                continue;
            }
        }
        if let Some(patterns) = filters.get("reference") {
            let hit = tags.iter().any(|t| {
                let name = t.rsplit_once(':').map_or(t.as_str(), |(n, _)| n);
                patterns
                    .iter()
                    .any(|p| glob_match(p, t) || glob_match(p, name))
            });
            if !hit {
                continue;
            }
        }
        out.push(summary);
    }
    Ok(Json(out))
}

/// `GET /images/{name}/json|history|get`.
pub async fn get(State(state): State<AppState>, Path(rest): Path<String>) -> ApiResult<Response> {
    let images = &state.engine.images;
    let (name, action) = split_action(&rest)?;
    match action {
        "json" => Ok(Json(images.inspect(&images.resolve(name)?)?).into_response()),
        "history" => Ok(Json(images.history(&images.resolve(name)?)?).into_response()),
        "get" => super::image_archive::save(state.clone(), vec![name.to_string()]).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `POST /images/{name}/tag|push`.
pub async fn post(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (name, action) = split_action(&rest)?;
    match action {
        "tag" => {
            let repo =
                param(&q, "repo").ok_or_else(|| ApiError::bad_request("repo is required"))?;
            let mut target = Reference::parse_bare(repo)?;
            if target.digest.is_some() {
                return Err(ApiError::bad_request(
                    "refusing to create a tag with a digest reference",
                ));
            }
            let tag = param(&q, "tag").filter(|t| !t.is_empty());
            target = match (tag, &target.tag) {
                (Some(t), _) => target.with_tag(t)?,
                (None, Some(_)) => target,
                (None, None) => target.with_tag("latest")?,
            };
            state.engine.images.tag(name, &target).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        "push" => super::image_transfer::push(state.clone(), name.to_string(), &q, &headers).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `DELETE /images/{name}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Params,
) -> ApiResult<Json<Vec<Value>>> {
    let force = parse_bool(param(&q, "force"));
    let removed = state.engine.images.remove(&name, force).await?;
    Ok(Json(removed.iter().map(removed_json).collect()))
}

/// `POST /images/prune`.
pub async fn prune(State(state): State<AppState>, Query(q): Params) -> ApiResult<Json<Value>> {
    let filters = parse_filters(param(&q, "filters"))?;
    let all = filters
        .get("dangling")
        .and_then(|v| v.first())
        .is_some_and(|v| !parse_bool(Some(v)));
    let (removed, reclaimed) = state.engine.images.prune(all).await?;
    let deleted: Vec<Value> = removed.iter().map(removed_json).collect();
    Ok(Json(json!({
        "ImagesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    })))
}

/// `GET /system/df`.
pub async fn disk_usage(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let images = &state.engine.images;
    let layers = images.store().meta.layers()?;
    let mut users: HashMap<String, usize> = HashMap::new();
    let summaries = images.summaries()?;
    for (image, _) in &summaries {
        for chain in &image.layers {
            *users.entry(chain.clone()).or_default() += 1;
        }
    }
    let shared_of = |image: &crate::store::records::ImageRecord| -> u64 {
        image
            .layers
            .iter()
            .filter(|c| users.get(*c).copied().unwrap_or(0) > 1)
            .filter_map(|c| layers.iter().find(|l| &l.chain_id == c))
            .map(|l| l.size)
            .sum()
    };
    let list: Vec<Value> = summaries
        .iter()
        .map(|(image, summary)| {
            let mut s = summary.clone();
            s["SharedSize"] = json!(shared_of(image));
            s["Containers"] = json!(0);
            s
        })
        .collect();
    Ok(Json(json!({
        "LayersSize": layers.iter().map(|l| l.size).sum::<u64>(),
        "Images": list,
        "Containers": [],
        "Volumes": [],
        "BuildCache": [],
    })))
}

fn removed_json(r: &Removed) -> Value {
    match r {
        Removed::Untagged(name) => json!({ "Untagged": name }),
        Removed::Deleted(id) => json!({ "Deleted": id }),
    }
}

/// `busybox:latest/json` → (`busybox:latest`, `json`).
fn split_action(rest: &str) -> ApiResult<(&str, &str)> {
    rest.rsplit_once('/')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| ApiError::not_found("page not found"))
}
