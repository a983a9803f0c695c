//! Which role a request needs. One table for the whole API, so a new route cannot
//! forget its check: anything not listed as public needs a credential, anything that
//! is not a read needs `operator`, and the credential/peer routes need `admin`.

use axum::http::Method;
use shared::auth::Role;

/// What a request needs before it reaches a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// No credential: the dashboard's static files and the login exchange itself.
    Public,
    Role(Role),
}

/// Routes under this prefix manage credentials.
const ADMIN_PREFIXES: &[&str] = &["/berth/v1/tokens", "/berth/v1/login-url"];

/// The host list; adding and removing peers is for admins.
const HOSTS: &str = "/berth/v1/hosts";
/// `/berth/v1/hosts/{name}/docker/{path}`: the proxy to a peer.
const PROXY_PREFIX: &str = "/berth/v1/hosts/";
const PROXY_INFIX: &str = "/docker";

/// `/berth/v1/hosts/{name}/docker/{rest}` → (`name`, `/{rest}`).
pub fn split_proxy_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(PROXY_PREFIX)?;
    let slash = rest.find('/')?;
    let (name, tail) = rest.split_at(slash);
    let tail = tail.strip_prefix(PROXY_INFIX)?;
    if !tail.starts_with('/') || name.is_empty() {
        return None;
    }
    Some((name, tail))
}

/// `/v1.43/containers/json` → `/containers/json` (Docker's version prefixes).
fn strip_api_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    let is_version = version.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && (a.to_string() + b).bytes().all(|c| c.is_ascii_digit())
    });
    match (is_version, &rest[end..]) {
        (true, "") => "/",
        (true, tail) => tail,
        (false, _) => path,
    }
}

/// Reads a caller may make with any role even though they are not GET.
/// Reads that hand out a container's files (they may hold secrets): operators only.
const FILE_READ_SUFFIXES: &[&str] = &["/export", "/archive"];

const ANY_ROLE_POSTS: &[&str] = &["/berth/v1/logout"];

/// Reads that act, as (prefix, suffix): the console WebSocket (a GET upgrade) runs a shell in
/// the container; the port check binds the host port for a moment to see whether it is free
/// (it serves the Run dialog, an operator's form).
const ACTING_READS: &[(&str, &str)] = &[
    ("/berth/v1/containers/", "/console"),
    ("/berth/v1/ports/check", ""),
];

pub fn need(method: &Method, path: &str, is_static_asset: bool) -> Need {
    let is_read = method == Method::GET || method == Method::HEAD;
    if let Some((_, inner)) = split_proxy_path(path) {
        // Through the proxy, the inner request needs what it would need here; and at
        // least a credential, since it travels with the peer's token.
        return match need(method, strip_api_version(inner), false) {
            Need::Public => Need::Role(Role::Viewer),
            role => role,
        };
    }
    if path == HOSTS || path.starts_with(PROXY_PREFIX) {
        return Need::Role(if is_read { Role::Viewer } else { Role::Admin });
    }
    if is_read && (is_static_asset || path == "/" || path == "/login") {
        return Need::Public;
    }
    if method == Method::POST && path == "/berth/v1/login" {
        return Need::Public;
    }
    if ADMIN_PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
    {
        return Need::Role(Role::Admin);
    }
    let reads_files =
        path.starts_with("/containers/") && FILE_READ_SUFFIXES.iter().any(|s| path.ends_with(s));
    let acts = ACTING_READS
        .iter()
        .any(|(prefix, suffix)| path.starts_with(prefix) && path.ends_with(suffix));
    if (is_read && !reads_files && !acts)
        || (method == Method::POST && ANY_ROLE_POSTS.contains(&path))
    {
        return Need::Role(Role::Viewer);
    }
    Need::Role(Role::Operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(need(&Method::GET, "/web.js", true), Need::Public);
        assert_eq!(need(&Method::GET, "/", false), Need::Public);
        assert_eq!(
            need(&Method::GET, "/_ping", false),
            Need::Role(Role::Viewer)
        );
        assert_eq!(
            need(&Method::POST, "/containers/create", false),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(&Method::DELETE, "/images/busybox", false),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(&Method::GET, "/berth/v1/tokens", false),
            Need::Role(Role::Admin)
        );
        assert_eq!(
            need(&Method::DELETE, "/berth/v1/tokens/abc", false),
            Need::Role(Role::Admin)
        );
        assert_eq!(
            need(&Method::GET, "/berth/v1/tokensx", false),
            Need::Role(Role::Viewer)
        );
        assert_eq!(
            need(&Method::POST, "/berth/v1/logout", false),
            Need::Role(Role::Viewer)
        );
        assert_eq!(need(&Method::POST, "/berth/v1/login", false), Need::Public);
        assert_eq!(
            need(&Method::GET, "/berth/v1/containers/web/console", false),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(&Method::GET, "/berth/v1/ports/check", false),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(&Method::GET, "/berth/v1/containers/web/changes", false),
            Need::Role(Role::Viewer)
        );
        assert_eq!(
            need(&Method::POST, "/web.js", true),
            Need::Role(Role::Operator)
        );
    }

    #[test]
    fn hosts_and_the_proxy() {
        let viewer = Need::Role(Role::Viewer);
        let operator = Need::Role(Role::Operator);
        let admin = Need::Role(Role::Admin);
        assert_eq!(need(&Method::GET, "/berth/v1/hosts", false), viewer);
        assert_eq!(need(&Method::POST, "/berth/v1/hosts", false), admin);
        assert_eq!(need(&Method::DELETE, "/berth/v1/hosts/b", false), admin);
        let through =
            |m: Method, inner: &str| need(&m, &format!("/berth/v1/hosts/b/docker{inner}"), false);
        assert_eq!(through(Method::GET, "/v1.43/containers/json"), viewer);
        assert_eq!(through(Method::POST, "/v1.43/containers/x/start"), operator);
        assert_eq!(through(Method::POST, "/containers/create"), operator);
        assert_eq!(through(Method::GET, "/containers/x/export"), operator);
        assert_eq!(
            through(Method::GET, "/v1.43/containers/x/archive"),
            operator
        );
        assert_eq!(through(Method::GET, "/berth/v1/tokens"), admin);
        assert_eq!(through(Method::POST, "/berth/v1/login"), viewer);
        assert_eq!(through(Method::GET, "/"), viewer);
        assert_eq!(
            through(Method::POST, "/berth/v1/hosts/c/docker/containers/x/kill"),
            operator
        );
        assert_eq!(
            split_proxy_path("/berth/v1/hosts/b/docker/_ping"),
            Some(("b", "/_ping"))
        );
        assert_eq!(split_proxy_path("/berth/v1/hosts/b/docker"), None);
        assert_eq!(split_proxy_path("/berth/v1/hosts/b/dockerx/y"), None);
        assert_eq!(split_proxy_path("/berth/v1/hosts//docker/x"), None);
        assert_eq!(strip_api_version("/v1.43"), "/");
        assert_eq!(strip_api_version("/v2/x"), "/v2/x");
        assert_eq!(strip_api_version("/vx.y/z"), "/vx.y/z");
    }
}
