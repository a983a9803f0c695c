//! Image copy host to host without a registry: A serves its images read-only over `/v2/`,
//! and `POST /berth/v1/images/{name}/copy?to=c` has C pull from A with a pull grant. A
//! recording proxy sits in front of A (A advertises the proxy's URL to its peers), so the
//! test counts which blobs actually travel: only those C lacks.

use berth_tests::peers::{add_peer, via};
use berth_tests::{DockerCli, ProxyOptions, RegistryProxy, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

fn ok(docker: &DockerCli, args: &[&str]) -> String {
    docker.run(args).unwrap().ok().unwrap().stdout
}

/// The blob digests of `image`'s layers on `agent`, bottom first.
async fn layer_blobs(agent: &TestAgent, image: &str) -> Vec<String> {
    let graph: Value = agent
        .get("/berth/v1/layers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ok_inspect(agent, image).await;
    let chains: Vec<String> = graph["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    chains
        .iter()
        .map(|chain| {
            graph["layers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["chain_id"] == chain.as_str())
                .unwrap()["blob_digest"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn ok_inspect(agent: &TestAgent, image: &str) -> String {
    let inspect: Value = agent
        .get(&format!("/images/{image}/json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    inspect["Id"].as_str().unwrap().to_string()
}

/// Runs a copy and returns its progress lines.
async fn copy(agent: &TestAgent, token: &str, image: &str, to: &str) -> (StatusCode, Vec<Value>) {
    let response = agent
        .request_as(
            token,
            Method::POST,
            &format!("/berth/v1/images/{image}/copy?to={to}"),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.to_string())))
        .collect();
    (status, lines)
}

fn blob_gets(proxy: &RegistryProxy) -> BTreeSet<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/blobs/"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn copy_sends_only_the_layers_the_target_lacks() {
    berth_tests::require_root().expect("root");
    let (mut a, docker_a) = berth_tests::agent_with_busybox(&[]).unwrap();
    let (c, docker_c) = berth_tests::agent_with_busybox(&[]).unwrap();
    // app:1 = busybox's layer (C has it) + one committed layer (C lacks it).
    ok(
        &docker_a,
        &[
            "run",
            "--name",
            "maker",
            "busybox",
            "sh",
            "-c",
            "echo made on a > /made",
        ],
    );
    ok(&docker_a, &["commit", "maker", "app:1"]);

    let proxy = RegistryProxy::start(a.addr(), ProxyOptions::default()).unwrap();
    let advertise = format!("http://{}", proxy.host());
    a.set_extra_args(&["--advertise-url", &advertise]);
    a.restart().unwrap();
    add_peer(&a, "c", &c).await.unwrap();

    let blobs = layer_blobs(&a, "app:1").await;
    assert_eq!(blobs.len(), 2);
    let config = ok_inspect(&a, "app:1").await;

    let (status, lines) = copy(&a, a.admin_token(), "app:1", "c").await;
    assert_eq!(status, StatusCode::OK, "{lines:?}");
    let text = format!("{lines:?}");
    assert!(!lines.iter().any(|l| l.get("error").is_some()), "{text}");
    assert!(
        text.contains("Already exists"),
        "the base layer is not sent: {text}"
    );
    assert!(text.contains("Pull complete"), "{text}");
    assert!(text.contains("Downloaded newer image for app:1"), "{text}");

    let fetched = blob_gets(&proxy);
    let expected: BTreeSet<String> = [blobs[1].clone(), config.clone()].into();
    assert_eq!(
        fetched, expected,
        "only the missing layer and the config travel"
    );
    assert!(
        proxy.requests().iter().all(|r| r.authorization),
        "every request carried the grant"
    );

    let out = ok(&docker_c, &["run", "--rm", "app:1", "cat", "/made"]);
    assert_eq!(out, "made on a\n");
    assert_eq!(
        ok_inspect(&c, "app:1").await,
        config,
        "the same image ID on C"
    );

    // Again: nothing is missing any more, so no blob travels.
    let before = proxy.requests().len();
    let (status, lines) = copy(&a, a.admin_token(), "app:1", "c").await;
    assert_eq!(status, StatusCode::OK);
    let again: Vec<_> = proxy.requests()[before..]
        .iter()
        .filter(|r| r.path.contains("/blobs/"))
        .cloned()
        .collect();
    assert!(again.is_empty(), "{again:?} / {lines:?}");

    // The copy goes through A's proxy view of C too: C lists it.
    let images: Value = a
        .get(&via("c", "/images/json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(format!("{images}").contains("app:1"), "{images}");
}

#[tokio::test]
async fn copy_and_the_registry_refuse_what_they_should() {
    berth_tests::require_root().expect("root");
    let (a, _docker_a) = berth_tests::agent_with_busybox(&[]).unwrap();
    let c = TestAgent::start().unwrap();
    add_peer(&a, "c", &c).await.unwrap();
    let admin = a.admin_token().to_string();

    let viewer = a.create_token("viewer").unwrap();
    let (status, _) = copy(&a, &viewer, "busybox:latest", "c").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot copy");
    let (status, lines) = copy(&a, &admin, "nope:1", "c").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{lines:?}");
    let (status, lines) = copy(&a, &admin, "busybox:latest", "nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{lines:?}");
    let (status, _) = copy(&a, &admin, "busybox:latest", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // /v2/ reads with any credential, never without one, and writes nothing.
    let get = |token: &str, path: &str| a.request_as(token, Method::GET, path).send();
    let answer = get(&viewer, "/v2/library/busybox/manifests/latest")
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    let digest = answer.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let manifest: Value = answer.json().await.unwrap();
    let by_digest = get(&viewer, &format!("/v2/library/busybox/manifests/{digest}"))
        .await
        .unwrap();
    assert_eq!(by_digest.status(), StatusCode::OK);
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = get(&viewer, &format!("/v2/library/busybox/blobs/{layer}"))
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    let bytes = blob.bytes().await.unwrap();
    assert_eq!(
        bytes.len() as u64,
        manifest["layers"][0]["size"].as_u64().unwrap()
    );
    let ranged = a
        .request_as(
            &viewer,
            Method::GET,
            &format!("/v2/library/busybox/blobs/{layer}"),
        )
        .header("range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await.unwrap(), bytes.slice(10..));

    let unauthenticated = a
        .http()
        .get(a.url("/v2/library/busybox/manifests/latest"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let missing = format!("sha256:{}", "0".repeat(64));
    for path in [
        format!("/v2/library/busybox/blobs/{missing}"),
        "/v2/library/busybox/manifests/nope".to_string(),
        "/v2/library%2F..%2F..%2Fetc/manifests/passwd".to_string(),
        "/v2/library/busybox/tags/list".to_string(),
    ] {
        let answer = get(&admin, &path).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["errors"][0]["code"].is_string(), "{path}: {body}");
    }
    let pushes = [
        (Method::POST, "/v2/library/busybox/blobs/uploads/"),
        (Method::PUT, "/v2/library/busybox/manifests/latest"),
        (Method::DELETE, "/v2/library/busybox/manifests/latest"),
    ];
    for (method, path) in pushes {
        let by_viewer = a
            .request_as(&viewer, method.clone(), path)
            .send()
            .await
            .unwrap();
        assert_eq!(by_viewer.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let by_admin = a
            .request_as(&admin, method.clone(), path)
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_admin.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }

    // C refuses to fetch with a credential A does not honour, and refuses plain http
    // to anything but loopback.
    let fetch = |body: Value| {
        a.request(Method::POST, &via("c", "/berth/v1/images/fetch"))
            .json(&body)
            .send()
    };
    let bogus = serde_json::json!({
        "source": a.base_url(), "token": "berth_pull_bogus",
        "repository": "library/busybox", "digest": digest,
    });
    let answer = fetch(bogus).await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let text = answer.text().await.unwrap();
    assert!(text.contains("refused"), "{text}");
    let remote = serde_json::json!({
        "source": "http://192.0.2.1:7070", "token": "x",
        "repository": "library/busybox", "digest": digest,
    });
    let answer = fetch(remote).await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let images: Value = c
        .get("/images/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(images, serde_json::json!([]), "C fetched nothing");
}
