//! Image copy host to host without a registry.
//!
//! `POST /berth/v1/images/{name}/copy?to=<host>` on the agent that has the image: it issues
//! a pull grant for that one image (read-only, short-lived) and asks the peer, through its
//! own link to it, to `POST /berth/v1/images/fetch` — pull from this agent's `/v2/` with the
//! grant, this agent's URL and its pinned certificate — then streams the peer's pull progress
//! back. The peer's ordinary puller fetches only the layers it lacks.

use crate::api::error::{ApiError, ApiResult};
use crate::api::progress;
use crate::api::state::AppState;
use crate::image::ImageError;
use crate::image::reference::Reference;
use crate::peers::registry::{is_loopback, normalize_url};
use crate::peers::trust::{self, Trust};
use crate::registry::{Credentials, RegistryClient, RegistryConfig};
use crate::util::fingerprint::Fingerprint;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use shared::hosts::FetchImageRequest;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The repository an image is served under when its name gives none.
const UNNAMED_REPOSITORY: &str = "berth/image";

/// `POST /berth/v1/images/{name}/copy?to=<host>`.
pub async fn copy(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let name = rest
        .strip_suffix("/copy")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::not_found("page not found"))?;
    let to = query
        .get("to")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("say which host to copy to: ?to=<host>"))?;
    let engine = state.engine.clone();
    let client = engine.peers.client(to)?;
    let source = &engine.reachable().peer_url;
    if url_is_loopback(source) && !url_is_loopback(client.base_url()) {
        return Err(ApiError::bad_request(format!(
            "this agent advertises {source}, which {to} ({}) cannot reach; start it with \
             --advertise-url set to an address {to} can reach",
            client.base_url()
        )));
    }
    let images = engine.images.clone();
    let input = name.to_string();
    let (image, target, manifest) = tokio::task::spawn_blocking(move || {
        let image = images.resolve(&input)?;
        let target = target_name(&images, &input, &image.id)?;
        let manifest = images.served_manifest(&image)?;
        Ok::<_, ImageError>((image, target, manifest))
    })
    .await
    .map_err(|e| ApiError::internal(format!("copy task: {e}")))??;
    let repository = target
        .as_ref()
        .map(|r| r.path.clone())
        .filter(|p| crate::api::registry::valid_name(p))
        .unwrap_or_else(|| UNNAMED_REPOSITORY.to_string());
    let token = engine
        .pull_grants
        .issue(&image.id, &repository)
        .map_err(|e| ApiError::internal(format!("issue a pull grant: {e}")))?;
    let reachable = engine.reachable();
    let request = FetchImageRequest {
        source: reachable.peer_url.clone(),
        fingerprint: reachable.tls_fingerprint.map(|f| f.to_string()),
        token,
        repository,
        digest: manifest.digest,
        name: target.as_ref().and_then(Reference::tagged_name),
    };
    let body = serde_json::to_vec(&request).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let answer = client
        .send(
            Method::POST,
            "/berth/v1/images/fetch",
            headers,
            Body::from(body),
        )
        .await?;
    engine.events.publish(
        "image",
        "copy",
        &image.id,
        BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("to".to_string(), to.clone()),
        ]),
    );
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let mut response = Response::new(Body::new(answer.into_body()));
    *response.status_mut() = status;
    if let Some(v) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(response)
}

/// Whether a `scheme://host:port` URL names a loopback host.
fn url_is_loopback(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(is_loopback))
        .unwrap_or(false)
}

/// The name the copy carries: the one asked for when it is one of the image's tags, else
/// the image's first tag, else none.
fn target_name(
    images: &crate::image::Images,
    input: &str,
    image_id: &str,
) -> Result<Option<Reference>, ImageError> {
    let tags = images.tags_by_image()?.remove(image_id).unwrap_or_default();
    if let Ok(asked) = Reference::parse(input)
        && let Some(tagged) = asked.tagged_name()
        && tags.contains(&tagged)
    {
        return Ok(Some(asked));
    }
    Ok(tags.first().and_then(|t| Reference::parse(t).ok()))
}

/// `POST /berth/v1/images/fetch`: pull one image from another agent, streamed like a pull.
pub async fn fetch(
    State(state): State<AppState>,
    Json(request): Json<FetchImageRequest>,
) -> ApiResult<Response> {
    let source = normalize_url(&request.source)
        .map_err(|e| ApiError::bad_request(format!("source: {e}")))?;
    let https = source.starts_with("https://");
    let pin = request
        .fingerprint
        .as_deref()
        .map(Fingerprint::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("fingerprint: {e}")))?;
    let refusal = trust::Refusal::default();
    let tls = match (https, pin) {
        (true, Some(pin)) => Some(trust::client_config(&Trust::Pinned(pin), &refusal)?),
        (true, None) => {
            return Err(ApiError::bad_request(
                "an https source needs its certificate's fingerprint",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::bad_request(
                "a fingerprint only applies to an https source",
            ));
        }
        (false, None) => None,
    };
    if !request.digest.starts_with("sha256:") {
        return Err(ApiError::bad_request("digest must be sha256:…"));
    }
    let host = source
        .split_once("://")
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    let reference =
        Reference::parse_bare(&format!("{host}/{}@{}", request.repository, request.digest))
            .map_err(|e| ApiError::bad_request(format!("repository or digest: {e}")))?;
    let store_as = match &request.name {
        Some(name) => {
            Reference::parse(name).map_err(|e| ApiError::bad_request(format!("name: {e}")))?
        }
        None => reference.clone(),
    };
    let registry = RegistryClient::new(RegistryConfig {
        tls,
        ..RegistryConfig::default()
    })
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let credentials = Credentials::RegistryToken(request.token.clone());
    let engine = state.engine.clone();
    let prepared = match engine
        .images
        .prepare_pull(&registry, reference, credentials)
        .await
    {
        Ok(prepared) => prepared.store_as(store_as),
        Err(ImageError::Registry {
            status: 401 | 403,
            message,
        }) => {
            return Err(ApiError::forbidden(format!(
                "the source refused the pull: {message}"
            )));
        }
        Err(e) => match refusal.take() {
            Some(why) => return Err(ApiError::new(StatusCode::BAD_GATEWAY, why)),
            None => return Err(e.into()),
        },
    };
    let (progress, response) = progress::channel();
    let registry = Arc::new(registry);
    tokio::spawn(async move {
        let sink: crate::image::progress::ProgressSink = {
            let progress = progress.clone();
            Arc::new(move |line| progress.send(line))
        };
        if let Err(e) = engine.images.run_pull(&registry, prepared, sink).await {
            tracing::warn!("fetch from another agent failed: {e}");
            progress.error(&e.to_string());
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        assert!(url_is_loopback("http://127.0.0.1:7070"));
        assert!(url_is_loopback("https://[::1]:7070"));
        assert!(url_is_loopback("https://localhost:7070"));
        assert!(!url_is_loopback("https://10.0.0.2:7070"));
        assert!(!url_is_loopback("not a url"));
    }
}
