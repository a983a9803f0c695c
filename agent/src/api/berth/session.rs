//! Dashboard login: a one-time link or a pasted token becomes an HttpOnly
//! SameSite=Strict session cookie; logout ends it.

use crate::api::assets;
use crate::api::auth_layer::session_cookie;
use crate::api::error::{ApiError, ApiResult};
use crate::api::state::AppState;
use crate::auth::{Caller, sessions::SESSION_LIFETIME_SECS};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use shared::SESSION_COOKIE;
use shared::auth::{LoginRequest, Role, WhoAmI};

#[derive(Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

/// `GET /login?ticket=…`: the printed one-time link. A good ticket sets the cookie and
/// sends the browser to the dashboard; without one (or with a spent one) the dashboard
/// shows its login form.
pub async fn login_link(
    State(state): State<AppState>,
    Query(query): Query<TicketQuery>,
) -> ApiResult<Response> {
    let Some(ticket) = query.ticket else {
        return Ok(assets::index());
    };
    match state.engine.tickets.redeem(&ticket)? {
        Some(grant) => {
            let cookie = start_session(&state, grant.role, grant.token_id)?;
            Ok((
                StatusCode::SEE_OTHER,
                [(header::LOCATION, HeaderValue::from_static("/"))],
                [(header::SET_COOKIE, cookie)],
            )
                .into_response())
        }
        None => {
            tracing::warn!("a dashboard login link was refused: unknown, spent or expired");
            Ok((
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    HeaderValue::from_static("/#/login-link-expired"),
                )],
            )
                .into_response())
        }
    }
}

/// `POST /berth/v1/login` `{"token": …}`: swap a token for a session cookie.
pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    let token = state
        .engine
        .tokens
        .verify(body.token.trim())?
        .ok_or_else(|| ApiError::unauthorized("invalid or revoked token"))?;
    let cookie = start_session(&state, token.role, Some(token.id.clone()))?;
    let who = WhoAmI {
        role: token.role,
        token_id: Some(token.id),
        host: state.engine.host.name.clone(),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(who)).into_response())
}

/// `POST /berth/v1/logout`: ends the session and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        state.engine.sessions.end(id);
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response()
}

/// `GET /berth/v1/whoami`.
pub async fn whoami(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<WhoAmI> {
    Json(WhoAmI {
        role: caller.role,
        token_id: caller.token_id,
        host: state.engine.host.name.clone(),
    })
}

fn start_session(
    state: &AppState,
    role: Role,
    token_id: Option<String>,
) -> Result<String, ApiError> {
    let id = state
        .engine
        .sessions
        .start(role, token_id)
        .map_err(|e| ApiError::internal(format!("start session: {e}")))?;
    // Over TLS the cookie must never go out in clear text.
    let secure = if state.engine.reachable().tls_fingerprint.is_some() {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_LIFETIME_SECS}{secure}"
    ))
}
