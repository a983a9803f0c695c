//! `/v2/`: this agent's images, read-only, over the distribution API — so another agent
//! (or any registry client) pulls them straight from here, behind the same credentials as
//! the rest of the API. A pull grant (what an image copy hands out) reads only its one
//! image. Writes are not served (`auth::policy` refuses them to viewers and grants; the
//! router answers 405 to everyone else).

use super::state::AppState;
use crate::auth::{Caller, Via};
use crate::image::ImageError;
use crate::store::digest::Digest;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::io::SeekFrom;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// Bytes read from a blob file at a time.
const CHUNK: usize = 256 * 1024;

/// A distribution-spec error answer.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"errors": [{"code": code, "message": message.into()}]});
    with_version((status, axum::Json(body)).into_response())
}

fn with_version(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    response
}

/// `GET /v2/`: the API version check.
pub async fn base() -> Response {
    with_version(axum::Json(json!({})).into_response())
}

/// What a `/v2/<name>/…` path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Manifest { name: &'a str, reference: &'a str },
    Blob { name: &'a str, digest: &'a str },
}

fn parse_target(path: &str) -> Option<Target<'_>> {
    let rest = path.strip_prefix("/v2/")?;
    if let Some(at) = rest.rfind("/manifests/") {
        let (name, reference) = (&rest[..at], &rest[at + "/manifests/".len()..]);
        return (valid_name(name) && valid_reference(reference))
            .then_some(Target::Manifest { name, reference });
    }
    let at = rest.rfind("/blobs/")?;
    let (name, digest) = (&rest[..at], &rest[at + "/blobs/".len()..]);
    (valid_name(name) && Digest::parse(digest).is_ok()).then_some(Target::Blob { name, digest })
}

/// Repository names: `/`-separated lowercase components (the distribution grammar, loosely).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// A tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) or a digest.
fn valid_reference(reference: &str) -> bool {
    if reference.starts_with("sha256:") {
        return Digest::parse(reference).is_ok();
    }
    !reference.is_empty()
        && reference.len() <= 128
        && reference
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `GET|HEAD /v2/<name>/manifests/<reference>` and `/v2/<name>/blobs/<digest>`.
pub async fn serve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_string();
    let Some(target) = parse_target(&path) else {
        return error(
            StatusCode::NOT_FOUND,
            "NAME_INVALID",
            format!("no such path {path}"),
        );
    };
    let images = state.engine.images.clone();
    let grant = match &caller.via {
        Via::PullGrant(grant) => Some(grant.clone()),
        _ => None,
    };
    let name = match &target {
        Target::Manifest { name, .. } | Target::Blob { name, .. } => *name,
    };
    if let Some(grant) = &grant
        && grant.repository != name
    {
        return error(
            StatusCode::FORBIDDEN,
            "DENIED",
            "this pull grant is for another repository",
        );
    }
    let owned_path = path.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Located, ImageError> {
        let target =
            parse_target(&owned_path).ok_or_else(|| ImageError::NotFound(owned_path.clone()))?;
        match target {
            Target::Manifest { name, reference } => {
                let image = images.image_for_manifest(name, reference)?;
                if grant.as_ref().is_some_and(|g| g.image_id != image.id) {
                    return Err(ImageError::NotFound(format!("{name}:{reference}")));
                }
                Ok(Located::Manifest(images.served_manifest(&image)?))
            }
            Target::Blob { digest, .. } => {
                let allowed = match &grant {
                    Some(g) => images
                        .resolve(&g.image_id)
                        .and_then(|image| images.served_blobs(&image))?
                        .contains(digest),
                    None => images.serves_blob(digest)?,
                };
                if !allowed {
                    return Err(ImageError::NotFound(format!("blob {digest}")));
                }
                let parsed =
                    Digest::parse(digest).map_err(|e| ImageError::BadInput(e.to_string()))?;
                Ok(Located::Blob(
                    digest.to_string(),
                    images.store().blobs.path(&parsed),
                ))
            }
        }
    })
    .await;
    let located = match result {
        Ok(Ok(located)) => located,
        Ok(Err(ImageError::NotFound(what))) => {
            let code = if path.contains("/manifests/") {
                "MANIFEST_UNKNOWN"
            } else {
                "BLOB_UNKNOWN"
            };
            return error(StatusCode::NOT_FOUND, code, format!("{what} is not here"));
        }
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", e.to_string()),
    };
    match located {
        Located::Manifest(m) => {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&m.media_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&m.digest) {
                headers.insert(CONTENT_DIGEST, v);
            }
            with_version((headers, m.bytes).into_response())
        }
        Located::Blob(digest, file) => blob(&digest, &file, request.headers()).await,
    }
}

enum Located {
    Manifest(crate::image::distribution::ServedManifest),
    Blob(String, std::path::PathBuf),
}

/// A blob's bytes, from the offset a `Range: bytes=N-` asks for.
async fn blob(digest: &str, path: &std::path::Path, request: &HeaderMap) -> Response {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::NOT_FOUND,
                "BLOB_UNKNOWN",
                format!("{digest}: {e}"),
            );
        }
    };
    let size = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", e.to_string()),
    };
    let start = match request
        .get(header::RANGE)
        .map(|r| parse_range(r.to_str().unwrap_or("")))
    {
        None => None,
        Some(Some(start)) if start < size => Some(start),
        Some(_) => {
            let mut response = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_INVALID",
                "bad range",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return response;
        }
    };
    let offset = start.unwrap_or(0);
    if offset > 0 && file.seek(SeekFrom::Start(offset)).await.is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "seek failed");
    }
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size - offset));
    if let Ok(v) = HeaderValue::from_str(digest) {
        headers.insert(CONTENT_DIGEST, v);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if start.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {offset}-{}/{size}", size - 1)) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    with_version(response)
}

/// `bytes=N-` (all the registry client asks for) → N.
fn parse_range(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes=")?;
    let (start, end) = rest.split_once('-')?;
    if !end.trim().is_empty() {
        return None;
    }
    start.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_parsed_strictly() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse_target("/v2/library/busybox/manifests/latest"),
            Some(Target::Manifest {
                name: "library/busybox",
                reference: "latest"
            })
        );
        assert_eq!(
            parse_target(&format!("/v2/a/blobs/{digest}")),
            Some(Target::Blob {
                name: "a",
                digest: &digest
            })
        );
        for bad in [
            "/v2/../etc/manifests/latest",
            "/v2/A/manifests/latest",
            "/v2//manifests/latest",
            "/v2/a/manifests/",
            "/v2/a/manifests/-x",
            "/v2/a/blobs/sha256:xyz",
            "/v2/a/tags/list",
            "/v2/a/blobs/uploads/",
        ] {
            assert_eq!(parse_target(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=10-"), Some(10));
        assert_eq!(parse_range("bytes=10-20"), None);
        assert_eq!(parse_range("items=1-"), None);
    }
}
