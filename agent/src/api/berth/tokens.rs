//! Token management (admin only; `auth::policy` enforces it).

use crate::api::error::ApiResult;
use crate::api::state::AppState;
use crate::auth::{Caller, tickets::Grant};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use shared::auth::{CreateTokenRequest, CreatedToken, LoginUrl, Role, TokenInfo};
use std::collections::BTreeMap;

pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(state.engine.tokens.list()?))
}

pub async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let created = state.engine.tokens.create(body.role, &body.name)?;
    publish(&state, "create", &created.info);
    Ok((StatusCode::CREATED, Json::<CreatedToken>(created)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let revoked = state.engine.tokens.revoke(&id)?;
    publish(&state, "revoke", &revoked);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /berth/v1/login-url`: a fresh one-time dashboard link for an admin.
pub async fn login_url(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<LoginUrl>> {
    let grant = Grant {
        role: Role::Admin,
        token_id: caller.token_id,
    };
    Ok(Json(state.engine.login_url(grant)?))
}

fn publish(state: &AppState, action: &str, token: &TokenInfo) {
    let attributes = BTreeMap::from([
        ("name".to_string(), token.name.clone()),
        ("role".to_string(), token.role.to_string()),
    ]);
    state
        .engine
        .events
        .publish("token", action, &token.id, attributes);
}
