//! Docker's container routes: list, create, inspect, the lifecycle verbs, wait, attach,
//! logs, rename, resize, prune.

use super::body::channel_body;
use super::error::{ApiError, ApiResult};
use super::hijack;
use super::query::{Params, dimension, param, parse_bool, parse_filters};
use super::state::AppState;
use crate::container::config::CreateRequest;
use crate::container::life::WaitCondition;
use crate::container::logs::{self, LogOptions};
use crate::container::record::Status;
use crate::container::views;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `GET /containers/json`.
pub async fn list(State(state): State<AppState>, Query(q): Params) -> ApiResult<Json<Vec<Value>>> {
    let all = parse_bool(param(&q, "all"));
    let filters = parse_filters(param(&q, "filters"))?;
    for key in filters.keys() {
        if ![
            "status", "name", "id", "label", "ancestor", "exited", "before", "since",
        ]
        .contains(&key.as_str())
        {
            return Err(ApiError::bad_request(format!("invalid filter '{key}'")));
        }
    }
    let limit: Option<usize> = param(&q, "limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|&l| l > 0)
        .map(|l| l as usize);
    let containers = &state.engine.containers;
    let mut out = Vec::new();
    for container in containers.all() {
        let record = container.snapshot();
        let status = record.state.status;
        let shown = all
            || limit.is_some()
            || filters.contains_key("status")
            || filters.contains_key("exited");
        if !shown
            && !matches!(
                status,
                Status::Running | Status::Paused | Status::Restarting
            )
        {
            continue;
        }
        if !matches_filters(&record, &filters, &state) {
            continue;
        }
        out.push(views::summary(&record));
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(Json(out))
}

fn matches_filters(
    record: &crate::container::record::ContainerRecord,
    filters: &std::collections::BTreeMap<String, Vec<String>>,
    state: &AppState,
) -> bool {
    filters.iter().all(|(key, values)| {
        values.iter().any(|value| match key.as_str() {
            "status" => record.state.status.as_str() == value,
            "name" => record.name.contains(value.trim_start_matches('/')),
            "id" => record.id.starts_with(value.as_str()),
            "exited" => {
                record.state.status == Status::Exited
                    && value.parse::<i32>().ok() == Some(record.state.exit_code)
            }
            "label" => {
                let labels = record.labels();
                match value.split_once('=') {
                    Some((k, v)) => labels.get(k).and_then(Value::as_str) == Some(v),
                    None => labels.contains_key(value),
                }
            }
            "ancestor" => {
                record.image_name == *value
                    || state
                        .engine
                        .images
                        .resolve(value)
                        .is_ok_and(|i| i.id == record.image_id)
            }
            _ => true,
        })
    })
}

/// `POST /containers/create?name=`.
pub async fn create(
    State(state): State<AppState>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult<Response> {
    let request = CreateRequest::parse(&body)?;
    let record = state
        .engine
        .containers
        .create(request, param(&q, "name"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": record.id, "Warnings": []})),
    )
        .into_response())
}

/// `GET /containers/{id}/json`.
pub async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let containers = &state.engine.containers;
    let container = containers.find(&id)?;
    let record = container.snapshot();
    Ok(Json(views::inspect(
        &record,
        container.dir(),
        &record.driver,
    )))
}

fn timeout_param(q: &HashMap<String, String>) -> ApiResult<Option<i64>> {
    param(q, "t")
        .or(param(q, "timeout"))
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid stop timeout {t:?}")))
        })
        .transpose()
}

/// `POST /containers/{id}/start`: 204, or 304 when already running.
pub async fn start(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let started = state.engine.containers.start(&id).await?;
    Ok(if started {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    })
}

/// `POST /containers/{id}/stop?t=&signal=`: 204, or 304 when not running.
pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    let stopped = state
        .engine
        .containers
        .stop(&id, timeout_param(&q)?, param(&q, "signal"))
        .await?;
    Ok(if stopped {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    })
}

/// `POST /containers/{id}/restart?t=`.
pub async fn restart(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    state
        .engine
        .containers
        .restart(&id, timeout_param(&q)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    state
        .engine
        .containers
        .kill(&id, param(&q, "signal"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn pause(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.engine.containers.set_paused(&id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unpause(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.engine.containers.set_paused(&id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    let name = param(&q, "name").unwrap_or("");
    state.engine.containers.rename(&id, name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /containers/{id}?force=&v=`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    state
        .engine
        .containers
        .remove(
            &id,
            parse_bool(param(&q, "force")),
            parse_bool(param(&q, "v")),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/prune`.
pub async fn prune(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let removed = state.engine.containers.prune().await?;
    Ok(Json(json!({
        "ContainersDeleted": if removed.is_empty() { Value::Null } else { json!(removed) },
        "SpaceReclaimed": 0,
    })))
}

/// `POST /containers/{id}/wait?condition=`: headers at once, the result when the
/// condition holds (the CLI sends this before `start`).
pub async fn wait(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let condition = WaitCondition::parse(param(&q, "condition")).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid condition: {:?}",
            param(&q, "condition").unwrap_or("")
        ))
    })?;
    let waiter = state.engine.containers.waiter(&id, condition)?;
    let body = futures_util::stream::once(async move {
        let (code, error) = waiter.await;
        let error = match error {
            Some(message) => json!({"Message": message}),
            None => Value::Null,
        };
        let line = format!("{}\n", json!({"StatusCode": code, "Error": error}));
        Ok::<_, std::io::Error>(Bytes::from(line))
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `POST /containers/{id}/attach?stream=1&stdin=&stdout=&stderr=` (hijacked).
pub async fn attach(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
    request: Request,
) -> ApiResult<Response> {
    let containers = state.engine.containers.clone();
    let container = containers.find(&id)?;
    let tty = container.snapshot().tty();
    let source = containers
        .attach(
            &container.id,
            parse_bool(param(&q, "stdin")),
            parse_bool(param(&q, "stdout")),
            parse_bool(param(&q, "stderr")),
        )
        .await?;
    Ok(hijack::respond(request, tty, source, || {}))
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    state
        .engine
        .containers
        .resize(&id, dimension(&q, "h")?, dimension(&q, "w")?)
        .await?;
    Ok(StatusCode::OK)
}

/// Docker's `since`/`until`: unix seconds, possibly fractional.
fn unix_nanos(value: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(v) = value.filter(|v| !v.is_empty() && *v != "0") else {
        return Ok(None);
    };
    let (secs, frac) = v.split_once('.').unwrap_or((v, "0"));
    let secs: i64 = secs
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid time {v:?}")))?;
    let frac = format!("{frac:0<9}");
    let nanos: i64 = frac[..9]
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid time {v:?}")))?;
    Ok(Some(secs * 1_000_000_000 + nanos))
}

/// `GET /containers/{id}/logs`.
pub async fn logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let containers = &state.engine.containers;
    let container = containers.find(&id)?;
    let record = container.snapshot();
    let stdout = parse_bool(param(&q, "stdout"));
    let stderr = parse_bool(param(&q, "stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match param(&q, "tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(
            n.parse::<i64>()
                .map(|n| n.max(0) as usize)
                .map_err(|_| ApiError::bad_request(format!("invalid tail {n:?}")))?,
        ),
    };
    let options = LogOptions {
        stdout,
        stderr,
        since: unix_nanos(param(&q, "since"))?,
        until: unix_nanos(param(&q, "until"))?,
        tail,
        timestamps: parse_bool(param(&q, "timestamps")),
        follow: parse_bool(param(&q, "follow")),
        tty: record.tty(),
    };
    let rx = logs::stream(containers.log_path(&container), options, container.life());
    let body = channel_body(rx);
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(hijack::content_type(record.tty(), None)),
    );
    Ok(response)
}

/// `GET /containers/{id}/top`.
pub async fn top(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(state.engine.containers.top(&id)?))
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: one sample (after a pre-sample
/// 100 ms earlier, so CPU % can be computed; none with `one-shot`), or one per second.
pub async fn stats(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let containers = state.engine.containers.clone();
    let container = containers.find(&id)?;
    let stream = param(&q, "stream").is_none_or(|s| parse_bool(Some(s)));
    let one_shot = parse_bool(param(&q, "one-shot"));
    let first = containers.sample(&container)?;
    let first_at = std::time::SystemTime::now();
    if !stream {
        let body = if one_shot {
            crate::container::stats::stats_json(&container, &first, None)
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let second = containers.sample(&container)?;
            crate::container::stats::stats_json(&container, &second, Some((&first, first_at)))
        };
        return Ok(Json(body).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::spawn(async move {
        let mut previous = (first, first_at);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = tx.closed() => return,
            }
            let Ok(now) = containers.sample(&container) else {
                return;
            };
            let at = std::time::SystemTime::now();
            let line = format!(
                "{}\n",
                crate::container::stats::stats_json(
                    &container,
                    &now,
                    Some((&previous.0, previous.1))
                )
            );
            if tx.send(Ok(Bytes::from(line))).await.is_err() {
                return;
            }
            if !container.snapshot().state.status.is_live() {
                return;
            }
            previous = (now, at);
        }
    });
    let mut response = Response::new(channel_body(rx));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `GET /containers/{id}/changes`.
pub async fn changes(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let changes = state.engine.containers.changes(&id).await?;
    let list: Vec<Value> = changes
        .iter()
        .map(|c| json!({"Path": c.path, "Kind": c.kind.code()}))
        .collect();
    Ok(Json(if list.is_empty() {
        Value::Null
    } else {
        json!(list)
    }))
}

/// `POST /commit?container=&repo=&tag=&author=&comment=&changes=&pause=`.
pub async fn commit(
    State(state): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let get = |key: &str| q.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let container = get("container").ok_or_else(|| ApiError::bad_request("no container given"))?;
    let options = crate::container::commit::CommitOptions {
        repo: get("repo"),
        tag: get("tag"),
        author: get("author").filter(|a| !a.is_empty()),
        comment: get("comment").filter(|c| !c.is_empty()),
        changes: q
            .iter()
            .filter(|(k, _)| k == "changes")
            .flat_map(|(_, v)| v.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| !l.trim().is_empty())
            .collect(),
        pause: get("pause").is_none_or(|p| parse_bool(Some(&p))),
    };
    let image = state.engine.containers.commit(&container, options).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": image.id}))).into_response())
}

/// `GET /containers/{id}/export`.
pub async fn export(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let containers = state.engine.containers.clone();
    containers.find(&id)?;
    let (writer, rx) = crate::util::channel_writer::ChannelWriter::new();
    let errors = writer.error_handle();
    tokio::spawn(async move {
        if let Err(e) = containers.export(&id, writer).await {
            let _ = errors.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let mut response = Response::new(channel_body(rx));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(response)
}

fn path_stat_header(stat: &crate::container::archive::PathStat) -> HeaderValue {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(stat.header_json());
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

const PATH_STAT: &str = "x-docker-container-path-stat";

fn archive_path(q: &HashMap<String, String>) -> ApiResult<String> {
    param(q, "path")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("path is required"))
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn archive_head(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let stat = state
        .engine
        .containers
        .archive_stat(&id, &archive_path(&q)?)?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(PATH_STAT, path_stat_header(&stat));
    Ok(response)
}

/// `GET /containers/{id}/archive?path=`.
pub async fn archive_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let containers = state.engine.containers.clone();
    let path = archive_path(&q)?;
    let stat = containers.archive_stat(&id, &path)?;
    let (writer, rx) = crate::util::channel_writer::ChannelWriter::new();
    let errors = writer.error_handle();
    tokio::spawn(async move {
        if let Err(e) = containers.archive_get(&id, &path, writer).await {
            let _ = errors.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let mut response = Response::new(channel_body(rx));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    headers.insert(PATH_STAT, path_stat_header(&stat));
    Ok(response)
}

/// `PUT /containers/{id}/archive?path=` with a tar body.
pub async fn archive_put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
    body: Body,
) -> ApiResult<StatusCode> {
    let path = archive_path(&q)?;
    let reader = crate::util::chunk_reader::ChunkReader::from_body(body);
    state
        .engine
        .containers
        .archive_put(&id, &path, reader)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /containers/{id}/update`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body: serde_json::Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid update body: {e}")))?;
    state.engine.containers.update(&id, &body)?;
    Ok(Json(json!({"Warnings": []})))
}
