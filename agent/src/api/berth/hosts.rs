//! `/berth/v1/hosts`: this host and its peers — list (any role), add and remove (admin;
//! `auth::policy` enforces it) — and the proxy to a peer's API,
//! `/berth/v1/hosts/{name}/docker/{path}`, which the caller's own role limits as if the
//! inner request were made here.

use crate::api::error::{ApiError, ApiResult};
use crate::api::origin::{self, OriginCheck};
use crate::api::state::AppState;
use crate::auth::policy::split_proxy_path;
use crate::auth::{Caller, Via};
use crate::engine::Engine;
use crate::peers::PeerError;
use crate::peers::proxy;
use crate::util::clock::now_secs;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::hosts::{AddHostRequest, ConfirmFingerprint, HostState, HostStatus};

impl From<PeerError> for ApiError {
    fn from(e: PeerError) -> Self {
        let status = match &e {
            PeerError::BadInput(_) | PeerError::PlainHttp(_) | PeerError::BadCa(_) => {
                StatusCode::BAD_REQUEST
            }
            PeerError::NameTaken(_) | PeerError::ConfirmFingerprint { .. } => StatusCode::CONFLICT,
            PeerError::NoSuchPeer(_) => StatusCode::NOT_FOUND,
            PeerError::Unreachable(_) | PeerError::Refused { .. } => StatusCode::BAD_GATEWAY,
            PeerError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// This host, as the first entry of the list.
fn local(engine: &Engine) -> HostStatus {
    HostStatus {
        name: engine.host.name.clone(),
        local: true,
        url: engine.public_url().to_string(),
        state: HostState::Up,
        since: now_secs(),
        error: None,
        fingerprint: engine.reachable().tls_fingerprint.map(|f| f.to_string()),
        facts: Some(engine.host_facts()),
    }
}

/// This host first, then each peer.
pub fn host_list(engine: &Engine) -> Result<Vec<HostStatus>, PeerError> {
    let mut hosts = vec![local(engine)];
    hosts.extend(engine.peers.statuses()?);
    Ok(hosts)
}

/// `GET /berth/v1/hosts`: this host first, then each peer.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<HostStatus>>> {
    Ok(Json(host_list(&state.engine)?))
}

/// `POST /berth/v1/hosts` `{"name","url","token"[,"fingerprint"|"ca"]}`: `201` with the
/// new peer; `409` with `{"message","fingerprint"}` when an https peer's certificate needs
/// confirming first.
pub async fn add(
    State(state): State<AppState>,
    Json(request): Json<AddHostRequest>,
) -> ApiResult<Response> {
    match state.engine.peers.add(&request).await {
        Ok(status) => Ok((StatusCode::CREATED, Json(status)).into_response()),
        Err(e @ PeerError::ConfirmFingerprint { fingerprint, .. }) => Ok((
            StatusCode::CONFLICT,
            Json(ConfirmFingerprint {
                message: e.to_string(),
                fingerprint: fingerprint.to_string(),
            }),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /berth/v1/hosts/{name}`.
pub async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.engine.peers.remove(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Any method on `/berth/v1/hosts/{name}/docker/{path}`: forwarded to the peer.
pub async fn proxy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> ApiResult<Response> {
    let path = request.uri().path().to_string();
    let (name, inner) =
        split_proxy_path(&path).ok_or_else(|| ApiError::not_found("page not found"))?;
    // Writes with a session were origin-checked already; an upgrade is a GET.
    let upgrading = request.headers().contains_key(header::UPGRADE);
    if caller.via == Via::Session
        && upgrading
        && let OriginCheck::Foreign(o) = origin::check(request.headers())
    {
        return Err(ApiError::forbidden(format!(
            "upgrade from foreign origin {o} refused"
        )));
    }
    let client = state.engine.peers.client(name)?;
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{inner}?{q}"),
        None => inner.to_string(),
    };
    Ok(proxy::forward(&client, request, &path_and_query).await?)
}
