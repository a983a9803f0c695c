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

/// Routes under this prefix manage credentials and peers.
const ADMIN_PREFIXES: &[&str] = &["/berth/v1/tokens", "/berth/v1/login-url", "/berth/v1/peers"];

/// Reads a caller may make with any role even though they are not GET.
/// Reads that hand out a container's files (they may hold secrets): operators only.
const FILE_READ_SUFFIXES: &[&str] = &["/export", "/archive"];

const ANY_ROLE_POSTS: &[&str] = &["/berth/v1/logout"];

/// Reads that act: the console WebSocket (a GET upgrade) runs a shell in the container.
const ACTING_READS: (&str, &str) = ("/berth/v1/containers/", "/console");

pub fn need(method: &Method, path: &str, is_static_asset: bool) -> Need {
    let is_read = method == Method::GET || method == Method::HEAD;
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
    let acts = path.starts_with(ACTING_READS.0) && path.ends_with(ACTING_READS.1);
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
            need(&Method::GET, "/berth/v1/containers/web/changes", false),
            Need::Role(Role::Viewer)
        );
        assert_eq!(
            need(&Method::POST, "/web.js", true),
            Need::Role(Role::Operator)
        );
    }
}
