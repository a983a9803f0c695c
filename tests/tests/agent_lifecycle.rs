//! Starting and stopping the agent: root only, one agent per data root, loopback unless
//! told otherwise, the first admin token kept private, clean shutdown, restart.

use berth_tests::TestAgent;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};

fn agent() -> TestAgent {
    berth_tests::require_root().expect("root");
    TestAgent::start().expect("start the agent")
}

#[test]
fn a_second_agent_on_the_same_root_is_refused() {
    let agent = agent();
    let other_socket = agent.temp_dir().join("second.sock");
    let out = agent
        .cli(&[
            "serve",
            "--socket",
            other_socket.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another berth agent") && stderr.contains("already running"),
        "{stderr}"
    );
    assert!(!other_socket.exists());
}

#[test]
fn a_socket_in_use_by_another_agent_is_not_stolen() {
    let agent = agent();
    let root = agent.temp_dir().join("other-root");
    let out = agent
        .cli(&[
            "serve",
            "--root",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another running agent"),
        "{stderr}"
    );
}

#[test]
fn refuses_to_run_without_root_or_on_a_public_address() {
    let agent = agent();
    let bin = berth_tests::agent::berth_bin().unwrap();
    let root = agent.temp_dir().join("unprivileged");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["serve", "--root"])
        .arg(&root)
        .output()
        .expect("run setpriv (util-linux)");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must run as root"), "{stderr}");

    let public = agent
        .cli(&[
            "serve",
            "--root",
            agent.temp_dir().join("public").to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ])
        .unwrap();
    assert!(!public.status.success());
    assert!(String::from_utf8_lossy(&public.stderr).contains("without TLS"));
}

#[test]
fn the_admin_token_and_socket_are_private() {
    let agent = agent();
    let token_file = agent.root().join("auth/admin.token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let auth_dir = std::fs::metadata(agent.root().join("auth")).unwrap();
    assert_eq!(auth_dir.permissions().mode() & 0o777, 0o700);
    let socket = std::fs::metadata(agent.socket()).unwrap();
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.permissions().mode() & 0o777, 0o660);
    let tokens = std::fs::read_to_string(agent.root().join("auth/tokens.json")).unwrap();
    assert!(!tokens.contains(agent.admin_token()));
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_tokens_survive_a_restart() {
    let mut agent = agent();
    let viewer = agent.create_token("viewer").unwrap();
    let status = agent.stop().unwrap();
    assert!(status.success(), "{status}");
    assert!(!agent.socket().exists(), "the socket is removed on exit");
    agent.restart().unwrap();
    let r = agent
        .request_as(&viewer, reqwest::Method::GET, "/_ping")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    // Killed without warning, it restarts on the same root (the lock died with it).
    agent.kill_hard().unwrap();
    agent.restart().unwrap();
    // A fresh client: the pooled connection died with the killed agent.
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(agent.url("/_ping"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}
