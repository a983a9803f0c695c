//! [`TokenIssuer`]: a token server for bearer-auth registry tests (the docker/distribution
//! token spec), that a [`crate::TestRegistry`] started with [`TokenIssuer::token_auth`] trusts.
//!
//! It signs ES256 JWTs with a P-256 key whose self-signed certificate is the registry's
//! `rootcertbundle`; each token's header carries that certificate in `x5c`, which is how
//! distribution 2.8 finds and checks the signing key. Claims: `iss`, `sub`, `aud` (the
//! service), `exp`, `nbf`, `iat`, `jti` and `access` (every action asked for, for the one
//! user). It answers:
//! - `GET /token?service=…&scope=…` with Basic credentials (the classic flow);
//! - `POST /token` with an OAuth2 form: `grant_type=refresh_token` with the identity token, or
//!   `grant_type=password` with `username`/`password`.
//!
//! Anything else (no or wrong credentials, another service) is a 401/400 with a
//! distribution-style error body. Every request to `/token` is counted.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::registry::TokenAuth;
use crate::tiny_http::{Handler, TinyServer, json_response};

/// The `service` the registry names in its challenges.
pub const SERVICE: &str = "berth-test-registry";
/// The `iss` of every token.
pub const ISSUER: &str = "berth-test-token-issuer";
/// How long tokens live (`exp` and `expires_in`).
pub const TOKEN_LIFETIME_SECS: u64 = 300;

struct State {
    user: String,
    password: String,
    identity_token: String,
    key: EcdsaKeyPair,
    cert_der: Vec<u8>,
    rng: SystemRandom,
    requests: AtomicUsize,
}

/// A running token issuer. Dropping it stops it and removes its certificate.
pub struct TokenIssuer {
    // Declared first: stopped before the state and files go.
    server: TinyServer,
    state: Arc<State>,
    dir: TempDir,
}

impl TokenIssuer {
    /// Starts an issuer that knows one user.
    pub fn start(user: &str, password: &str) -> Result<TokenIssuer> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("generating a P-256 key failed"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| anyhow::anyhow!("loading the P-256 key failed"))?;
        let cert_key =
            rcgen::KeyPair::try_from(pkcs8.as_ref()).context("loading the P-256 key into rcgen")?;
        let mut params = rcgen::CertificateParams::new(vec![ISSUER.to_owned()])
            .context("certificate parameters")?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Berth test token issuer");
        let cert = params
            .self_signed(&cert_key)
            .context("self-signing the issuer certificate")?;
        let dir = tempfile::Builder::new()
            .prefix("berth-token-issuer-")
            .tempdir()
            .context("creating the issuer temp dir")?;
        std::fs::write(dir.path().join("root.pem"), cert.pem())
            .context("writing the root certificate bundle")?;
        let mut identity = [0u8; 16];
        rng.fill(&mut identity)
            .map_err(|_| anyhow::anyhow!("no randomness"))?;
        let state = Arc::new(State {
            user: user.to_owned(),
            password: password.to_owned(),
            identity_token: format!("berth-identity-{}", hex::encode(identity)),
            key,
            cert_der: cert.der().to_vec(),
            rng,
            requests: AtomicUsize::new(0),
        });
        let handler_state = state.clone();
        let handler: Handler = Arc::new(move |request| {
            let state = handler_state.clone();
            Box::pin(async move { handle(&state, request) })
        });
        let server = TinyServer::start("token-issuer", handler)?;
        Ok(TokenIssuer { server, state, dir })
    }

    /// The realm URL (`http://127.0.0.1:PORT/token`).
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.addr())
    }

    /// The registry config that trusts this issuer.
    pub fn token_auth(&self) -> TokenAuth {
        TokenAuth {
            realm: self.realm(),
            service: SERVICE.to_owned(),
            issuer: ISSUER.to_owned(),
            root_cert_bundle: self.root_cert_bundle(),
        }
    }

    /// The PEM file with the issuer's certificate.
    pub fn root_cert_bundle(&self) -> PathBuf {
        self.dir.path().join("root.pem")
    }

    /// An identity (refresh) token the `refresh_token` grant accepts for the user.
    pub fn identity_token(&self) -> &str {
        &self.state.identity_token
    }

    /// How many requests reached `/token` so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

/// `name=value` pairs of a query string or form body.
fn pairs(encoded: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{encoded}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn handle(state: &State, request: Request<Bytes>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/token" {
        return error(404, "NOT_FOUND", "no such endpoint");
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let query = pairs(request.uri().query().unwrap_or(""));
    let (params, authenticated) = match *request.method() {
        Method::GET => {
            let basic = request
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b.trim()).ok())
                .and_then(|raw| String::from_utf8(raw).ok());
            let ok = basic.is_some_and(|pair| pair == format!("{}:{}", state.user, state.password));
            (query, ok)
        }
        Method::POST => {
            let form = pairs(&String::from_utf8_lossy(request.body()));
            let get = |name: &str| {
                form.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let ok = match get("grant_type").as_str() {
                "refresh_token" => get("refresh_token") == state.identity_token,
                "password" => get("username") == state.user && get("password") == state.password,
                _ => return error(400, "UNSUPPORTED", "unsupported grant_type"),
            };
            // The OAuth2 form has one space-separated `scope`.
            let mut params: Vec<(String, String)> =
                form.iter().filter(|(n, _)| n != "scope").cloned().collect();
            for scope in get("scope").split(' ').filter(|s| !s.is_empty()) {
                params.push(("scope".to_owned(), scope.to_owned()));
            }
            (params, ok)
        }
        _ => return error(405, "UNSUPPORTED", "method not allowed"),
    };
    if !authenticated {
        return error(401, "UNAUTHORIZED", "invalid username, password or token");
    }
    let service = params
        .iter()
        .find(|(n, _)| n == "service")
        .map(|(_, v)| v.as_str());
    if service != Some(SERVICE) {
        return error(400, "UNSUPPORTED", "unknown service");
    }
    let access: Vec<Value> = params
        .iter()
        .filter(|(n, _)| n == "scope")
        .filter_map(|(_, scope)| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            Some(json!({
                "type": kind,
                "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    match sign(state, &access) {
        Ok(token) => json_response(
            200,
            &json!({
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_LIFETIME_SECS,
            }),
        ),
        Err(err) => error(500, "UNKNOWN", &err.to_string()),
    }
}

/// An ES256 JWT for `access`, with the certificate in `x5c`.
fn sign(state: &State, access: &[Value]) -> Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut jti = [0u8; 16];
    state
        .rng
        .fill(&mut jti)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    let header = json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [STANDARD.encode(&state.cert_der)],
    });
    let claims = json!({
        "iss": ISSUER,
        "sub": state.user,
        "aud": SERVICE,
        "exp": now + TOKEN_LIFETIME_SECS,
        "nbf": now.saturating_sub(10),
        "iat": now,
        "jti": hex::encode(jti),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = state
        .key
        .sign(&state.rng, signing_input.as_bytes())
        .map_err(|_| anyhow::anyhow!("signing the token failed"))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}
