//! The dashboard's files (index.html, web.js, web_bg.wasm, …), built by `agent/build.rs`
//! and embedded into the binary. Public: they are the same for everyone and hold no data.

use super::error::route_not_found;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$OUT_DIR/dist"]
struct Assets;

fn asset_name(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// Whether `path` names an embedded file.
pub fn exists(path: &str) -> bool {
    let name = asset_name(path);
    !name.is_empty() && Assets::get(name).is_some()
}

/// The dashboard's page.
pub fn index() -> Response {
    serve("index.html", &HeaderMap::new())
}

/// `GET /`.
pub async fn root(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// Every path no route claims: an embedded file, or Docker's 404.
pub async fn fallback(uri: Uri, headers: HeaderMap) -> Response {
    if exists(uri.path()) {
        serve(asset_name(uri.path()), &headers)
    } else {
        route_not_found().await.into_response()
    }
}

fn serve(name: &str, request_headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(name) else {
        return (StatusCode::NOT_FOUND, "dashboard not built").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if let Ok(tag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, tag);
    }
    // File names are not content-hashed, so browsers revalidate (cheap with the ETag).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
