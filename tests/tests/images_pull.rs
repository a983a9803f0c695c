//! Pull behaviour: layers present are not fetched again, two concurrent pulls share one
//! download, OCI manifests and indexes, and a pull killed half-way leaves a consistent
//! store that a new pull completes.

use berth_tests::{GenSpec, ManifestFormat, ProxyOptions, RegistryProxy, TestImage};
use futures_util::StreamExt;
use serde_json::{Value, json};

#[tokio::test]
async fn shared_base_layers_are_not_fetched_again() {
    let (agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let base = TestImage::generated(
        &GenSpec {
            layers: 2,
            files_per_layer: 20,
            file_size: 4096,
            seed: 1,
        },
        None,
    )
    .unwrap();
    let derived = TestImage::generated(
        &GenSpec {
            layers: 1,
            files_per_layer: 5,
            file_size: 1024,
            seed: 2,
        },
        Some(&base),
    )
    .unwrap();
    base.push(&registry.host(), "base", "v1", None)
        .await
        .unwrap();
    derived
        .push(&registry.host(), "derived", "v1", None)
        .await
        .unwrap();
    // Pull through a recording proxy to count what is fetched.
    let proxy = RegistryProxy::start(registry.addr(), ProxyOptions::default()).unwrap();
    docker
        .stdout(&["pull", &format!("{}/base:v1", proxy.host())])
        .unwrap();
    let second = docker
        .stdout(&["pull", &format!("{}/derived:v1", proxy.host())])
        .unwrap();
    assert_eq!(second.matches("Already exists").count(), 2, "{second}");
    assert_eq!(second.matches("Pull complete").count(), 1, "{second}");
    let blob_gets: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/blobs/"))
        .map(|r| r.path)
        .collect();
    for layer in &base.layers {
        let fetched = blob_gets
            .iter()
            .filter(|p| p.ends_with(&layer.blob.digest))
            .count();
        assert_eq!(
            fetched, 1,
            "base layer {} fetched {fetched} times: {blob_gets:?}",
            layer.blob.digest
        );
    }
    let graph: Value = agent
        .get("/berth/v1/layers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let layers = graph["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "{graph}");
    let shared = layers
        .iter()
        .filter(|l| l["images"].as_array().unwrap().len() == 2)
        .count();
    assert_eq!(shared, 2, "{graph}");
    assert!(graph["unshared_size"].as_u64() > graph["total_size"].as_u64());
}

#[tokio::test]
async fn concurrent_pulls_of_one_image_both_succeed() {
    let (agent, registry, _docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let image = TestImage::generated(
        &GenSpec {
            layers: 3,
            files_per_layer: 50,
            file_size: 8192,
            seed: 3,
        },
        None,
    )
    .unwrap();
    image
        .push(&registry.host(), "twice", "v1", None)
        .await
        .unwrap();
    let pull = || {
        agent
            .request(
                reqwest::Method::POST,
                &format!("/images/create?fromImage={}/twice&tag=v1", registry.host()),
            )
            .send()
    };
    let (a, b) = tokio::join!(pull(), pull());
    let (a, b) = (
        a.unwrap().text().await.unwrap(),
        b.unwrap().text().await.unwrap(),
    );
    for out in [&a, &b] {
        assert!(!out.contains("\"error\""), "{out}");
        assert!(out.contains("Status:"), "{out}");
    }
    // Each layer is extracted once: one pull completed it, the other found it there.
    let completes = a.matches("Pull complete").count() + b.matches("Pull complete").count();
    assert_eq!(completes, 3, "{a}\n{b}");
}

#[tokio::test]
async fn oci_manifests_and_indexes_pull() {
    let (_agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let oci = TestImage::busybox()
        .unwrap()
        .in_format(ManifestFormat::Oci)
        .unwrap();
    let digest = oci.push(&registry.host(), "oci", "v1", None).await.unwrap();
    docker
        .stdout(&["pull", &format!("{}/oci:v1", registry.host())])
        .unwrap();
    // An index with an arm64 entry and our platform's: the amd64 one is picked.
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
             "size": oci.manifest.data.len(), "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
             "size": oci.manifest.data.len(), "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    });
    let put = reqwest::Client::new()
        .put(registry.url("/v2/oci/manifests/multi"))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(index.to_string())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let out = docker
        .stdout(&["pull", &format!("{}/oci:multi", registry.host())])
        .unwrap();
    assert!(out.contains("Digest: sha256:"), "{out}");
    let inspect: Vec<Value> = serde_json::from_str(
        &docker
            .stdout(&["inspect", &format!("{}/oci:multi", registry.host())])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(inspect[0]["Id"], oci.image_id());

    // An index without our platform: a clear error naming what it has.
    let arm_only = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
             "size": oci.manifest.data.len(), "platform": {"os": "linux", "architecture": "arm64"}},
        ]
    });
    reqwest::Client::new()
        .put(registry.url("/v2/oci/manifests/arm"))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(arm_only.to_string())
        .send()
        .await
        .unwrap();
    let out = docker
        .run(&["pull", &format!("{}/oci:arm", registry.host())])
        .unwrap();
    assert!(!out.success());
    assert!(out.stderr.contains("linux/arm64"), "{}", out.stderr);
}

#[tokio::test]
async fn a_pull_killed_half_way_leaves_a_consistent_store() {
    let (mut agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let image = TestImage::generated(
        &GenSpec {
            layers: 2,
            files_per_layer: 400,
            file_size: 64 * 1024,
            seed: 4,
        },
        None,
    )
    .unwrap();
    image
        .push(&registry.host(), "big", "v1", None)
        .await
        .unwrap();
    let response = agent
        .request(
            reqwest::Method::POST,
            &format!("/images/create?fromImage={}/big&tag=v1", registry.host()),
        )
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if seen.contains("Downloading") {
            break;
        }
    }
    assert!(seen.contains("Downloading"), "{seen}");
    agent.kill_hard().unwrap();
    agent.restart().unwrap();
    let images = docker.stdout(&["images", "-q"]).unwrap();
    assert!(
        images.trim().is_empty(),
        "a half-pulled image is listed: {images}"
    );
    let staging = std::fs::read_dir(agent.root().join("layers/.staging"))
        .unwrap()
        .count();
    assert_eq!(staging, 0);
    let out = docker
        .stdout(&["pull", &format!("{}/big:v1", registry.host())])
        .unwrap();
    assert!(out.contains("Downloaded newer image"), "{out}");
    let inspect: Vec<Value> = serde_json::from_str(
        &docker
            .stdout(&["inspect", &format!("{}/big:v1", registry.host())])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(inspect[0]["Id"], image.image_id());
}
