//! Credentials and roles over TCP, against the real agent: no credential → 401, a viewer
//! cannot act (403), an admin can; revoked tokens stop working at once; the dashboard's
//! one-time link and token login give an HttpOnly SameSite=Strict session cookie.

use berth_tests::TestAgent;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn message(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
        .to_string()
}

fn agent() -> TestAgent {
    berth_tests::require_root().expect("root");
    TestAgent::start().expect("start the agent")
}

#[tokio::test]
async fn tcp_without_a_credential_is_401_like_docker() {
    let agent = agent();
    for path in ["/_ping", "/v1.43/info", "/berth/v1/host", "/no/such/route"] {
        let r = agent.http().get(agent.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(message(r).await.contains("authentication required"));
    }
    let bad = agent
        .request_as("berth_0000", Method::GET, "/_ping")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let basic = agent
        .http()
        .get(agent.url("/_ping"))
        .basic_auth("admin", Some(agent.admin_token()))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    // The dashboard's page itself is public: it holds no data and shows the login form.
    let page = agent.http().get(agent.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn viewers_read_operators_act_admins_manage() {
    let agent = agent();
    let viewer = agent.create_token("viewer").unwrap();
    let operator = agent.create_token("operator").unwrap();

    let read = agent
        .request_as(&viewer, Method::GET, "/v1.43/info")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // Any state-changing call is refused to a viewer, even on routes that do not exist yet.
    for (method, path) in [
        (Method::POST, "/v1.43/containers/create"),
        (Method::DELETE, "/images/busybox"),
        (Method::POST, "/berth/v1/tokens"),
    ] {
        let r = agent
            .request_as(&viewer, method.clone(), path)
            .json(&json!({"role": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert!(message(r).await.contains("viewer"));
    }
    // Operators act, but tokens are an admin's.
    let r = agent
        .request_as(&operator, Method::GET, "/berth/v1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let created = agent
        .request(Method::POST, "/berth/v1/tokens")
        .json(&json!({"role": "viewer", "name": "wall screen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let listed: Vec<Value> = agent
        .get("/berth/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.iter().any(|t| t["id"] == created["id"]));
    assert!(
        listed.iter().all(|t| t.get("token").is_none()),
        "secrets are never listed"
    );
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let agent = agent();
    let token = agent.create_named_token("operator", "ci bot").unwrap();
    let ok = agent
        .request_as(&token, Method::GET, "/_ping")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let listed = agent.cli(&["token", "list"]).unwrap();
    let listing = String::from_utf8_lossy(&listed.stdout).to_string();
    let id = listing
        .lines()
        .find(|l| l.contains("ci bot"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("token not listed:\n{listing}"))
        .to_string();
    // Revoked by the CLI while the agent runs: the agent sees the change.
    let revoked = agent.cli(&["token", "revoke", &id]).unwrap();
    assert!(revoked.status.success());
    let after = agent
        .request_as(&token, Method::GET, "/_ping")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    // Revoking over the API, then again: 404 with Docker's error body.
    let again = agent
        .request(Method::DELETE, &format!("/berth/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(message(again).await.contains("no such token"));
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get(SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn the_one_time_login_link_works_once() {
    let agent = agent();
    let link = agent.login_url().expect("a login link").to_string();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let first = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()[LOCATION], "/");
    let cookie = session_cookie(&first);

    let who: Value = no_redirects
        .get(agent.url("/berth/v1/whoami"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["role"], "admin");

    let second = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert!(second.headers().get(SET_COOKIE).is_none());
    assert_ne!(second.headers()[LOCATION], "/");

    // `berth token login-url` makes a fresh link beside the running agent.
    let fresh = agent.cli(&["token", "login-url"]).unwrap();
    let fresh = String::from_utf8_lossy(&fresh.stdout).trim().to_string();
    assert!(fresh.starts_with(&agent.base_url()), "{fresh}");
    let third = no_redirects.get(&fresh).send().await.unwrap();
    assert_eq!(third.headers()[LOCATION], "/");
}

#[tokio::test]
async fn a_token_login_gives_a_session_with_that_role() {
    let agent = agent();
    let viewer = agent.create_token("viewer").unwrap();
    let bad = agent
        .http()
        .post(agent.url("/berth/v1/login"))
        .json(&json!({"token": "berth_wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let login = agent
        .http()
        .post(agent.url("/berth/v1/login"))
        .json(&json!({"token": viewer}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = session_cookie(&login);
    let who: Value = login.json().await.unwrap();
    assert_eq!(who["role"], "viewer");

    let host = agent
        .http()
        .get(agent.url("/berth/v1/host"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(host.status(), StatusCode::OK);
    let act = agent
        .http()
        .post(agent.url("/v1.43/containers/create"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(act.status(), StatusCode::FORBIDDEN);

    let logout = agent
        .http()
        .post(agent.url("/berth/v1/logout"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = agent
        .http()
        .get(agent.url("/berth/v1/whoami"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_writes_from_a_foreign_origin_are_refused() {
    let agent = agent();
    let admin = agent.admin_token().to_string();
    let login = agent
        .http()
        .post(agent.url("/berth/v1/login"))
        .json(&json!({"token": admin}))
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&login);
    let foreign = agent
        .http()
        .post(agent.url("/berth/v1/tokens"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "http://evil.example")
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(message(foreign).await.contains("cross-origin"));
    let same = agent
        .http()
        .post(agent.url("/berth/v1/tokens"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, agent.base_url())
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::CREATED);
}
