//! `POST /build` (the legacy builder, as `DOCKER_BUILDKIT=0 docker build` and docker-py
//! call it) and `POST /build/prune`.
//!
//! The context tar is read whole and the Dockerfile parsed before the answer starts, so a
//! bad request (options, context, Dockerfile) is a plain `400 {"message"}` — what the CLI
//! prints as "Error response from daemon". After that the answer is Docker's JSON-lines
//! stream, and a failure is its last line (`error` + `errorDetail`, with a failed RUN's
//! exit code, which the CLI exits with).

use super::error::{ApiError, ApiResult};
use super::progress::{self, Progress};
use super::query::parse_bool;
use super::state::AppState;
use crate::build::error::Status;
use crate::build::output::Output;
use crate::build::run::RunOptions;
use crate::build::{BuildError, BuildOptions};
use crate::image::progress::ProgressSink;
use crate::image::reference::Reference;
use crate::util::chunk_reader::ChunkReader;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

impl From<BuildError> for ApiError {
    fn from(e: BuildError) -> Self {
        let status = match e.status {
            Status::BadRequest => StatusCode::BAD_REQUEST,
            Status::NotFound => StatusCode::NOT_FOUND,
            Status::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.message)
    }
}

/// The query string as (key, value) pairs: `t` may repeat.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn last<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A JSON object of strings (`buildargs` allows null values).
fn json_map(raw: Option<&str>, what: &str) -> ApiResult<BTreeMap<String, Option<String>>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid {what}: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request(format!(
            "invalid {what}: expected a JSON object"
        )));
    };
    object
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, Some(s))),
            Value::Null => Ok((k, None)),
            _ => Err(ApiError::bad_request(format!(
                "invalid {what}: the value of {k:?} is not a string"
            ))),
        })
        .collect()
}

/// `X-Registry-Config`: base64 of `{"registry": {auth config}}`.
fn registry_config(headers: &HeaderMap) -> ApiResult<Map<String, Value>> {
    use base64::Engine as _;
    let Some(raw) = headers
        .get("x-registry-config")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Ok(Map::new());
    };
    if raw.len() > 64 * 1024 {
        return Err(ApiError::bad_request("X-Registry-Config is too large"));
    }
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let bytes = engines
        .iter()
        .find_map(|e| e.decode(raw).ok())
        .ok_or_else(|| ApiError::bad_request("X-Registry-Config is not base64"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_request(
            "X-Registry-Config is not a JSON object of registries",
        )),
    }
}

/// Checks and types the query.
fn options(pairs: &[(String, String)], headers: &HeaderMap) -> ApiResult<BuildOptions> {
    let flag = |key: &str| parse_bool(last(pairs, key));
    if last(pairs, "version") == Some("2") {
        return Err(ApiError::bad_request(
            "BuildKit is not supported: build with the legacy builder (DOCKER_BUILDKIT=0)",
        ));
    }
    if last(pairs, "remote").is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "remote build contexts are not supported: send the context as a tar",
        ));
    }
    if flag("squash") {
        return Err(ApiError::bad_request("squash is not supported"));
    }
    if let Some(platform) = last(pairs, "platform").filter(|p| !p.is_empty()) {
        let p = platform.to_ascii_lowercase();
        if !(p == "linux" || p == "linux/amd64" || p.starts_with("linux/amd64/")) {
            return Err(ApiError::bad_request(format!(
                "platform {platform} is not supported: this builder makes linux/amd64 images only"
            )));
        }
    }
    let mut tags = Vec::new();
    for (_, t) in pairs.iter().filter(|(k, _)| k == "t") {
        if t.is_empty() {
            continue;
        }
        let reference = Reference::parse(t)
            .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {e}")))?;
        let name = reference.tagged_name().ok_or_else(|| {
            ApiError::bad_request(format!("invalid tag {t:?}: a tag cannot be a digest"))
        })?;
        if !tags.contains(&name) {
            tags.push(name);
        }
    }
    let labels = json_map(last(pairs, "labels"), "labels")?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    let mut host_config = Map::new();
    for (query, key, numeric) in [
        ("memory", "Memory", true),
        ("memswap", "MemorySwap", true),
        ("cpushares", "CpuShares", true),
        ("cpuperiod", "CpuPeriod", true),
        ("cpuquota", "CpuQuota", true),
        ("cpusetcpus", "CpusetCpus", false),
    ] {
        let Some(value) = last(pairs, query).filter(|v| !v.is_empty()) else {
            continue;
        };
        if numeric {
            let n: i64 = value
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid {query}: {value:?}")))?;
            if n != 0 {
                host_config.insert(key.into(), json!(n));
            }
        } else {
            host_config.insert(key.into(), json!(value));
        }
    }
    Ok(BuildOptions {
        dockerfile: last(pairs, "dockerfile")
            .unwrap_or("Dockerfile")
            .to_string(),
        tags,
        build_args: json_map(last(pairs, "buildargs"), "buildargs")?,
        labels,
        no_cache: flag("nocache"),
        pull: flag("pull"),
        target: last(pairs, "target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        run: RunOptions {
            network_mode: last(pairs, "networkmode").unwrap_or("").to_string(),
            host_config,
            // `rm` is on unless the client says otherwise.
            remove: last(pairs, "rm").is_none_or(|v| parse_bool(Some(v))),
            force_remove: flag("forcerm"),
        },
        registry_auth: registry_config(headers)?,
    })
}

/// `q=1`: only the image ID, unless the build fails (then everything, and the error).
fn quiet_sink(progress: Progress) -> ProgressSink {
    let kept: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = move |line: Value| {
        if line.get("error").is_some() {
            let lines = std::mem::take(&mut *kept.lock().unwrap_or_else(|p| p.into_inner()));
            for l in lines {
                progress.send(l);
            }
            progress.send(line);
        } else if line.get("aux").is_some() {
            progress.send(line);
        } else {
            kept.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    };
    Arc::new(sink)
}

/// `POST /build`.
pub async fn build(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let pairs = query_pairs(&uri);
    let options = options(&pairs, &headers)?;
    let quiet = parse_bool(last(&pairs, "q"));
    let builds = state.engine.builds.clone();
    let reader = ChunkReader::from_body(body);
    let prepared = {
        let builds = builds.clone();
        tokio::task::spawn_blocking(move || {
            let context = builds.read_context(reader)?;
            builds.prepare(context, options)
        })
        .await
        .map_err(|e| ApiError::internal(format!("build task: {e}")))??
    };
    let (progress, response) = progress::channel();
    tokio::spawn(async move {
        let sink: ProgressSink = if quiet {
            quiet_sink(progress.clone())
        } else {
            let p = progress.clone();
            Arc::new(move |line| p.send(line))
        };
        let watcher = progress.clone();
        let gone = Arc::new(move || watcher.is_closed());
        match builds.build(prepared, Output::new(sink, gone)).await {
            Ok(image) if quiet => progress.stream_text(&format!("{}\n", image.id)),
            Ok(_) => {}
            Err(e) => tracing::info!("build failed: {e}"),
        }
    });
    Ok(response)
}

/// `POST /build/prune` (`docker builder prune`, `docker system prune`): forgets the
/// build cache.
pub async fn prune(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let deleted = state.engine.builds.prune()?;
    Ok(Json(json!({
        "CachesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": 0,
    })))
}
