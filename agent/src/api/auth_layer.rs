//! The credential check in front of every route. Unix-socket requests are the local
//! root user; TCP requests need a bearer token or a dashboard session cookie, and the
//! role that `auth::policy` asks for.

use super::assets;
use super::error::ApiError;
use super::origin::{self, OriginCheck};
use super::state::{AppState, Transport};
use crate::auth::policy::{self, Need};
use crate::auth::pull_grants::GRANT_PREFIX;
use crate::auth::{Caller, Via};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::SESSION_COOKIE;
use shared::auth::Role;

pub async fn require_credential(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.transport == Transport::UnixSocket {
        request.extensions_mut().insert(Caller::local());
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let need = policy::need(&method, &path, assets::exists(&path));
    let Need::Role(required) = need else {
        return next.run(request).await;
    };
    let caller = match authenticate(&state, request.headers(), &path) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if caller.role < required {
        return ApiError::forbidden(format!(
            "{method} {path} needs the {required} role; this credential is a {}",
            caller.role
        ))
        .into_response();
    }
    let is_read = method == Method::GET || method == Method::HEAD;
    if caller.via == Via::Session && !is_read {
        // SameSite=Strict already keeps the cookie off cross-site requests; this is the
        // second lock on the door for browsers that do not honour it.
        if let OriginCheck::Foreign(o) = origin::check(request.headers()) {
            return ApiError::forbidden(format!("cross-origin request from {o} refused"))
                .into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The distribution API, where pull grants are accepted too.
fn is_registry_path(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

fn authenticate(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Caller, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let (scheme, secret) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthorized(
                "unsupported Authorization scheme: send `Authorization: Bearer <token>`",
            ));
        }
        let secret = secret.trim();
        if is_registry_path(path) && secret.starts_with(GRANT_PREFIX) {
            let grant = state
                .engine
                .pull_grants
                .verify(secret)
                .ok_or_else(|| ApiError::unauthorized("invalid or expired pull grant"))?;
            return Ok(Caller {
                role: Role::Viewer,
                token_id: None,
                via: Via::PullGrant(grant),
            });
        }
        let token = state
            .engine
            .tokens
            .verify(secret)?
            .ok_or_else(|| ApiError::unauthorized("invalid or revoked token"))?;
        return Ok(Caller {
            role: token.role,
            token_id: Some(token.id),
            via: Via::Token,
        });
    }
    if let Some(session_id) = session_cookie(headers) {
        if let Some(session) = state.engine.sessions.get(session_id) {
            let token_alive = match &session.token_id {
                Some(id) => state.engine.tokens.get(id)?.is_some(),
                None => true,
            };
            if token_alive {
                return Ok(Caller {
                    role: session.role,
                    token_id: session.token_id,
                    via: Via::Session,
                });
            }
            state.engine.sessions.end(session_id);
        }
        return Err(ApiError::unauthorized(
            "session expired or revoked: log in again",
        ));
    }
    Err(ApiError::unauthorized(
        "authentication required: send `Authorization: Bearer <token>` or log in to the dashboard",
    ))
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=b; berth_session=s3cr3t; c=d".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), Some("s3cr3t"));
        let mut none = HeaderMap::new();
        none.insert(header::COOKIE, "berth_sessionx=1".parse().unwrap());
        assert_eq!(session_cookie(&none), None);
    }
}
