//! [`RegistryClient`]: requests with auth challenges and retries, and the pull side of the
//! distribution API (manifests, blobs, HEAD). The push side is in `upload.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderName,
    HeaderValue, LOCATION, RANGE, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};
use sha2::{Digest as _, Sha256};

use super::auth::{
    AuthCache, Challenge, Credentials, DEFAULT_TOKEN_LIFETIME, TokenResponse, parse_challenges,
    sensitive,
};
use super::blob::BlobStream;
use super::digest::{check_digest, format_digest, is_digest, sha256_digest, shorten};
use super::error::{RegistryError, from_response};
use super::manifest::{
    ACCEPTED_MANIFEST_TYPES, MAX_MANIFEST_SIZE, effective_media_type, normalize_media_type,
    refuse_schema1,
};
use super::repository::{Repository, check_reference, plain_http_allowed, scheme_for};

/// `Docker-Content-Digest`: the registry's word on a manifest's or blob's digest.
pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");

/// Attempts for an idempotent request that meets a connection error or a 5xx.
const MAX_ATTEMPTS: u32 = 3;
/// Wait before the first retry; each further retry waits four times longer.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How much of an error answer's body is read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How much of a token server's answer is read.
const MAX_TOKEN_BODY: usize = 1024 * 1024;
const MAX_REDIRECTS: usize = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection with no byte for this long is dead (no total timeout: blobs may be huge).
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// How uploads report progress while a request body is being sent.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `host[:port]` of registries that are reached over plain HTTP (besides loopback ones,
    /// which always are: Docker's rule). An entry without a port matches every port.
    pub insecure_registries: Vec<String>,
    pub user_agent: String,
    /// Blobs up to this size are uploaded in one `PUT`; bigger ones in `PATCH` chunks.
    pub monolithic_upload_max: u64,
    /// Size of each `PATCH` of a chunked upload (also the most an upload holds in memory).
    pub upload_chunk_size: u64,
    /// A TLS configuration of its own (e.g. another agent's pinned certificate): every
    /// registry is then reached over https with it, loopback ones too.
    pub tls: Option<rustls::ClientConfig>,
}

impl Default for RegistryConfig {
    fn default() -> RegistryConfig {
        RegistryConfig {
            insecure_registries: Vec::new(),
            user_agent: format!("berth/{}", env!("CARGO_PKG_VERSION")),
            monolithic_upload_max: 8 * 1024 * 1024,
            upload_chunk_size: 8 * 1024 * 1024,
            tls: None,
        }
    }
}

/// A manifest or index as fetched: its bytes, their sha256 (checked), its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The effective media type (the `Content-Type`, or the body's when that was generic).
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

/// A distribution-spec client. Cheap to clone; clones share connections and the auth cache.
#[derive(Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub config: RegistryConfig,
    pub auth: AuthCache,
    /// Serialises token fetches, so that concurrent requests of one pull share one token.
    pub token_lock: tokio::sync::Mutex<()>,
}

/// What a request needs to be allowed to do, which decides the token scope.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access<'a> {
    Pull,
    Push,
    /// Push to the repository and pull from `from` (cross-repository mount).
    Mount {
        from: &'a str,
    },
}

impl Access<'_> {
    fn scopes(&self, repo: &Repository) -> Vec<String> {
        match self {
            Access::Pull => vec![format!("repository:{}:pull", repo.path)],
            Access::Push => vec![format!("repository:{}:pull,push", repo.path)],
            Access::Mount { from } => vec![
                format!("repository:{}:pull,push", repo.path),
                format!("repository:{from}:pull"),
            ],
        }
    }
}

/// One request to send: everything needed to send it again after a 401 or a retry.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub repo: &'a Repository,
    pub access: Access<'a>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// Counts body bytes handed to the connection (uploads report progress from it).
    pub sent: Option<Arc<AtomicU64>>,
    /// For messages: `GET manifest a/b:latest`.
    pub what: String,
}

impl<'a> Call<'a> {
    pub fn new(
        method: Method,
        url: Url,
        repo: &'a Repository,
        access: Access<'a>,
        what: String,
    ) -> Call<'a> {
        Call {
            method,
            url,
            repo,
            access,
            headers: HeaderMap::new(),
            body: None,
            sent: None,
            what,
        }
    }

    fn idempotent(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

impl RegistryClient {
    pub fn new(config: RegistryConfig) -> Result<RegistryClient, RegistryError> {
        let insecure = config.insecure_registries.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            // Never from HTTPS down to plain HTTP, unless to a host where HTTP is allowed
            // anyway. (reqwest drops Authorization on a redirect to another host or port.)
            let downgrade = attempt.url().scheme() == "http"
                && attempt.previous().iter().any(|u| u.scheme() == "https")
                && !plain_http_allowed(attempt.url(), &insecure);
            if downgrade {
                return attempt.error("refusing a redirect from https to plain http");
            }
            attempt.follow()
        });
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = &config.tls {
            builder = builder.use_preconfigured_tls(tls.clone());
        }
        let http = builder
            .user_agent(config.user_agent.clone())
            .redirect(redirects)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .http1_only()
            .build()
            .map_err(|e| RegistryError::transport("building the HTTP client", &e))?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                config,
                auth: AuthCache::default(),
                token_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// `scheme://api-host/v2/<path>/<rest>` (`rest` is already checked by the caller).
    pub(crate) fn url(&self, repo: &Repository, rest: &str) -> Result<Url, RegistryError> {
        repo.validate()?;
        let host = repo.api_host();
        let scheme = match &self.inner.config.tls {
            Some(_) => "https",
            None => scheme_for(host, &self.inner.config.insecure_registries),
        };
        Url::parse(&format!("{scheme}://{host}/v2/{}/{rest}", repo.path))
            .map_err(|e| RegistryError::InvalidInput(format!("bad registry URL for {repo}: {e}")))
    }

    /// True when `url` is on the registry's own origin, so that credentials may go there.
    fn same_origin(&self, url: &Url, repo: &Repository) -> bool {
        match self.url(repo, "") {
            Ok(base) => {
                base.scheme() == url.scheme()
                    && base.host_str() == url.host_str()
                    && base.port_or_known_default() == url.port_or_known_default()
            }
            Err(_) => false,
        }
    }

    /// Sends `call`: with a cached `Authorization` when there is one; after a 401, answers the
    /// challenge and sends once more; retries idempotent requests on connection errors and
    /// 5xx. Returns the final answer, whatever its status (but 401s become errors).
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        credentials: &Credentials,
    ) -> Result<Response, RegistryError> {
        let registry = call.repo.api_host();
        let scope = call.access.scopes(call.repo).join(" ");
        let with_auth = self.same_origin(&call.url, call.repo);
        let mut authorization = if !with_auth {
            None
        } else if let Credentials::RegistryToken(token) = credentials {
            Some(sensitive(&format!("Bearer {token}"))?)
        } else {
            self.inner.auth.get(registry, &scope, credentials)
        };
        let mut answered_challenge = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.build(call, authorization.as_ref()).send().await;
            let response = match result {
                Err(err) if call.idempotent() && attempt < MAX_ATTEMPTS && retryable(&err) => {
                    tracing::debug!(what = %call.what, attempt, error = %err, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(err) => return Err(RegistryError::transport(&call.what, &err)),
                Ok(response) => response,
            };
            let status = response.status();
            if status.is_server_error() && call.idempotent() && attempt < MAX_ATTEMPTS {
                tracing::debug!(what = %call.what, attempt, %status, "retrying");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            if status != StatusCode::UNAUTHORIZED || !with_auth {
                return Ok(response);
            }
            if answered_challenge || matches!(credentials, Credentials::RegistryToken(_)) {
                if let Some(refused) = &authorization {
                    self.inner.auth.forget(registry, credentials, refused);
                }
                let body = read_capped(response, MAX_ERROR_BODY)
                    .await
                    .unwrap_or_default();
                let err = from_response(status, &body, &call.what);
                return Err(RegistryError::Unauthorized(format!(
                    "{err} (the registry refused the {})",
                    describe(credentials)
                )));
            }
            let challenges: Vec<Challenge> = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(parse_challenges)
                .collect();
            authorization = Some(
                self.answer_challenge(call, &challenges, credentials, authorization.as_ref())
                    .await?,
            );
            answered_challenge = true;
            // The challenge round is not a retry.
            attempt -= 1;
        }
    }

    fn build(
        &self,
        call: &Call<'_>,
        authorization: Option<&HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .headers(call.headers.clone());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        match (&call.body, &call.sent) {
            (Some(body), Some(sent)) => {
                sent.store(0, Ordering::Relaxed);
                request
                    .header(CONTENT_LENGTH, body.len())
                    .body(counting_body(body.clone(), sent.clone()))
            }
            (Some(body), None) => request.body(body.clone()),
            (None, _) if call.method == Method::PUT || call.method == Method::POST => {
                request.header(CONTENT_LENGTH, 0)
            }
            (None, _) => request,
        }
    }

    /// The `Authorization` value that answers a 401's challenges.
    async fn answer_challenge(
        &self,
        call: &Call<'_>,
        challenges: &[Challenge],
        credentials: &Credentials,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue, RegistryError> {
        let registry = call.repo.api_host();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let scopes = call.access.scopes(call.repo);
            let key = scopes.join(" ");
            let _guard = self.inner.token_lock.lock().await;
            if let Some(refused) = refused {
                self.inner.auth.forget(registry, credentials, refused);
            }
            // Another request may have fetched a token while this one waited.
            if let Some(cached) = self.inner.auth.get(registry, &key, credentials)
                && Some(&cached) != refused
            {
                return Ok(cached);
            }
            let (token, lifetime) = self
                .fetch_token(bearer, &scopes, call.repo, credentials)
                .await?;
            let value = sensitive(&format!("Bearer {token}"))?;
            self.inner
                .auth
                .put_token(registry, &key, credentials, value.clone(), lifetime);
            return Ok(value);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            let Some(value) = credentials.basic_header() else {
                return Err(RegistryError::Unauthorized(format!(
                    "{}: registry {registry} requires a login (Basic auth) and {} given",
                    call.what,
                    match credentials {
                        Credentials::Anonymous => "no credentials were".to_owned(),
                        other => format!("only an {} was", describe(other)),
                    }
                )));
            };
            if refused == Some(&value) {
                self.inner.auth.forget(registry, credentials, &value);
                return Err(RegistryError::Unauthorized(format!(
                    "{}: registry {registry} refused the password of user {:?}",
                    call.what,
                    credentials.username().unwrap_or_default()
                )));
            }
            self.inner
                .auth
                .put_basic(registry, credentials, value.clone());
            return Ok(value);
        }
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        if schemes.is_empty() {
            Err(RegistryError::Unauthorized(format!(
                "{}: registry {registry} answered 401 without a WWW-Authenticate challenge",
                call.what
            )))
        } else {
            Err(RegistryError::Unsupported(format!(
                "{}: registry {registry} asks for auth scheme(s) {} (only Basic and Bearer \
                 are supported)",
                call.what,
                schemes.join(", ")
            )))
        }
    }

    /// The token dance of a `Bearer` challenge: GET the realm (with Basic credentials when
    /// there are some), or POST it with `grant_type=refresh_token` for an identity token.
    async fn fetch_token(
        &self,
        challenge: &Challenge,
        scopes: &[String],
        repo: &Repository,
        credentials: &Credentials,
    ) -> Result<(String, Duration), RegistryError> {
        let registry = repo.api_host();
        let realm = challenge.param("realm").ok_or_else(|| {
            RegistryError::Unauthorized(format!(
                "registry {registry} sent a Bearer challenge without a realm"
            ))
        })?;
        let mut url = Url::parse(realm).map_err(|e| {
            RegistryError::Transport(format!(
                "registry {registry} sent an invalid token realm {:?}: {e}",
                shorten(realm)
            ))
        })?;
        let insecure = &self.inner.config.insecure_registries;
        match url.scheme() {
            "https" => {}
            "http" if plain_http_allowed(&url, insecure) => {}
            _ => {
                return Err(RegistryError::Unsupported(format!(
                    "registry {registry} sends us to token realm {} over plain HTTP or an \
                     unknown scheme; refusing to send credentials there (list it in \
                     insecure registries to allow it)",
                    shorten(realm)
                )));
            }
        }
        // Our scopes, plus any the registry asked for that we did not think of.
        let mut all_scopes: Vec<String> = scopes.to_vec();
        for extra in challenge.param("scope").unwrap_or("").split(' ') {
            if !extra.is_empty() && !all_scopes.iter().any(|s| s == extra) {
                all_scopes.push(extra.to_owned());
            }
        }
        let service = challenge.param("service");
        let server = url.host_str().unwrap_or("?").to_owned();
        let request = match credentials {
            Credentials::IdentityToken(token) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", token)
                    .append_pair("client_id", "berth")
                    .append_pair("scope", &all_scopes.join(" "));
                if let Some(service) = service {
                    form.append_pair("service", service);
                }
                self.inner
                    .http
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            _ => {
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    for scope in &all_scopes {
                        query.append_pair("scope", scope);
                    }
                    if let Some(user) = credentials.username() {
                        query.append_pair("account", user);
                    }
                }
                let request = self.inner.http.get(url);
                match credentials.basic_header() {
                    Some(basic) => request.header(AUTHORIZATION, basic),
                    None => request,
                }
            }
        };
        let response = request
            .send()
            .await
            .map_err(|e| RegistryError::transport(&format!("getting a token from {server}"), &e))?;
        let status = response.status();
        let body = read_capped(response, MAX_TOKEN_BODY).await?;
        if !status.is_success() {
            let err = from_response(status, &body, &format!("token server {server}"));
            let message = format!(
                "{err} (registry {registry}, asking for {} with the {})",
                all_scopes.join(" "),
                describe(credentials)
            );
            return Err(match status {
                StatusCode::UNAUTHORIZED => RegistryError::Unauthorized(message),
                StatusCode::FORBIDDEN => RegistryError::Denied(message),
                _ => match err {
                    RegistryError::Registry { status, .. } => {
                        RegistryError::Registry { status, message }
                    }
                    _ => RegistryError::Transport(message),
                },
            });
        }
        let answer: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            RegistryError::Transport(format!("token server {server} sent invalid JSON: {e}"))
        })?;
        let lifetime = answer
            .expires_in
            .filter(|s| *s > 0)
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        let token = answer.into_token().ok_or_else(|| {
            RegistryError::Transport(format!("token server {server} answered without a token"))
        })?;
        Ok((token, lifetime))
    }

    /// Fetches a manifest or index by tag or digest. The bytes' sha256 must match a digest
    /// reference and the `Docker-Content-Digest` header when there is one; at most 4 MiB.
    /// Schema 1 and non-manifest media types are refused.
    pub async fn fetch_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        auth: &Credentials,
    ) -> Result<FetchedManifest, RegistryError> {
        check_reference(reference)?;
        let url = self.url(repo, &format!("manifests/{reference}"))?;
        let what = format!("GET manifest {repo}{}", at(reference));
        let mut call = Call::new(Method::GET, url, repo, Access::Pull, what.clone());
        call.headers.insert(
            ACCEPT,
            HeaderValue::from_str(&ACCEPTED_MANIFEST_TYPES.join(", "))
                .expect("static media types are valid header values"),
        );
        let response = self.send(&call, auth).await?;
        let response = error_for_status(response, &what).await?;
        if let Some(length) = response.content_length()
            && length > MAX_MANIFEST_SIZE as u64
        {
            return Err(RegistryError::InvalidManifest(format!(
                "{what}: manifest is {length} bytes, more than the {MAX_MANIFEST_SIZE} allowed"
            )));
        }
        let header_digest = header_str(response.headers(), &DOCKER_CONTENT_DIGEST);
        let content_type = header_str(response.headers(), &CONTENT_TYPE)
            .map(|ct| normalize_media_type(&ct))
            .unwrap_or_default();
        let bytes = read_capped(response, MAX_MANIFEST_SIZE + 1).await?;
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(RegistryError::InvalidManifest(format!(
                "{what}: manifest is more than the {MAX_MANIFEST_SIZE} bytes allowed"
            )));
        }
        refuse_schema1(&content_type, &bytes)?;
        let digest = sha256_digest(&bytes);
        if is_digest(reference) && digest != reference {
            return Err(RegistryError::DigestMismatch {
                expected: reference.to_owned(),
                actual: digest,
            });
        }
        if let Some(announced) = header_digest.filter(|d| d.starts_with("sha256:"))
            && announced != digest
        {
            return Err(RegistryError::DigestMismatch {
                expected: announced,
                actual: digest,
            });
        }
        let media_type = effective_media_type(&content_type, &bytes).map_err(|e| match e {
            RegistryError::InvalidManifest(m) => {
                RegistryError::InvalidManifest(format!("{what}: {m}"))
            }
            other => other,
        })?;
        Ok(FetchedManifest {
            media_type,
            digest,
            bytes: bytes.to_vec(),
        })
    }

    /// Streams a blob from byte `offset` (a `Range` request when > 0; a registry that ignores
    /// `Range` and sends the whole blob is handled by skipping). Redirects are followed
    /// without the `Authorization` header when they leave the registry's host. The stream
    /// checks the sha256 at its end whenever it saw the blob from byte 0 (see [`BlobStream`]).
    pub async fn fetch_blob(
        &self,
        repo: &Repository,
        digest: &str,
        offset: u64,
        auth: &Credentials,
    ) -> Result<BlobStream, RegistryError> {
        check_digest(digest, RegistryError::InvalidInput)?;
        let url = self.url(repo, &format!("blobs/{digest}"))?;
        let what = format!("GET blob {digest} from {repo}");
        let mut call = Call::new(Method::GET, url, repo, Access::Pull, what.clone());
        if offset > 0 {
            call.headers.insert(
                RANGE,
                HeaderValue::from_str(&format!("bytes={offset}-")).expect("digits are valid"),
            );
        }
        let response = self.send(&call, auth).await?;
        match response.status() {
            StatusCode::OK => {
                let total = response.content_length();
                let body = Box::pin(response.bytes_stream());
                Ok(BlobStream::new(body, digest, offset, offset, total, true))
            }
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                let range = header_str(response.headers(), &CONTENT_RANGE).unwrap_or_default();
                let (start, total) = parse_content_range(&range).ok_or_else(|| {
                    RegistryError::Transport(format!(
                        "{what}: 206 answer with a bad Content-Range {:?}",
                        shorten(&range)
                    ))
                })?;
                if start != offset {
                    return Err(RegistryError::Transport(format!(
                        "{what}: asked for bytes from {offset}, the registry sent from {start}"
                    )));
                }
                let body = Box::pin(response.bytes_stream());
                Ok(BlobStream::new(body, digest, offset, 0, total, false))
            }
            StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                // `bytes */<size>`: when we already have all of it, the rest is empty.
                let range = header_str(response.headers(), &CONTENT_RANGE).unwrap_or_default();
                let size = range
                    .strip_prefix("bytes */")
                    .and_then(|s| s.trim().parse::<u64>().ok());
                if size == Some(offset) {
                    let body = Box::pin(futures_util::stream::empty());
                    return Ok(BlobStream::new(body, digest, offset, 0, size, false));
                }
                Err(RegistryError::InvalidInput(format!(
                    "{what}: offset {offset} is beyond the blob's size ({})",
                    size.map_or("unknown".to_owned(), |s| s.to_string())
                )))
            }
            _ => Err(error_for_status(response, &what)
                .await
                .err()
                .unwrap_or_else(|| RegistryError::Transport(format!("{what}: unexpected answer")))),
        }
    }

    /// `HEAD` of a blob: its size if the repository has it, `None` if not.
    pub async fn blob_size(
        &self,
        repo: &Repository,
        digest: &str,
        auth: &Credentials,
    ) -> Result<Option<u64>, RegistryError> {
        check_digest(digest, RegistryError::InvalidInput)?;
        let url = self.url(repo, &format!("blobs/{digest}"))?;
        let what = format!("HEAD blob {digest} in {repo}");
        let call = Call::new(Method::HEAD, url, repo, Access::Pull, what.clone());
        let response = self.send(&call, auth).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                // Not `response.content_length()`: for HEAD that is the (empty) body's size.
                let length = header_str(response.headers(), &CONTENT_LENGTH)
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        RegistryError::Transport(format!("{what}: answer without Content-Length"))
                    })?;
                Ok(Some(length))
            }
            status => Err(from_response(status, &[], &what)),
        }
    }

    /// Cross-repository mount of `digest` from repository `from` (same registry). `Ok(true)`
    /// when mounted (201); `Ok(false)` when the registry started an upload instead (202),
    /// which is cancelled.
    pub async fn mount_blob(
        &self,
        repo: &Repository,
        digest: &str,
        from: &str,
        auth: &Credentials,
    ) -> Result<bool, RegistryError> {
        check_digest(digest, RegistryError::InvalidInput)?;
        Repository::new(repo.registry.clone(), from).validate()?;
        let mut url = self.url(repo, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let what = format!("mount blob {digest} from {from} into {repo}");
        let call = Call::new(
            Method::POST,
            url,
            repo,
            Access::Mount { from },
            what.clone(),
        );
        let response = self.send(&call, auth).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(location) = location(&response, &call.url, &what) {
                    self.cancel_upload(repo, location, auth).await;
                }
                Ok(false)
            }
            _ => Err(error_for_status(response, &what)
                .await
                .err()
                .unwrap_or_else(|| RegistryError::Transport(format!("{what}: unexpected answer")))),
        }
    }

    /// Best-effort `DELETE` of an upload session we will not finish.
    pub(crate) async fn cancel_upload(&self, repo: &Repository, url: Url, auth: &Credentials) {
        let what = format!("cancel upload to {repo}");
        let call = Call::new(Method::DELETE, url, repo, Access::Push, what);
        if let Err(err) = self.send(&call, auth).await {
            tracing::debug!(error = %err, "cancelling an upload failed");
        }
    }

    /// Uploads a manifest or index under a tag or its digest; returns its digest. The media
    /// type must be one of the four manifest types and agree with the body's `mediaType`.
    pub async fn put_manifest(
        &self,
        repo: &Repository,
        tag_or_digest: &str,
        media_type: &str,
        bytes: &[u8],
        auth: &Credentials,
    ) -> Result<String, RegistryError> {
        check_reference(tag_or_digest)?;
        let normalized = normalize_media_type(media_type);
        if !ACCEPTED_MANIFEST_TYPES.contains(&normalized.as_str()) {
            return Err(RegistryError::InvalidInput(format!(
                "cannot push a manifest of media type {:?}",
                shorten(media_type)
            )));
        }
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(RegistryError::InvalidManifest(format!(
                "manifest is {} bytes, more than the {MAX_MANIFEST_SIZE} allowed",
                bytes.len()
            )));
        }
        effective_media_type(&normalized, bytes)?;
        let digest = sha256_digest(bytes);
        if is_digest(tag_or_digest) && tag_or_digest != digest {
            return Err(RegistryError::DigestMismatch {
                expected: tag_or_digest.to_owned(),
                actual: digest,
            });
        }
        let url = self.url(repo, &format!("manifests/{tag_or_digest}"))?;
        let what = format!("PUT manifest {repo}{}", at(tag_or_digest));
        let mut call = Call::new(Method::PUT, url, repo, Access::Push, what.clone());
        call.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&normalized).map_err(|_| {
                RegistryError::InvalidInput("media type is not a valid header value".to_owned())
            })?,
        );
        call.body = Some(Bytes::copy_from_slice(bytes));
        let response = self.send(&call, auth).await?;
        let response = error_for_status(response, &what).await?;
        if let Some(stored) = header_str(response.headers(), &DOCKER_CONTENT_DIGEST)
            && stored.starts_with("sha256:")
            && stored != digest
        {
            return Err(RegistryError::DigestMismatch {
                expected: digest,
                actual: stored,
            });
        }
        Ok(digest)
    }
}

/// `:tag` or `@sha256:…`, for messages.
fn at(reference: &str) -> String {
    if is_digest(reference) {
        format!("@{reference}")
    } else {
        format!(":{reference}")
    }
}

/// How credentials are described in messages (never their secrets).
fn describe(credentials: &Credentials) -> String {
    match credentials {
        Credentials::Anonymous => "anonymous access".to_owned(),
        Credentials::Basic { username, .. } => format!("password of user {username:?}"),
        Credentials::IdentityToken(_) => "identity token".to_owned(),
        Credentials::RegistryToken(_) => "registry token".to_owned(),
    }
}

fn retryable(err: &reqwest::Error) -> bool {
    err.is_connect() || err.is_timeout() || err.is_request()
}

fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF * 4u32.saturating_pow(attempt.saturating_sub(1))
}

/// A request body that counts the bytes handed to the connection, in 64 KiB pieces.
fn counting_body(body: Bytes, sent: Arc<AtomicU64>) -> reqwest::Body {
    const PIECE: usize = 64 * 1024;
    let pieces: Vec<Bytes> = (0..body.len())
        .step_by(PIECE)
        .map(|start| body.slice(start..(start + PIECE).min(body.len())))
        .collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces.into_iter().map(
        move |piece| {
            sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(piece)
        },
    )))
}

/// A header as a string, if present and valid.
pub(crate) fn header_str(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `Location` of an answer, resolved against the request URL.
pub(crate) fn location(response: &Response, base: &Url, what: &str) -> Result<Url, RegistryError> {
    let value = header_str(response.headers(), &LOCATION).ok_or_else(|| {
        RegistryError::Transport(format!("{what}: answer without a Location header"))
    })?;
    base.join(&value).map_err(|e| {
        RegistryError::Transport(format!("{what}: bad Location {:?}: {e}", shorten(&value)))
    })
}

/// The response itself when successful, else its error (body read, capped).
pub(crate) async fn error_for_status(
    response: Response,
    what: &str,
) -> Result<Response, RegistryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = read_capped(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    Err(from_response(status, &body, what))
}

/// Reads a body, stopping after `cap` bytes (so the caller can tell "more than allowed").
pub(crate) async fn read_capped(response: Response, cap: usize) -> Result<Bytes, RegistryError> {
    let url = response.url().clone();
    let mut stream = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| RegistryError::transport(&format!("reading {url}"), &e))?;
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= cap {
            break;
        }
    }
    Ok(Bytes::from(out))
}

/// `bytes <start>-<end>/<total or *>` → (start, total).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok().filter(|t| *t > end)?),
    };
    Some((start, total))
}

/// sha256 of a finished hasher, as a digest string.
pub(crate) fn finish_digest(hasher: Sha256) -> String {
    format_digest(hasher.finalize().as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((10, None)));
        assert_eq!(parse_content_range("bytes 10-99/50"), None);
        assert_eq!(parse_content_range("bytes 10-5/50"), None);
        assert_eq!(parse_content_range("10-99/100"), None);
    }

    #[test]
    fn scopes_per_access() {
        let repo = Repository::new("r", "a/b");
        assert_eq!(Access::Pull.scopes(&repo), ["repository:a/b:pull"]);
        assert_eq!(Access::Push.scopes(&repo), ["repository:a/b:pull,push"]);
        assert_eq!(
            Access::Mount { from: "c" }.scopes(&repo),
            ["repository:a/b:pull,push", "repository:c:pull"]
        );
    }

    #[test]
    fn backoff_grows() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(800));
    }
}
