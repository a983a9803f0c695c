//! Registry authentication: credentials (and Docker's `X-Registry-Auth` header), the
//! `WWW-Authenticate` challenges of a 401, the token dance of a `Bearer` challenge, and the
//! cache of the `Authorization` values that worked.
//!
//! What is covered:
//! - `Basic realm=…`: the request is sent again with the Basic credentials.
//! - `Bearer realm=…,service=…,scope=…` (the docker/distribution token spec): with Basic
//!   credentials or none, `GET realm?service=…&scope=…&account=…` (Basic auth when given);
//!   with an identity token, the OAuth2 form `POST realm` with `grant_type=refresh_token`.
//!   The answer's `token` or `access_token` is used, for `expires_in` seconds (default 60).
//! - A registry token (`registrytoken` in `X-Registry-Auth`) is sent as `Bearer` as is.
//!
//! Cached values are keyed by registry, scope and a hash of the credentials, so that two
//! callers of one agent with different logins never share a token.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::RegistryError;

/// Who we are to a registry. `Debug` never shows secrets.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// A refresh token from a previous login (Docker's `identitytoken`), traded for access
    /// tokens with the OAuth2 `refresh_token` grant.
    IdentityToken(String),
    /// A bearer token for the registry itself (Docker's `registrytoken`), sent as is.
    RegistryToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Credentials::RegistryToken(_) => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

impl Credentials {
    /// A stable, secret-free key for caches: sha256 over the kind and the secrets.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        match self {
            Credentials::Anonymous => hasher.update(b"anonymous"),
            Credentials::Basic { username, password } => {
                hasher.update(b"basic\0");
                hasher.update(username.as_bytes());
                hasher.update(b"\0");
                hasher.update(password.as_bytes());
            }
            Credentials::IdentityToken(token) => {
                hasher.update(b"identity\0");
                hasher.update(token.as_bytes());
            }
            Credentials::RegistryToken(token) => {
                hasher.update(b"registry\0");
                hasher.update(token.as_bytes());
            }
        }
        hasher.finalize().into()
    }

    /// `Basic base64(user:password)`, when these are Basic credentials.
    pub(crate) fn basic_header(&self) -> Option<HeaderValue> {
        match self {
            Credentials::Basic { username, password } => {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                sensitive(&format!("Basic {encoded}")).ok()
            }
            _ => None,
        }
    }

    /// The user name, for messages and the token request's `account`.
    pub(crate) fn username(&self) -> Option<&str> {
        match self {
            Credentials::Basic { username, .. } => Some(username),
            _ => None,
        }
    }
}

/// Docker's `X-Registry-Auth` body.
#[derive(Deserialize, Default)]
struct AuthConfig {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// Legacy: base64 of `user:password`.
    #[serde(default)]
    auth: String,
    #[serde(default, rename = "identitytoken")]
    identity_token: String,
    #[serde(default, rename = "registrytoken")]
    registry_token: String,
}

/// Upper bound on an `X-Registry-Auth` value (Docker's are a few hundred bytes).
const MAX_AUTH_HEADER: usize = 64 * 1024;

/// Decodes Docker's `X-Registry-Auth` header: base64url of the JSON
/// `{"username","password","serveraddress","identitytoken","registrytoken"}`. Standard base64
/// and missing padding are tolerated; empty, `e30=` (`{}`) and all-empty fields mean anonymous.
/// A registry token wins over an identity token, which wins over a password (as in Docker).
pub fn credentials_from_header(value: &str) -> Result<Credentials, RegistryError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Credentials::Anonymous);
    }
    if value.len() > MAX_AUTH_HEADER {
        return Err(RegistryError::InvalidInput(
            "X-Registry-Auth header is too large".to_owned(),
        ));
    }
    let json = decode_base64_lenient(value).ok_or_else(|| {
        RegistryError::InvalidInput("X-Registry-Auth header is not valid base64".to_owned())
    })?;
    let config: AuthConfig = serde_json::from_slice(&json).map_err(|e| {
        // Only the position: serde's message can quote a value (a numeric password, say).
        RegistryError::InvalidInput(format!(
            "X-Registry-Auth header is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if !config.registry_token.is_empty() {
        return Ok(Credentials::RegistryToken(config.registry_token));
    }
    if !config.identity_token.is_empty() {
        return Ok(Credentials::IdentityToken(config.identity_token));
    }
    let (mut username, mut password) = (config.username, config.password);
    if username.is_empty() && password.is_empty() && !config.auth.is_empty() {
        let decoded = decode_base64_lenient(&config.auth)
            .and_then(|raw| String::from_utf8(raw).ok())
            .ok_or_else(|| {
                RegistryError::InvalidInput(
                    "X-Registry-Auth `auth` field is not base64 of user:password".to_owned(),
                )
            })?;
        let (user, pass) = decoded.split_once(':').ok_or_else(|| {
            RegistryError::InvalidInput(
                "X-Registry-Auth `auth` field is not base64 of user:password".to_owned(),
            )
        })?;
        (username, password) = (user.to_owned(), pass.to_owned());
    }
    if username.is_empty() && password.is_empty() {
        return Ok(Credentials::Anonymous);
    }
    if username.is_empty() {
        return Err(RegistryError::InvalidInput(
            "X-Registry-Auth has a password but no username".to_owned(),
        ));
    }
    Ok(Credentials::Basic { username, password })
}

/// Base64 in either alphabet, with or without padding.
fn decode_base64_lenient(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = value.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Lower-cased scheme: `basic`, `bearer`, …
    pub scheme: String,
    /// Parameters with lower-cased names, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value (RFC 7235): one or more challenges, each a scheme and
/// comma-separated `name=value` parameters whose values may be quoted strings with commas and
/// backslash escapes inside. A `token68` after the scheme is skipped. Malformed trailing
/// parts end the parse without failing what was read before them.
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut parser = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        parser.skip_ws_and_commas();
        let Some(scheme) = parser.token() else { break };
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        loop {
            parser.skip_ws_and_commas();
            let save = parser.i;
            let Some(name) = parser.token() else { break };
            parser.skip_ws();
            if !parser.eat(b'=') {
                // Either the next challenge's scheme or a token68; rewind for the outer loop
                // unless it is a token68 (followed by `=` padding only, handled by token()).
                parser.i = save;
                break;
            }
            parser.skip_ws();
            let value = if parser.peek() == Some(b'"') {
                parser.quoted()
            } else {
                parser.token().map(str::to_owned)
            };
            match value {
                Some(value) => challenge.params.push((name.to_ascii_lowercase(), value)),
                None => {
                    // A token68 like `abc==`: what looked like a name was the token, skip it.
                    while parser.eat(b'=') {}
                }
            }
        }
        out.push(challenge);
        if parser.i >= parser.s.len() {
            break;
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    /// An RFC 7230 `token` (also accepts the token68 characters `/` and `+`, harmlessly).
    fn token(&mut self) -> Option<&'a str> {
        let s: &'a [u8] = self.s;
        let start = self.i;
        while let Some(b) = self.peek() {
            let ok = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b);
            if !ok {
                break;
            }
            self.i += 1;
        }
        (self.i > start)
            .then(|| std::str::from_utf8(&s[start..self.i]).ok())
            .flatten()
    }

    /// A quoted string starting at `"`; unescapes `\x`. An unterminated string takes the rest.
    fn quoted(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).ok()
    }
}

/// A header value marked sensitive (hidden from `Debug` and from HPACK tables).
pub(crate) fn sensitive(value: &str) -> Result<HeaderValue, RegistryError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        RegistryError::Transport("credentials or token contain invalid header characters".into())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The token endpoint's answer (distribution token spec and OAuth2).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token (`token` preferred, as Docker does), if any.
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))
    }
}

/// Lifetime of a token whose answer has no `expires_in` (the token spec's default).
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Tokens are dropped from the cache this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);
/// Basic credentials that worked are remembered this long per registry.
const BASIC_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    registry: String,
    /// The scope string (`repository:a:pull repository:b:pull`); empty for Basic, which
    /// holds for the whole registry.
    scope: String,
    principal: [u8; 32],
}

struct CacheEntry {
    value: HeaderValue,
    expires: Instant,
}

/// `Authorization` values that worked, per (registry, scope, credentials).
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<CacheKey, CacheEntry>>,
}

impl AuthCache {
    fn key(registry: &str, scope: &str, credentials: &Credentials) -> CacheKey {
        CacheKey {
            registry: registry.to_owned(),
            scope: scope.to_owned(),
            principal: credentials.fingerprint(),
        }
    }

    /// The cached value for this scope, else a registry-wide (Basic) one.
    pub fn get(
        &self,
        registry: &str,
        scope: &str,
        credentials: &Credentials,
    ) -> Option<HeaderValue> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        entries.retain(|_, e| e.expires > now);
        entries
            .get(&Self::key(registry, scope, credentials))
            .or_else(|| entries.get(&Self::key(registry, "", credentials)))
            .map(|e| e.value.clone())
    }

    /// Remembers a bearer token for `lifetime` (less a small margin).
    pub fn put_token(
        &self,
        registry: &str,
        scope: &str,
        credentials: &Credentials,
        value: HeaderValue,
        lifetime: Duration,
    ) {
        let keep = lifetime
            .saturating_sub(EXPIRY_MARGIN)
            .max(lifetime / 2)
            .max(Duration::from_secs(1));
        self.insert(Self::key(registry, scope, credentials), value, keep);
    }

    /// Remembers that this registry takes Basic auth with these credentials.
    pub fn put_basic(&self, registry: &str, credentials: &Credentials, value: HeaderValue) {
        self.insert(Self::key(registry, "", credentials), value, BASIC_LIFETIME);
    }

    /// Forgets `value` wherever it is cached for this registry and credentials (it was
    /// refused: expired or revoked).
    pub fn forget(&self, registry: &str, credentials: &Credentials, value: &HeaderValue) {
        let principal = credentials.fingerprint();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|k, e| {
            !(k.registry == registry && k.principal == principal && e.value == value)
        });
    }

    fn insert(&self, key: CacheKey, value: HeaderValue, keep: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            key,
            CacheEntry {
                value,
                expires: Instant::now() + keep,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64url(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(s)
    }

    #[test]
    fn x_registry_auth_anonymous_forms() {
        for value in [
            "",
            "e30=",
            "e30",
            "  e30=  ",
            &b64url(r#"{"username":"","password":""}"#),
        ] {
            assert_eq!(
                credentials_from_header(value).expect(value),
                Credentials::Anonymous,
                "{value:?}"
            );
        }
        let with_server = b64url(r#"{"serveraddress":"https://index.docker.io/v1/"}"#);
        assert_eq!(
            credentials_from_header(&with_server).expect("parse"),
            Credentials::Anonymous
        );
    }

    #[test]
    fn x_registry_auth_basic_in_both_alphabets_with_and_without_padding() {
        // Chosen so that the encoding contains `-`/`_` (url-safe) vs `+`/`/` (standard).
        let json = r#"{"username":"ü>>>?","password":"p~~~?>","serveraddress":"r:5000"}"#;
        let expected = Credentials::Basic {
            username: "ü>>>?".to_owned(),
            password: "p~~~?>".to_owned(),
        };
        let url = base64::engine::general_purpose::URL_SAFE.encode(json);
        let std = base64::engine::general_purpose::STANDARD.encode(json);
        assert_ne!(url, std, "the test string must differ between alphabets");
        for value in [
            url.clone(),
            url.trim_end_matches('=').to_owned(),
            std.clone(),
            std.trim_end_matches('=').to_owned(),
        ] {
            assert_eq!(credentials_from_header(&value).expect(&value), expected);
        }
    }

    #[test]
    fn x_registry_auth_tokens_and_legacy_auth_field() {
        let identity = b64url(r#"{"username":"u","password":"","identitytoken":"refresh-1"}"#);
        assert_eq!(
            credentials_from_header(&identity).expect("identity"),
            Credentials::IdentityToken("refresh-1".to_owned())
        );
        let registry = b64url(r#"{"registrytoken":"tok","identitytoken":"x"}"#);
        assert_eq!(
            credentials_from_header(&registry).expect("registry"),
            Credentials::RegistryToken("tok".to_owned())
        );
        let legacy = b64url(&format!(
            r#"{{"auth":"{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode("bob:s:cret")
        ));
        assert_eq!(
            credentials_from_header(&legacy).expect("legacy"),
            Credentials::Basic {
                username: "bob".to_owned(),
                password: "s:cret".to_owned()
            }
        );
    }

    #[test]
    fn x_registry_auth_rejects_garbage_without_echoing_it() {
        for value in [
            "!!!not base64!!!",
            &b64url("not json"),
            &b64url(r#"{"password":"hunter2"}"#),
            &b64url(r#"{"username":"u","password":2222}"#),
        ] {
            let err = credentials_from_header(value).expect_err(value);
            assert!(matches!(err, RegistryError::InvalidInput(_)), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(!err.to_string().contains("2222"), "{err}");
        }
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = Credentials::Basic {
            username: "alice".into(),
            password: "hunter2".into(),
        };
        let shown = format!(
            "{c:?} {:?} {:?}",
            Credentials::IdentityToken("idtok".into()),
            Credentials::RegistryToken("regtok".into())
        );
        assert!(shown.contains("alice"));
        for secret in ["hunter2", "idtok", "regtok"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn challenge_bearer_with_quoted_commas() {
        let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:samalba/my-app:pull,push",error="insufficient_scope""#;
        let challenges = parse_challenges(header);
        assert_eq!(challenges.len(), 1);
        let c = &challenges[0];
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("registry.example"));
        assert_eq!(
            c.param("scope"),
            Some("repository:samalba/my-app:pull,push")
        );
        assert_eq!(c.param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn challenge_several_schemes_spaces_escapes_and_tokens() {
        let header = r#"Basic realm="a \"quoted\" realm, with comma" , BEARER Realm = "https://t/x" ,service=svc,  scope="repository:a:pull,push repository:b:pull""#;
        let challenges = parse_challenges(header);
        assert_eq!(challenges.len(), 2, "{challenges:?}");
        assert_eq!(challenges[0].scheme, "basic");
        assert_eq!(
            challenges[0].param("realm"),
            Some(r#"a "quoted" realm, with comma"#)
        );
        assert_eq!(challenges[1].scheme, "bearer");
        assert_eq!(challenges[1].param("realm"), Some("https://t/x"));
        assert_eq!(challenges[1].param("service"), Some("svc"));
        assert_eq!(
            challenges[1].param("scope"),
            Some("repository:a:pull,push repository:b:pull")
        );
    }

    #[test]
    fn challenge_bare_scheme_token68_and_garbage() {
        assert_eq!(
            parse_challenges("Basic"),
            vec![Challenge {
                scheme: "basic".into(),
                params: vec![]
            }]
        );
        let c = parse_challenges("Negotiate abc123==, Basic realm=x");
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].scheme, "negotiate");
        assert_eq!(c[1].param("realm"), Some("x"));
        // Unterminated quote: keep what was read.
        let c = parse_challenges(r#"Bearer realm="https://t/x"#);
        assert_eq!(c[0].param("realm"), Some("https://t/x"));
        assert!(parse_challenges("").is_empty());
        assert!(parse_challenges(" , ,").is_empty());
    }

    #[test]
    fn cache_is_per_scope_and_credentials_and_forgets_refused_values() {
        let cache = AuthCache::default();
        let alice = Credentials::Basic {
            username: "alice".into(),
            password: "a".into(),
        };
        let v = HeaderValue::from_static("Bearer t1");
        cache.put_token(
            "r",
            "repository:x:pull",
            &alice,
            v.clone(),
            DEFAULT_TOKEN_LIFETIME,
        );
        assert_eq!(cache.get("r", "repository:x:pull", &alice), Some(v.clone()));
        assert_eq!(cache.get("r", "repository:y:pull", &alice), None);
        assert_eq!(
            cache.get("r", "repository:x:pull", &Credentials::Anonymous),
            None
        );
        assert_eq!(cache.get("r2", "repository:x:pull", &alice), None);
        cache.forget("r", &alice, &v);
        assert_eq!(cache.get("r", "repository:x:pull", &alice), None);
        let basic = HeaderValue::from_static("Basic x");
        cache.put_basic("r", &alice, basic.clone());
        assert_eq!(cache.get("r", "repository:z:push", &alice), Some(basic));
    }
}
