//! Docker's versioned paths: `/v1.43/info` is served as `/info` for every version from
//! `MIN_API_VERSION` to `MAX_API_VERSION`; each answer carries Docker's server headers.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::{API_VERSION, MAX_API_VERSION, MIN_API_VERSION};

/// `(major, minor)` of an API version string such as `1.43`.
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Splits `/v1.43/info` into `("1.43", "/info")`.
fn split_version(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v")?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let (version, tail) = rest.split_at(slash);
    parse_version(version)?;
    Some((version, if tail.is_empty() { "/" } else { tail }))
}

fn check_version(version: &str) -> Result<(), ApiError> {
    let wanted = parse_version(version);
    if wanted < parse_version(MIN_API_VERSION) {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if wanted > parse_version(MAX_API_VERSION) {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too new. Maximum supported API version is {MAX_API_VERSION}"
        )));
    }
    Ok(())
}

/// The API version the client asked for with its `/vX.Y` prefix (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestedVersion(pub (u32, u32));

pub async fn strip_version_prefix(mut request: Request, next: Next) -> Response {
    if let Some((version, tail)) = split_version(request.uri().path()) {
        if let Err(e) = check_version(version) {
            return with_server_headers(e.into_response());
        }
        let requested = parse_version(version).map(RequestedVersion);
        let rewritten = match request.uri().query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_string(),
        };
        if let Some(v) = requested {
            request.extensions_mut().insert(v);
        }
        match rewritten.parse::<Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => {
                return with_server_headers(ApiError::bad_request("invalid path").into_response());
            }
        }
    }
    with_server_headers(next.run(request).await)
}

fn with_server_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("api-version", HeaderValue::from_static(API_VERSION));
    headers.insert("docker-experimental", HeaderValue::from_static("false"));
    headers.insert("ostype", HeaderValue::from_static("linux"));
    headers.insert(
        "server",
        HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_checks() {
        assert_eq!(split_version("/v1.43/info"), Some(("1.43", "/info")));
        assert_eq!(split_version("/v1.24"), Some(("1.24", "/")));
        assert_eq!(split_version("/version"), None);
        assert_eq!(split_version("/vx.1/info"), None);
        assert!(check_version("1.24").is_ok());
        assert!(check_version("1.50").is_ok());
        assert!(check_version("1.12").is_err());
        assert!(check_version("1.51").is_err());
        assert!(check_version("2.0").is_err());
    }
}
