//! TLS between agents: `berth serve --tls` makes and keeps a self-signed certificate and
//! prints its fingerprint; adding an https peer returns the presented fingerprint for the
//! admin to confirm (nothing is stored, no token sent); the pinned peer works through the
//! proxy; a peer that presents another certificate is refused with a clear error; a given
//! CA works instead of a pin; a non-loopback --listen needs TLS; an image copy from a TLS
//! agent pins its certificate too.

use berth_tests::TestAgent;
use berth_tests::peers::{add_peer, host, post_host, via, wait_for_state};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn an_https_peer_is_pinned_on_first_contact_and_refused_with_another_certificate() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let mut b = TestAgent::start_with_args(&["--tls"]).unwrap();
    assert!(b.base_url().starts_with("https://"));
    let printed = b.printed_fingerprint().expect("B prints its fingerprint");
    assert!(
        b.stdout_log()
            .contains("self-signed TLS certificate written to")
    );
    let ping = b.get("/_ping").send().await.unwrap();
    assert_eq!(
        ping.text().await.unwrap(),
        "OK",
        "B serves https with that certificate"
    );
    let login = b
        .http()
        .post(b.url("/berth/v1/login"))
        .json(&json!({"token": b.admin_token()}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure"),
        "over TLS the session cookie is Secure: {cookie}"
    );

    // First contact: the presented fingerprint comes back; nothing is stored.
    let ask = json!({"name": "b", "url": b.base_url(), "token": b.admin_token()});
    let (status, answer) = post_host(&a, ask.clone()).await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["fingerprint"], printed.as_str());
    assert!(
        answer["message"].as_str().unwrap().contains(&printed),
        "{answer}"
    );
    assert!(
        host(&a, "b").await.is_err(),
        "not added before confirmation"
    );

    let mut wrong = ask.clone();
    wrong["fingerprint"] = json!(format!("{}00", &printed[..printed.len() - 2]));
    let (status, answer) = post_host(&a, wrong).await.unwrap();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{status}"
    );
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("not the pinned"),
        "{answer}"
    );
    assert!(host(&a, "b").await.is_err());

    let mut confirmed = ask.clone();
    confirmed["fingerprint"] = json!(printed);
    let (status, answer) = post_host(&a, confirmed).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["fingerprint"], printed.as_str());
    wait_for_state(&a, "b", "up").await.unwrap();
    let ping = a.get(&via("b", "/_ping")).send().await.unwrap();
    assert_eq!(ping.text().await.unwrap(), "OK");

    // B restarts with the same certificate: still trusted.
    b.restart().unwrap();
    assert_eq!(b.printed_fingerprint().as_deref(), Some(printed.as_str()));
    wait_for_state(&a, "b", "up").await.unwrap();

    // B comes back with another certificate: refused, with a clear error.
    b.stop().unwrap();
    std::fs::remove_dir_all(b.root().join("auth/tls")).unwrap();
    b.restart().unwrap();
    assert_ne!(b.printed_fingerprint().as_deref(), Some(printed.as_str()));
    // (While B restarts, the error may first be a refused connection.)
    let refused_pin = async {
        loop {
            let entry = host(&a, "b").await.unwrap();
            let error = entry["error"].as_str().unwrap_or_default().to_string();
            if entry["state"] == "unreachable" && error.contains("not the pinned") {
                return error;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let error = tokio::time::timeout(berth_tests::peers::STATE_GUARD, refused_pin)
        .await
        .expect("A refuses B's new certificate");
    assert!(error.contains(&printed), "{error}");
    let refused = a.get(&via("b", "/_ping")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
    assert!(refused.text().await.unwrap().contains("not the pinned"));
}

/// A CA of the test's own, and a certificate for 127.0.0.1 it signs.
fn ca_and_leaf(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Berth test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let cert = dir.join("leaf.pem");
    let key = dir.join("leaf.key");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (ca_cert.pem(), cert, key)
}

#[tokio::test]
async fn a_peer_with_a_certificate_from_a_given_ca() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let (ca, cert, key) = ca_and_leaf(a.temp_dir());
    let b = TestAgent::start_with_args(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .unwrap();
    assert!(
        !b.root().join("auth/tls").exists(),
        "no self-signed certificate is made"
    );
    let body = json!({"name": "b", "url": b.base_url(), "token": b.admin_token(), "ca": ca});
    let (status, answer) = post_host(&a, body).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    wait_for_state(&a, "b", "up").await.unwrap();
    let version: Value = a
        .get(&via("b", "/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["ApiVersion"], "1.43");

    // A CA that did not sign B's certificate is refused.
    let other = a.temp_dir().join("other-ca");
    std::fs::create_dir_all(&other).unwrap();
    let (other_ca, _, _) = ca_and_leaf(&other);
    let body = json!({"name": "b2", "url": b.base_url(), "token": b.admin_token(), "ca": other_ca});
    let (status, answer) = post_host(&a, body).await.unwrap();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("certificate"),
        "{answer}"
    );
    let body = json!({"name": "b3", "url": b.base_url(), "token": b.admin_token(), "ca": "junk"});
    let (status, answer) = post_host(&a, body).await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

#[test]
fn a_non_loopback_listen_needs_tls() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().unwrap();
    // 192.0.2.1 (TEST-NET-1) is no address of this host: the TLS start gets past the rule
    // and fails only to bind, so nothing listens beyond loopback.
    let serve = |extra: &[&str]| {
        let root = agent.temp_dir().join("public");
        let mut args = vec![
            "serve",
            "--root",
            root.to_str().unwrap(),
            "--listen",
            "192.0.2.1:7443",
        ];
        args.extend_from_slice(extra);
        let out = agent.cli(&args).unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let plain = serve(&[]);
    assert!(
        plain.contains("without TLS") && plain.contains("--tls"),
        "{plain}"
    );
    let tls = serve(&["--tls"]);
    assert!(!tls.contains("without TLS"), "{tls}");
    assert!(tls.contains("listen on 192.0.2.1:7443"), "{tls}");
}

#[tokio::test]
async fn copy_from_a_tls_agent_pins_its_certificate() {
    berth_tests::require_root().expect("root");
    let (a, _docker_a) = berth_tests::agent_with_busybox(&["--tls"]).unwrap();
    let (c, docker_c) = {
        let c = TestAgent::start().unwrap();
        let docker = berth_tests::DockerCli::for_agent(&c).unwrap();
        (c, docker)
    };
    add_peer(&a, "c", &c).await.unwrap();
    let response = a
        .request(
            reqwest::Method::POST,
            "/berth/v1/images/busybox:latest/copy?to=c",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let progress = response.text().await.unwrap();
    assert!(!progress.contains("\"error\""), "{progress}");
    assert!(
        progress.contains("Downloaded newer image for busybox:latest"),
        "{progress}"
    );
    let out = docker_c
        .run(&["run", "--rm", "busybox", "echo", "copied"])
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "copied\n");
}

/// `berth hosts add` of an https peer without a terminal prints the presented fingerprint and
/// stores nothing; with `--fingerprint` it adds the peer.
#[tokio::test]
async fn the_cli_shows_the_fingerprint_then_takes_it() {
    berth_tests::require_root().expect("root");
    let a = TestAgent::start().unwrap();
    let b = TestAgent::start_with_args(&["--tls"]).unwrap();
    let token_file = a.temp_dir().join("b.token");
    std::fs::write(&token_file, b.admin_token()).unwrap();
    let token_file = token_file.to_str().unwrap().to_string();
    let url = b.base_url();
    let first = a
        .cli(&["hosts", "add", "b", &url, "--token-file", &token_file])
        .unwrap();
    assert!(!first.status.success());
    let printed = b.printed_fingerprint().unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stdout.contains(&printed), "{stdout}");
    assert!(stderr.contains("--fingerprint"), "{stderr}");
    assert!(!a.root().join("auth/peers.json").exists(), "nothing stored");

    let second = a
        .cli(&[
            "hosts",
            "add",
            "b",
            &url,
            "--token-file",
            &token_file,
            "--fingerprint",
            &printed,
        ])
        .unwrap();
    assert!(second.status.success(), "{second:?}");
    wait_for_state(&a, "b", "up").await.unwrap();
}
