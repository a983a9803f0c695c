//! Smoke test of the harness against the real agent: it starts, answers `/_ping` on the unix
//! socket without credentials, and on TCP only with a token.

use berth_tests::TestAgent;
use reqwest::StatusCode;

#[tokio::test]
async fn agent_answers_ping_on_socket_and_tcp() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("start the agent");

    let unix = agent
        .unix_get("/_ping")
        .await
        .expect("GET /_ping on the socket");
    assert_eq!(unix.status, 200, "{}", unix.text());
    assert_eq!(unix.text(), "OK");

    let with_token = agent.get("/_ping").send().await.expect("GET /_ping on TCP");
    assert_eq!(with_token.status(), StatusCode::OK);

    let without = agent
        .http()
        .get(agent.url("/_ping"))
        .send()
        .await
        .expect("GET /_ping on TCP without a token");
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = without.json().await.expect("JSON error body");
    assert!(body["message"].is_string(), "{body}");

    assert!(
        agent
            .login_url()
            .is_some_and(|u| u.starts_with(&agent.base_url())),
        "login URL {:?}",
        agent.login_url()
    );
}
