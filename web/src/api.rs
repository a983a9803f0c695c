//! The agent's `/berth/v1` HTTP endpoints, called with `fetch` on the same origin. The session
//! is the HttpOnly `berth_session` cookie, which the browser sends by itself.

use crate::docker::{ContainerSummary, ImageInspect, ImageSummary, Network, Top};
use crate::json::{self, Json};
use crate::progress::LineBuffer;
use crate::read;
use shared::auth::{CreateTokenRequest, CreatedToken, TokenInfo, WhoAmI};
use shared::host::HostFacts;
use shared::hosts::{AddHostRequest, ConfirmFingerprint, HostStatus};
use shared::layers::LayerGraph;
use shared::ports::PortUsage;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, ReadableStreamDefaultReader, Request, RequestCredentials, RequestInit, Response,
};

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
    match Json::parse(body).and_then(|j| j.opt("message")) {
        Some(message) if !message.trim().is_empty() => message,
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

thread_local! {
    /// The peer whose API the pages show, when not this agent (the header's host switcher).
    static REMOTE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// "All hosts" is chosen: Containers and Images merge every host, other pages show this one.
    static ALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The host switcher's value for "All hosts" (never a peer's name: those are letters,
/// digits, `-`, `_` and `.`).
pub const ALL_HOSTS: &str = "*";

/// Routes the pages' calls to peer `host` (through this agent's proxy), or back here;
/// [`ALL_HOSTS`] routes them here and marks the merged view.
pub fn set_remote(host: Option<String>) {
    let all = host.as_deref() == Some(ALL_HOSTS);
    ALL.with(|a| a.set(all));
    REMOTE.with(|r| *r.borrow_mut() = host.filter(|_| !all));
}

/// Whether "All hosts" is chosen.
pub fn all_hosts() -> bool {
    ALL.with(std::cell::Cell::get)
}

/// The peer the pages show, if not this agent.
pub fn remote() -> Option<String> {
    REMOTE.with(|r| r.borrow().clone())
}

/// Calls about this agent itself (its host list, tokens, the session) stay here.
const LOCAL_ONLY: [&str; 4] = [
    "/berth/v1/hosts",
    "/berth/v1/tokens",
    "/berth/v1/log",
    "/berth/v1/whoami",
];

/// `path` as sent: through `/berth/v1/hosts/<remote>/docker` when a peer is shown. The one
/// place the dashboard's calls are routed, so every page acts on the host it shows.
pub fn routed(path: &str, remote: Option<&str>) -> String {
    match remote {
        // Peer names are the agent's, checked there: letters, digits, `-`, `_`, `.`.
        Some(host) if !LOCAL_ONLY.iter().any(|p| path.starts_with(p)) => {
            format!("/berth/v1/hosts/{host}/docker{path}")
        }
        _ => path.to_string(),
    }
}

/// The `ws://` or `wss://` URL of `path` on the shown host (through this agent's proxy for a
/// peer), for the WebSockets a page opens itself (a console, a peer's container topics).
pub fn ws_url(path: &str) -> String {
    ws_url_on(path, remote().as_deref())
}

/// [`ws_url`] on peer `host` (`None`: this agent).
pub fn ws_url_on(path: &str, remote: Option<&str>) -> String {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_default();
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}{}", routed(path, remote))
}

/// Starts one request to the shown host; the answer once its headers are in.
async fn fetch(method: &str, path: &str, json: Option<String>) -> Result<Response, ApiError> {
    let body = json.map(|j| (JsValue::from_str(&j), "application/json"));
    fetch_on(remote().as_deref(), method, path, body).await
}

/// Starts one request with a body of the given type, routed to peer `remote` (`None`: this
/// agent).
async fn fetch_on(
    remote: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(JsValue, &str)>,
) -> Result<Response, ApiError> {
    let path = &routed(path, remote);
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = Headers::new().map_err(net)?;
    headers.set("Accept", "application/json").map_err(net)?;
    if let Some((body, content_type)) = body {
        headers.set("Content-Type", content_type).map_err(net)?;
        init.set_body(&body);
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(net)?;
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    Ok(JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(net)?
        .unchecked_into())
}

fn net(e: JsValue) -> ApiError {
    ApiError::Network(js_text(&e))
}

async fn text(response: &Response) -> Result<String, ApiError> {
    Ok(JsFuture::from(response.text().map_err(net)?)
        .await
        .map_err(net)?
        .as_string()
        .unwrap_or_default())
}

/// One request to the shown host; the body of a 2xx answer, or the error.
async fn send(method: &str, path: &str, json: Option<String>) -> Result<String, ApiError> {
    send_to(remote().as_deref(), method, path, json).await
}

/// One bodiless request to peer `remote` (`None`: this agent), whatever host is shown.
async fn send_on(remote: Option<&str>, method: &str, path: &str) -> Result<String, ApiError> {
    send_to(remote, method, path, None).await
}

/// One request to peer `remote` (`None`: this agent); the body of a 2xx answer, or the
/// error.
async fn send_to(
    remote: Option<&str>,
    method: &str,
    path: &str,
    json: Option<String>,
) -> Result<String, ApiError> {
    let body = json.map(|j| (JsValue::from_str(&j), "application/json"));
    let response = fetch_on(remote, method, path, body).await?;
    let body = text(&response).await?;
    let status = response.status();
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(classify(status, &body))
    }
}

/// A 2xx answer's body as JSON (an error when it is not JSON).
fn decode(body: &str) -> Result<Json, ApiError> {
    Json::parse(body).ok_or_else(|| ApiError::Decode("not JSON".into()))
}

/// `GET path` as JSON (one reader for every caller: a generic one grows the wasm per type).
async fn get(path: &str) -> Result<Json, ApiError> {
    decode(&send("GET", path, None).await?)
}

/// `GET /berth/v1/whoami`: who the session cookie stands for.
pub async fn whoami() -> Result<WhoAmI, ApiError> {
    Ok(read::who_am_i(&get("/berth/v1/whoami").await?))
}

/// `POST /berth/v1/login`: swap a token for the session cookie.
pub async fn login(token: &str) -> Result<WhoAmI, ApiError> {
    let body = json::object(&[("token", token)]);
    let answer = send("POST", "/berth/v1/login", Some(body)).await?;
    Ok(read::who_am_i(&decode(&answer)?))
}

/// `POST /berth/v1/logout`: end the session (the agent clears the cookie).
pub async fn logout() -> Result<(), ApiError> {
    send("POST", "/berth/v1/logout", None).await.map(drop)
}

/// `GET /berth/v1/host`: this host's facts (the socket pushes the same, every few seconds).
pub async fn host() -> Result<HostFacts, ApiError> {
    Ok(read::host_facts(&get("/berth/v1/host").await?))
}

/// `GET /berth/v1/tokens` (admin).
pub async fn list_tokens() -> Result<Vec<TokenInfo>, ApiError> {
    Ok(get("/berth/v1/tokens")
        .await?
        .list()
        .iter()
        .map(read::token_info)
        .collect())
}

/// `POST /berth/v1/tokens` (admin): the answer holds the secret, shown once.
pub async fn create_token(req: &CreateTokenRequest) -> Result<CreatedToken, ApiError> {
    let body = json::object(&[("role", req.role.as_str()), ("name", &req.name)]);
    let answer = decode(&send("POST", "/berth/v1/tokens", Some(body)).await?)?;
    Ok(CreatedToken {
        info: read::token_info(&answer),
        token: answer.at("token").str(),
    })
}

/// `DELETE /berth/v1/tokens/{id}` (admin).
pub async fn revoke_token(id: &str) -> Result<(), ApiError> {
    let path = format!("/berth/v1/tokens/{}", js_sys::encode_uri_component(id));
    send("DELETE", &path, None).await.map(drop)
}

fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// `GET /images/json` of peer `remote` (`None`: this agent).
pub async fn images(remote: Option<&str>) -> Result<Vec<ImageSummary>, ApiError> {
    let list = decode(&send_on(remote, "GET", "/images/json").await?)?;
    Ok(list.list().iter().map(ImageSummary::read).collect())
}

/// `GET /images/{id}/json`.
pub async fn inspect_image(id: &str) -> Result<ImageInspect, ApiError> {
    Ok(ImageInspect::read(
        &get(&format!("/images/{}/json", enc(id))).await?,
    ))
}

/// `DELETE /images/{id}?force=1` (operator) on peer `remote` (`None`: this agent): untags
/// every name and deletes the image.
pub async fn remove_image(remote: Option<&str>, id: &str) -> Result<(), ApiError> {
    let path = format!("/images/{}?force=1", enc(id));
    send_on(remote, "DELETE", &path).await.map(drop)
}

/// `POST /images/{id}/tag?repo=…&tag=…` (operator) on peer `remote` (`None`: this agent).
pub async fn tag_image(
    remote: Option<&str>,
    id: &str,
    repo: &str,
    tag: &str,
) -> Result<(), ApiError> {
    let path = format!(
        "/images/{}/tag?repo={}&tag={}",
        enc(id),
        enc(repo),
        enc(tag)
    );
    send_on(remote, "POST", &path).await.map(drop)
}

fn summaries(text: &str) -> Result<Vec<ContainerSummary>, ApiError> {
    let list = Json::parse(text).ok_or_else(|| ApiError::Decode("not JSON".into()))?;
    Ok(list.list().iter().map(ContainerSummary::read).collect())
}

/// `GET /containers/json?all=1` of peer `remote` (`None`: this agent).
pub async fn containers(remote: Option<&str>) -> Result<Vec<ContainerSummary>, ApiError> {
    summaries(&send_on(remote, "GET", "/containers/json?all=1").await?)
}

/// `POST /containers/{id}/{verb}` (operator) on peer `remote` (`None`: this agent): start,
/// stop, restart, pause, unpause, kill.
pub async fn container_action(remote: Option<&str>, id: &str, verb: &str) -> Result<(), ApiError> {
    let path = format!("/containers/{}/{verb}", enc(id));
    send_on(remote, "POST", &path).await.map(drop)
}

/// `DELETE /containers/{id}` (operator) on peer `remote`; `force` kills it first when it runs.
pub async fn remove_container(remote: Option<&str>, id: &str, force: bool) -> Result<(), ApiError> {
    let path = format!("/containers/{}?force={}", enc(id), u8::from(force));
    send_on(remote, "DELETE", &path).await.map(drop)
}

/// `GET /containers/{id}/top` (running containers only).
pub async fn container_top(id: &str) -> Result<Top, ApiError> {
    Ok(Top::read(
        &get(&format!("/containers/{}/top", enc(id))).await?,
    ))
}

/// `GET /containers/{id}/json` as text, for views that read it with [`crate::json`].
pub async fn inspect_container_text(id: &str) -> Result<String, ApiError> {
    send("GET", &format!("/containers/{}/json", enc(id)), None).await
}

/// `GET /containers/json?all=1&filters={"id":[id]}` on peer `remote` (`None`: this agent):
/// one container's row, `None` once it is gone.
pub async fn container_row(
    remote: Option<&str>,
    id: &str,
) -> Result<Option<ContainerSummary>, ApiError> {
    let filters = format!("{{\"id\":[{}]}}", json::string(id));
    let path = format!("/containers/json?all=1&filters={}", enc(&filters));
    let list = summaries(&send_on(remote, "GET", &path).await?)?;
    Ok(list.into_iter().find(|c| c.id == id))
}

/// `GET /berth/v1/containers/{id}/changes` on peer `remote` (`None`: this agent): the diff
/// with sizes, and the size of the layer a commit would make
/// (`shared::live::ContainerChanges`, as JSON text for [`crate::json`]).
pub async fn sized_changes(remote: Option<&str>, id: &str) -> Result<String, ApiError> {
    let path = format!("/berth/v1/containers/{}/changes", enc(id));
    send_on(remote, "GET", &path).await
}

/// `POST /commit` (operator) on peer `remote` (`None`: this agent) with everything the
/// commit dialog asks: the new image's ID. `changes`: Dockerfile instructions, one per item
/// (`--change`).
pub async fn commit_full(
    remote: Option<&str>,
    id: &str,
    reference: &str,
    comment: &str,
    author: &str,
    changes: &[String],
    pause: bool,
) -> Result<String, ApiError> {
    let (repo, tag) = if reference.trim().is_empty() {
        (String::new(), String::new())
    } else {
        crate::format::split_reference(reference)
    };
    let mut path = format!(
        "/commit?container={}&repo={}&tag={}&comment={}&author={}&pause={}",
        enc(id),
        enc(&repo),
        enc(&tag),
        enc(comment),
        enc(author),
        u8::from(pause)
    );
    for change in changes {
        path.push_str("&changes=");
        path.push_str(&enc(change));
    }
    Ok(decode(&send_on(remote, "POST", &path).await?)?
        .at("Id")
        .str())
}

/// `GET /berth/v1/ports/check?port=&protocol=`: whether a host port is free, and one that is
/// (`shared::live::PortCheck`, as JSON text for [`crate::json`]).
pub async fn check_port(port: u16, protocol: &str) -> Result<String, ApiError> {
    let path = format!(
        "/berth/v1/ports/check?port={port}&protocol={}",
        enc(protocol)
    );
    send("GET", &path, None).await
}

/// `POST /containers/create?name=` (operator) with a Docker create body: the new ID.
pub async fn create_container(name: &str, body: String) -> Result<String, ApiError> {
    let path = format!("/containers/create?name={}", enc(name.trim()));
    Ok(decode(&send("POST", &path, Some(body)).await?)?
        .at("Id")
        .str())
}

/// `GET /berth/v1/layers` of peer `remote` (`None`: this agent).
pub async fn layer_graph(remote: Option<&str>) -> Result<LayerGraph, ApiError> {
    let body = send_on(remote, "GET", "/berth/v1/layers").await?;
    Ok(read::layer_graph(&decode(&body)?))
}

/// `GET /berth/v1/ports`: every published port on this host.
pub async fn ports() -> Result<PortUsage, ApiError> {
    Ok(read::port_usage(&get("/berth/v1/ports").await?))
}

/// `GET /networks`.
pub async fn networks() -> Result<Vec<Network>, ApiError> {
    Ok(get("/networks")
        .await?
        .list()
        .iter()
        .map(Network::read)
        .collect())
}

/// `POST /networks/create` (operator) with a body from [`crate::docker::create_network_body`].
pub async fn create_network(body: String) -> Result<(), ApiError> {
    send("POST", "/networks/create", Some(body)).await.map(drop)
}

/// `DELETE /networks/{id}` (operator).
pub async fn remove_network(id: &str) -> Result<(), ApiError> {
    send("DELETE", &format!("/networks/{}", enc(id)), None)
        .await
        .map(drop)
}

/// `POST /berth/v1/images/{id}/copy?to=…` (operator) on peer `remote` (`None`: this
/// agent): copies an image to another host, streaming that host's pull progress like
/// [`pull`].
pub async fn copy_image(
    remote: Option<&str>,
    id: &str,
    to: &str,
    on_line: impl FnMut(&[u8]),
) -> Result<(), ApiError> {
    let path = format!("/berth/v1/images/{}/copy?to={}", enc(id), enc(to));
    post_body_streamed(remote, &path, None, on_line).await
}

/// `GET /berth/v1/hosts`: this agent first, then its peers (the socket pushes the same).
pub async fn hosts() -> Result<Vec<HostStatus>, ApiError> {
    Ok(read::host_list(&get("/berth/v1/hosts").await?))
}

/// The hosts peer `remote` (`None`: this agent) can copy images to: its own peers.
pub async fn copy_targets(remote: Option<&str>) -> Result<Vec<HostStatus>, ApiError> {
    let path = match remote {
        Some(host) => format!("/berth/v1/hosts/{host}/docker/berth/v1/hosts"),
        None => "/berth/v1/hosts".to_string(),
    };
    let list = read::host_list(&get(&path).await?);
    Ok(list.into_iter().filter(|h| !h.local).collect())
}

/// What adding a peer came to.
pub enum Added {
    Done,
    /// An https peer's certificate, to confirm (send it back as the fingerprint).
    Confirm(ConfirmFingerprint),
}

/// `POST /berth/v1/hosts` (admin).
pub async fn add_host(req: &AddHostRequest) -> Result<Added, ApiError> {
    let mut fields = vec![
        ("name", req.name.as_str()),
        ("url", &req.url),
        ("token", &req.token),
    ];
    for (key, value) in [("fingerprint", &req.fingerprint), ("ca", &req.ca)] {
        if let Some(v) = value {
            fields.push((key, v));
        }
    }
    let response = fetch("POST", "/berth/v1/hosts", Some(json::object(&fields))).await?;
    let body = text(&response).await?;
    match response.status() {
        200..=299 => Ok(Added::Done),
        409 => match Json::parse(&body).filter(|j| !j.at("fingerprint").is_empty()) {
            Some(j) => Ok(Added::Confirm(ConfirmFingerprint {
                message: j.at("message").str(),
                fingerprint: j.at("fingerprint").str(),
            })),
            None => Err(classify(409, &body)),
        },
        status => Err(classify(status, &body)),
    }
}

/// `DELETE /berth/v1/hosts/{name}` (admin).
pub async fn remove_host(name: &str) -> Result<(), ApiError> {
    send("DELETE", &format!("/berth/v1/hosts/{}", enc(name)), None)
        .await
        .map(drop)
}

/// `POST /images/create?fromImage=…&tag=…` (operator): pulls, handing each line of the
/// JSON-lines progress body to `on_line` as it arrives. `Ok` means the stream ended; errors
/// inside it are lines like any other (`{"error": …}`).
pub async fn pull(name: &str, tag: &str, on_line: impl FnMut(&[u8])) -> Result<(), ApiError> {
    let path = format!("/images/create?fromImage={}&tag={}", enc(name), enc(tag));
    post_body_streamed(remote().as_deref(), &path, None, on_line).await
}

/// `POST /images/{name}/push?tag=…` (operator) on peer `remote` (`None`: this agent):
/// pushes to the registry the name points at, with the same JSON-lines progress as a pull.
pub async fn push(
    remote: Option<&str>,
    name: &str,
    tag: &str,
    on_line: impl FnMut(&[u8]),
) -> Result<(), ApiError> {
    let path = format!("/images/{}/push?tag={}", enc(name), enc(tag));
    post_body_streamed(remote, &path, None, on_line).await
}

/// Where the browser downloads an image of peer `remote` (`None`: this agent) as a
/// `docker save` tar.
pub fn save_url(remote: Option<&str>, id: &str) -> String {
    routed(&format!("/images/{}/get", enc(id)), remote)
}

/// A POST to peer `remote` (`None`: this agent) with an optional body of the given type,
/// its JSON-lines answer read as it arrives.
async fn post_body_streamed(
    remote: Option<&str>,
    path: &str,
    body: Option<(JsValue, &str)>,
    mut on_line: impl FnMut(&[u8]),
) -> Result<(), ApiError> {
    let response = fetch_on(remote, "POST", path, body).await?;
    // One reader for every caller (a `dyn`: a copy per caller would grow the wasm).
    let on_line: &mut dyn FnMut(&[u8]) = &mut on_line;
    let status = response.status();
    if !(200..300).contains(&status) {
        return Err(classify(status, &text(&response).await?));
    }
    read_lines(&response, on_line).await
}

/// `POST /build?…` (operator) with a tar context: each line of the JSON-lines answer goes
/// to `on_line` as it arrives; a refusal before the build starts is the error.
pub async fn build(query: &str, tar: &[u8], on_line: impl FnMut(&[u8])) -> Result<(), ApiError> {
    let body = (js_sys::Uint8Array::from(tar).into(), "application/x-tar");
    let path = format!("/build?{query}");
    post_body_streamed(remote().as_deref(), &path, Some(body), on_line).await
}

async fn read_lines(response: &Response, on_line: &mut dyn FnMut(&[u8])) -> Result<(), ApiError> {
    let mut lines = LineBuffer::default();
    match response.body() {
        Some(body) => {
            let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
            loop {
                let chunk = JsFuture::from(reader.read()).await.map_err(net)?;
                let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
                    .map_err(net)?
                    .is_truthy();
                if done {
                    break;
                }
                let value =
                    js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).map_err(net)?;
                let bytes = js_sys::Uint8Array::new(&value).to_vec();
                for line in lines.push(&bytes) {
                    on_line(&line);
                }
            }
        }
        // No streaming body in this browser: the whole answer at the end.
        None => {
            for line in lines.push(text(response).await?.as_bytes()) {
                on_line(&line);
            }
        }
    }
    if let Some(rest) = lines.finish() {
        on_line(&rest);
    }
    Ok(())
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
    fn calls_are_routed_to_the_shown_host() {
        assert_eq!(routed("/containers/json", None), "/containers/json");
        assert_eq!(
            routed("/containers/json?all=1", Some("b")),
            "/berth/v1/hosts/b/docker/containers/json?all=1"
        );
        assert_eq!(
            routed("/berth/v1/layers", Some("b")),
            "/berth/v1/hosts/b/docker/berth/v1/layers"
        );
        for local in [
            "/berth/v1/hosts",
            "/berth/v1/tokens/x",
            "/berth/v1/logout",
            "/berth/v1/whoami",
        ] {
            assert_eq!(routed(local, Some("b")), local);
        }
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
