//! The agent's `/berth/v1` HTTP endpoints, called with `fetch` on the same origin. The session
//! is the HttpOnly `berth_session` cookie, which the browser sends by itself.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared::auth::{CreateTokenRequest, CreatedToken, LoginRequest, TokenInfo, WhoAmI};
use shared::host::HostFacts;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 401: no session, or it expired or was revoked.
    Unauthorized(String),
    /// Any other non-2xx answer, with the agent's message.
    Status(u16, String),
    /// No answer at all: the agent is down or unreachable.
    Network(String),
    /// An answer this dashboard cannot read.
    Decode(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unauthorized(m) => f.write_str(m),
            ApiError::Status(_, m) => f.write_str(m),
            ApiError::Network(m) => write!(f, "cannot reach the agent: {m}"),
            ApiError::Decode(m) => write!(f, "unexpected answer from the agent: {m}"),
        }
    }
}

/// The message of an error answer: Docker-style `{"message": …}` when there is one, else the
/// status and the start of the body.
pub fn error_message(status: u16, body: &str) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: String,
    }
    match serde_json::from_str::<Body>(body) {
        Ok(b) if !b.message.trim().is_empty() => b.message,
        _ => {
            let text = body.trim();
            if text.is_empty() {
                format!("HTTP {status}")
            } else {
                let short: String = text.chars().take(200).collect();
                format!("HTTP {status}: {short}")
            }
        }
    }
}

fn classify(status: u16, body: &str) -> ApiError {
    let message = error_message(status, body);
    if status == 401 {
        ApiError::Unauthorized(message)
    } else {
        ApiError::Status(status, message)
    }
}

fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{v:?}"))
}

/// One request; the body of a 2xx answer, or the error.
async fn send(method: &str, path: &str, json: Option<String>) -> Result<String, ApiError> {
    let net = |e: JsValue| ApiError::Network(js_text(&e));
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = Headers::new().map_err(net)?;
    headers.set("Accept", "application/json").map_err(net)?;
    if let Some(body) = json {
        headers
            .set("Content-Type", "application/json")
            .map_err(net)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(net)?;
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(net)?
        .unchecked_into();
    let body = JsFuture::from(response.text().map_err(net)?)
        .await
        .map_err(net)?
        .as_string()
        .unwrap_or_default();
    let status = response.status();
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(classify(status, &body))
    }
}

fn decode<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Decode(e.to_string()))
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    // Plain structs of strings and enums: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// `GET /berth/v1/whoami`: who the session cookie stands for.
pub async fn whoami() -> Result<WhoAmI, ApiError> {
    decode(&send("GET", "/berth/v1/whoami", None).await?)
}

/// `POST /berth/v1/login`: swap a token for the session cookie.
pub async fn login(token: &str) -> Result<WhoAmI, ApiError> {
    let body = encode(&LoginRequest {
        token: token.to_string(),
    });
    decode(&send("POST", "/berth/v1/login", Some(body)).await?)
}

/// `POST /berth/v1/logout`: end the session (the agent clears the cookie).
pub async fn logout() -> Result<(), ApiError> {
    send("POST", "/berth/v1/logout", None).await.map(drop)
}

/// `GET /berth/v1/host`: this host's facts (the socket pushes the same, every few seconds).
pub async fn host() -> Result<HostFacts, ApiError> {
    decode(&send("GET", "/berth/v1/host", None).await?)
}

/// `GET /berth/v1/tokens` (admin).
pub async fn list_tokens() -> Result<Vec<TokenInfo>, ApiError> {
    decode(&send("GET", "/berth/v1/tokens", None).await?)
}

/// `POST /berth/v1/tokens` (admin): the answer holds the secret, shown once.
pub async fn create_token(req: &CreateTokenRequest) -> Result<CreatedToken, ApiError> {
    decode(&send("POST", "/berth/v1/tokens", Some(encode(req))).await?)
}

/// `DELETE /berth/v1/tokens/{id}` (admin).
pub async fn revoke_token(id: &str) -> Result<(), ApiError> {
    let path = format!("/berth/v1/tokens/{}", js_sys::encode_uri_component(id));
    send("DELETE", &path, None).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(401, r#"{"message":"invalid token"}"#),
            "invalid token"
        );
        assert_eq!(error_message(502, ""), "HTTP 502");
        assert_eq!(
            error_message(500, "upstream broke\n"),
            "HTTP 500: upstream broke"
        );
        assert_eq!(
            error_message(400, r#"{"message":""}"#),
            r#"HTTP 400: {"message":""}"#
        );
    }

    #[test]
    fn only_401_means_logged_out() {
        assert!(matches!(classify(401, "{}"), ApiError::Unauthorized(_)));
        assert_eq!(
            classify(403, r#"{"message":"admin only"}"#),
            ApiError::Status(403, "admin only".into())
        );
    }
}
