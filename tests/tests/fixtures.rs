//! Tests of the harness's own fixtures: the busybox image, its writers, and the registry.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_tests::image::{GenSpec, ManifestFormat, TestImage, busybox_layer, sha256_digest};
use berth_tests::registry::{RegistryOptions, TestRegistry};
use flate2::read::GzDecoder;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("layer is gzip");
    out
}

/// Fetches `repo:tag`'s manifest with `accept` and checks it is exactly the image's.
async fn check_manifest(registry: &TestRegistry, repo: &str, tag: &str, image: &TestImage) {
    let response = client()
        .get(registry.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header(ACCEPT, &image.manifest.media_type)
        .send()
        .await
        .expect("GET manifest");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("docker-content-digest"), image.manifest_digest());
    assert_eq!(header(CONTENT_TYPE.as_str()), image.manifest.media_type);
    let body = response.bytes().await.expect("manifest body");
    assert_eq!(sha256_digest(&body), image.manifest_digest());
    let manifest: Value = serde_json::from_slice(&body).expect("manifest JSON");
    assert_eq!(manifest["mediaType"], image.format.manifest_media_type());
    assert_eq!(
        manifest["layers"].as_array().map(Vec::len),
        Some(image.layers.len())
    );
}

/// Fetches a blob and checks its bytes hash to `digest`.
async fn fetch_blob(registry: &TestRegistry, repo: &str, digest: &str) -> Vec<u8> {
    let response = client()
        .get(registry.url(&format!("/v2/{repo}/blobs/{digest}")))
        .send()
        .await
        .expect("GET blob");
    assert_eq!(response.status(), StatusCode::OK, "blob {digest}");
    let body = response.bytes().await.expect("blob body").to_vec();
    assert_eq!(sha256_digest(&body), digest);
    body
}

#[tokio::test]
async fn busybox_image_round_trips_through_the_registry() {
    let image = TestImage::busybox().expect("build the busybox image");
    assert_eq!(image.layers.len(), 1);
    let registry = TestRegistry::start().expect("start docker-registry");

    let digest = image
        .push(&registry.host(), "library/busybox", "latest", None)
        .await
        .expect("push busybox");
    assert_eq!(digest, image.manifest_digest());
    check_manifest(&registry, "library/busybox", "latest", &image).await;

    let layer = &image.layers[0];
    let blob = fetch_blob(&registry, "library/busybox", &layer.blob.digest).await;
    assert_eq!(sha256_digest(&gunzip(&blob)), layer.diff_id);

    let config = fetch_blob(&registry, "library/busybox", image.image_id()).await;
    let config: Value = serde_json::from_slice(&config).expect("config JSON");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(config["rootfs"]["diff_ids"][0], layer.diff_id.as_str());

    // A second push finds every blob present and stores the same manifest.
    let again = image
        .push(&registry.host(), "library/busybox", "v2", None)
        .await
        .expect("push again under another tag");
    assert_eq!(again, digest);
}

#[tokio::test]
async fn docker_schema2_manifest_round_trips() {
    let image = TestImage::busybox()
        .and_then(|i| i.in_format(ManifestFormat::DockerV2))
        .expect("busybox as Docker v2 schema 2");
    assert_eq!(
        image.manifest.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let registry = TestRegistry::start().expect("start docker-registry");
    image
        .push(&registry.host(), "busybox", "v2s2", None)
        .await
        .expect("push");
    check_manifest(&registry, "busybox", "v2s2", &image).await;
}

#[tokio::test]
async fn htpasswd_registry_requires_the_password() {
    let registry = TestRegistry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..RegistryOptions::default()
    })
    .expect("start docker-registry with htpasswd");
    let anonymous = client()
        .get(registry.url("/v2/"))
        .send()
        .await
        .expect("GET /v2/");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    let image = TestImage::busybox().expect("busybox");
    let denied = image
        .push(
            &registry.host(),
            "busybox",
            "latest",
            Some(("alice", "wrong")),
        )
        .await;
    assert!(denied.is_err(), "push with a wrong password must fail");
    image
        .push(
            &registry.host(),
            "busybox",
            "latest",
            registry.credentials(),
        )
        .await
        .expect("push with the right password");
}

#[test]
fn oci_layout_holds_a_runnable_busybox_rootfs() {
    let image = TestImage::busybox().expect("busybox");
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = dir.path().join("layout");
    image
        .write_oci_layout(&layout, "latest")
        .expect("write the layout");

    let read_blob = |digest: &str| {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        let data = fs::read(layout.join("blobs/sha256").join(hex)).expect("blob file");
        assert_eq!(sha256_digest(&data), digest, "blob file content");
        data
    };
    let oci_layout: Value =
        serde_json::from_slice(&fs::read(layout.join("oci-layout")).expect("oci-layout"))
            .expect("JSON");
    assert_eq!(oci_layout["imageLayoutVersion"], "1.0.0");
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).expect("index.json"))
            .expect("JSON");
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let manifest: Value =
        serde_json::from_slice(&read_blob(entry["digest"].as_str().expect("digest")))
            .expect("manifest JSON");
    let layer_digest = manifest["layers"][0]["digest"].as_str().expect("layer");
    let tar = gunzip(&read_blob(layer_digest));

    let rootfs = dir.path().join("rootfs");
    let mut archive = tar::Archive::new(tar.as_slice());
    // Keep the sticky bit of tmp/ (the default applies the umask and drops it).
    archive.set_preserve_permissions(true);
    archive.unpack(&rootfs).expect("unpack the layer");
    let sh = fs::symlink_metadata(rootfs.join("bin/sh")).expect("bin/sh");
    assert!(sh.file_type().is_symlink());
    assert_eq!(
        fs::read_link(rootfs.join("bin/sh")).expect("link"),
        Path::new("busybox")
    );
    let busybox = fs::metadata(rootfs.join("bin/busybox")).expect("bin/busybox");
    assert!(busybox.is_file() && busybox.permissions().mode() & 0o111 != 0);
    assert_eq!(
        fs::metadata(rootfs.join("tmp"))
            .expect("tmp")
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    let passwd = fs::read_to_string(rootfs.join("etc/passwd")).expect("passwd");
    assert!(passwd.starts_with("root:x:0:0:"));
    assert!(passwd.contains("\nnobody:x:65534:65534:"));

    // The applet link really runs busybox as `sh` (it is static: no loader needed).
    let out = std::process::Command::new(rootfs.join("bin/sh"))
        .args(["-c", "echo hello from ${0##*/}"])
        .output()
        .expect("run the unpacked sh");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from sh");
}

#[test]
fn docker_save_tar_matches_the_image() {
    let image = TestImage::busybox().expect("busybox");
    let tar = image
        .docker_save_tar("busybox:latest")
        .expect("docker save tar");
    let mut files = std::collections::BTreeMap::new();
    for entry in tar::Archive::new(tar.as_slice())
        .entries()
        .expect("entries")
    {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        files.insert(path, data);
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest.json");
    let entry = &manifest[0];
    assert_eq!(entry["RepoTags"], serde_json::json!(["busybox:latest"]));
    let config = &files[entry["Config"].as_str().expect("Config")];
    assert_eq!(sha256_digest(config), image.image_id());
    let layer_path = entry["Layers"][0].as_str().expect("layer path");
    assert_eq!(sha256_digest(&files[layer_path]), image.layers[0].diff_id);
    let repositories: Value = serde_json::from_slice(&files["repositories"]).expect("repositories");
    let top = layer_path.trim_end_matches("/layer.tar");
    assert_eq!(repositories["busybox"]["latest"], top);
}

#[test]
fn digests_are_stable_across_builds() {
    let a = busybox_layer()
        .and_then(|l| l.to_tar())
        .expect("busybox tar");
    let b = busybox_layer()
        .and_then(|l| l.to_tar())
        .expect("busybox tar again");
    assert_eq!(sha256_digest(&a), sha256_digest(&b));

    let spec = GenSpec {
        layers: 3,
        files_per_layer: 4,
        file_size: 1000,
        seed: 42,
    };
    let base = TestImage::busybox().expect("busybox");
    let one = TestImage::generated(&spec, Some(&base)).expect("generated image");
    let two = TestImage::generated(&spec, Some(&base)).expect("generated image again");
    assert_eq!(one.manifest_digest(), two.manifest_digest());
    assert_eq!(one.layers.len(), 4);
    let other = TestImage::generated(&GenSpec { seed: 43, ..spec }, Some(&base)).expect("seed 43");
    assert_ne!(one.manifest_digest(), other.manifest_digest());
}

#[tokio::test]
async fn generated_image_pushes_all_layers() {
    let base = TestImage::busybox().expect("busybox");
    let image = TestImage::generated(
        &GenSpec {
            layers: 3,
            files_per_layer: 5,
            file_size: 4096,
            seed: 1,
        },
        Some(&base),
    )
    .expect("generated image");
    let registry = TestRegistry::start().expect("start docker-registry");
    image
        .push(&registry.host(), "gen/big", "latest", None)
        .await
        .expect("push generated image");
    check_manifest(&registry, "gen/big", "latest", &image).await;
    for layer in &image.layers {
        fetch_blob(&registry, "gen/big", &layer.blob.digest).await;
    }
}

#[tokio::test]
async fn headless_chromium_renders_a_page() {
    let Some(browser) = berth_tests::Browser::start("headless_chromium_renders_a_page")
        .await
        .expect("start chromedriver and Chromium")
    else {
        return;
    };
    // A data: URL: no network at all.
    browser
        .client()
        .goto("data:text/html,<p id='greeting'>hello from berth-tests</p>")
        .await
        .expect("open the page");
    let text = browser
        .client()
        .find(fantoccini::Locator::Css("#greeting"))
        .await
        .expect("find #greeting")
        .text()
        .await
        .expect("text");
    assert_eq!(text, "hello from berth-tests");
    browser
        .screenshot("harness-data-url")
        .await
        .expect("screenshot");
    browser.close().await.expect("close the browser");
}
