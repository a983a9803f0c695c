//! Berth's container views: a container's changes with sizes (the commit preview) and
//! the Run dialog's host-port check.

use crate::api::error::{ApiError, ApiResult};
use crate::api::query::{Params, param};
use crate::api::state::AppState;
use crate::network::proxy::Protocol;
use axum::Json;
use axum::extract::{Path, Query, State};
use shared::live::{ContainerChanges, PortCheck, SizedChange};
use std::net::IpAddr;

/// `GET /berth/v1/containers/{id}/changes`: `docker diff` with each path's size, and the
/// size the new layer of a commit would have.
pub async fn changes(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ContainerChanges>> {
    let changes = state.engine.containers.changes(&id).await?;
    let layer_size = crate::layer::diff::layer_size(&changes);
    Ok(Json(ContainerChanges {
        changes: changes
            .into_iter()
            .map(|c| SizedChange {
                path: c.path,
                kind: c.kind.letter(),
                size: c.size,
            })
            .collect(),
        layer_size,
    }))
}

/// `GET /berth/v1/ports/check?port=&protocol=tcp|udp&ip=`: can this host port be published
/// now, and a free one near it.
pub async fn check_port(
    State(state): State<AppState>,
    Query(q): Params,
) -> ApiResult<Json<PortCheck>> {
    let port: u16 = param(&q, "port")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| ApiError::bad_request("port must be a number from 1 to 65535"))?;
    let protocol: Protocol = param(&q, "protocol")
        .unwrap_or("tcp")
        .parse()
        .map_err(|_| ApiError::bad_request("protocol must be tcp or udp"))?;
    let ip = match param(&q, "ip").map(str::trim).filter(|i| !i.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| ApiError::bad_request(format!("invalid host address {text:?}")))?,
        ),
    };
    let networks = state.engine.networks.clone();
    tokio::task::spawn_blocking(move || networks.check_port(ip, port, protocol))
        .await
        .map(Json)
        .map_err(|e| ApiError::internal(format!("checking the port: {e}")))
}
