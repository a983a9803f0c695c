//! The client against the real registry: Debian's `docker-registry` (distribution 2.8) on
//! 127.0.0.1, started per test by `berth-tests`, with a token issuer it trusts for bearer
//! auth and a proxy in front of it for behaviour the registry itself does not show. Only
//! loopback traffic.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use berth_tests::image::{Blob, GenSpec, ManifestFormat};
use berth_tests::registry_proxy::ProxiedRequest;
use berth_tests::{
    ProxyOptions, RegistryOptions, RegistryProxy, TestImage, TestRegistry, TokenIssuer,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::*;

fn client() -> RegistryClient {
    RegistryClient::new(RegistryConfig::default()).expect("client")
}

/// Reads a blob stream to its end; the error, if any, comes with the bytes read before it.
async fn read_all(mut stream: BlobStream) -> (Vec<u8>, Option<RegistryError>) {
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(err) => return (out, Some(err)),
        }
    }
    (out, None)
}

async fn fetch_all(
    client: &RegistryClient,
    repo: &Repository,
    blob: &Blob,
    auth: &Credentials,
) -> Result<Vec<u8>> {
    let stream = client
        .fetch_blob(repo, &blob.digest, 0, auth)
        .await?
        .expect_size(blob.size())?;
    assert!(stream.verifies_digest());
    let (bytes, err) = read_all(stream).await;
    if let Some(err) = err {
        return Err(err.into());
    }
    Ok(bytes)
}

/// Where the registry keeps a blob's bytes.
fn blob_data_path(registry: &TestRegistry, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    registry
        .storage_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

fn basic(user: &str, password: &str) -> Credentials {
    Credentials::Basic {
        username: user.to_owned(),
        password: password.to_owned(),
    }
}

/// A generated image with layers of `layer_bytes` (incompressible) each.
fn generated(layers: usize, layer_bytes: usize, seed: u64) -> Result<TestImage> {
    TestImage::generated(
        &GenSpec {
            layers,
            files_per_layer: 4,
            file_size: layer_bytes / 4,
            seed,
        },
        None,
    )
}

#[tokio::test]
async fn anonymous_pull_of_manifest_and_blobs_checks_digests() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = TestImage::busybox()?;
    image
        .push(&registry.host(), "library/busybox", "latest", None)
        .await?;
    let client = client();
    let repo = Repository::new(registry.host(), "library/busybox");
    let anonymous = Credentials::Anonymous;

    let by_tag = client.fetch_manifest(&repo, "latest", &anonymous).await?;
    assert_eq!(by_tag.media_type, OCI_MANIFEST);
    assert_eq!(by_tag.digest, image.manifest_digest());
    assert_eq!(by_tag.bytes, image.manifest.data);
    let by_digest = client
        .fetch_manifest(&repo, image.manifest_digest(), &anonymous)
        .await?;
    assert_eq!(by_digest, by_tag);

    let ParsedManifest::Image(manifest) = parse_manifest(&by_tag.media_type, &by_tag.bytes)? else {
        panic!("busybox is an image, not an index");
    };
    assert_eq!(manifest.config.digest, image.config.digest);
    assert_eq!(manifest.config.media_type, OCI_CONFIG);
    assert_eq!(manifest.layers.len(), 1);
    let layer = &manifest.layers[0];
    assert_eq!(layer.compression, LayerCompression::Gzip);
    assert_eq!(layer.descriptor.digest, image.layers[0].blob.digest);
    assert_eq!(layer.descriptor.size, image.layers[0].blob.size());

    assert_eq!(
        fetch_all(&client, &repo, &image.config, &anonymous).await?,
        image.config.data
    );
    let stream = client
        .fetch_blob(&repo, &layer.descriptor.digest, 0, &anonymous)
        .await?;
    assert_eq!(stream.total_size(), Some(layer.descriptor.size));
    let mut chunks = 0;
    let mut bytes = Vec::new();
    let mut stream = stream.expect_size(layer.descriptor.size)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        chunks += 1;
        bytes.extend_from_slice(&chunk);
        assert_eq!(stream.position(), bytes.len() as u64, "per-chunk progress");
    }
    assert!(chunks >= 1);
    assert_eq!(bytes, image.layers[0].blob.data);
    assert_eq!(
        client
            .blob_size(&repo, &layer.descriptor.digest, &anonymous)
            .await?,
        Some(layer.descriptor.size)
    );

    let err = client
        .fetch_manifest(&repo, "no-such-tag", &anonymous)
        .await
        .expect_err("unknown tag");
    assert!(matches!(err, RegistryError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("MANIFEST_UNKNOWN"), "{err}");
    let nowhere = Repository::new(registry.host(), "no/such/repo");
    let err = client
        .fetch_manifest(&nowhere, "latest", &anonymous)
        .await
        .expect_err("unknown repository");
    assert!(matches!(err, RegistryError::NotFound(_)), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn docker_v2s2_manifests_and_an_index_with_platform_choice() -> Result<()> {
    let registry = TestRegistry::start()?;
    let oci = TestImage::busybox()?;
    let docker = oci.in_format(ManifestFormat::DockerV2)?;
    oci.push(&registry.host(), "multi", "oci", None).await?;
    docker
        .push(&registry.host(), "multi", "docker", None)
        .await?;
    let client = client();
    let repo = Repository::new(registry.host(), "multi");
    let anonymous = Credentials::Anonymous;

    let fetched = client.fetch_manifest(&repo, "docker", &anonymous).await?;
    assert_eq!(fetched.media_type, DOCKER_MANIFEST);
    assert_eq!(fetched.digest, docker.manifest_digest());
    let ParsedManifest::Image(manifest) = parse_manifest(&fetched.media_type, &fetched.bytes)?
    else {
        panic!("not an image");
    };
    assert_eq!(manifest.media_type, DOCKER_MANIFEST);
    assert_eq!(manifest.config.media_type, DOCKER_CONFIG);
    assert_eq!(manifest.layers[0].compression, LayerCompression::Gzip);
    assert_eq!(
        manifest.layers[0].descriptor.media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );

    for (index_type, tag) in [(OCI_INDEX, "index"), (DOCKER_MANIFEST_LIST, "list")] {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": [
                {
                    "mediaType": oci.manifest.media_type,
                    "digest": oci.manifest_digest(),
                    "size": oci.manifest.size(),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
                {
                    "mediaType": docker.manifest.media_type,
                    "digest": docker.manifest_digest(),
                    "size": docker.manifest.size(),
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
                {
                    // What buildx adds for provenance: never to be picked.
                    "mediaType": oci.manifest.media_type,
                    "digest": oci.manifest_digest(),
                    "size": oci.manifest.size(),
                    "platform": {"os": "unknown", "architecture": "unknown"},
                },
            ],
        });
        let bytes = serde_json::to_vec(&index)?;
        let digest = client
            .put_manifest(&repo, tag, index_type, &bytes, &anonymous)
            .await?;
        assert_eq!(digest, sha256_digest(&bytes));

        let fetched = client.fetch_manifest(&repo, tag, &anonymous).await?;
        assert_eq!(fetched.media_type, index_type);
        assert_eq!(fetched.digest, digest);
        let ParsedManifest::Index(entries) = parse_manifest(&fetched.media_type, &fetched.bytes)?
        else {
            panic!("not an index");
        };
        assert_eq!(entries.len(), 3);
        let amd64 = pick_platform(&entries, "linux", "amd64", None)?;
        assert_eq!(amd64.descriptor.digest, oci.manifest_digest());
        let arm64 = pick_platform(&entries, "linux", "arm64", None)?;
        assert_eq!(arm64.descriptor.digest, docker.manifest_digest());
        let err = pick_platform(&entries, "linux", "s390x", None).expect_err("no s390x");
        assert!(matches!(err, RegistryError::NotFound(_)), "{err:?}");
        assert!(
            err.to_string().contains("linux/amd64, linux/arm64/v8"),
            "{err}"
        );
        // The picked entry is fetched by digest, as a puller does.
        let image = client
            .fetch_manifest(&repo, &arm64.descriptor.digest, &anonymous)
            .await?;
        assert_eq!(image.media_type, arm64.descriptor.media_type);
        assert_eq!(image.bytes.len() as u64, arm64.descriptor.size);
    }
    Ok(())
}

#[tokio::test]
async fn basic_auth_pull_and_wrong_password() -> Result<()> {
    let registry = TestRegistry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..RegistryOptions::default()
    })?;
    let image = TestImage::busybox()?;
    image
        .push(
            &registry.host(),
            "private/bb",
            "v1",
            Some(("alice", "s3cret")),
        )
        .await?;
    let client = client();
    let repo = Repository::new(registry.host(), "private/bb");
    let alice = basic("alice", "s3cret");

    let fetched = client.fetch_manifest(&repo, "v1", &alice).await?;
    assert_eq!(fetched.digest, image.manifest_digest());
    assert_eq!(
        fetch_all(&client, &repo, &image.layers[0].blob, &alice).await?,
        image.layers[0].blob.data
    );

    let err = client
        .fetch_manifest(&repo, "v1", &Credentials::Anonymous)
        .await
        .expect_err("anonymous");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    assert!(err.to_string().contains("requires a login"), "{err}");

    let err = client
        .fetch_manifest(&repo, "v1", &basic("alice", "wrong-password"))
        .await
        .expect_err("wrong password");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("refused the password of user \"alice\""),
        "{message}"
    );
    assert!(!message.contains("wrong-password"), "{message}");
    // The right password still works after a wrong one (no cache poisoning).
    client.fetch_manifest(&repo, "v1", &alice).await?;
    Ok(())
}

#[tokio::test]
async fn bearer_token_auth_push_pull_cache_and_refusals() -> Result<()> {
    let issuer = TokenIssuer::start("bob", "t0ken-pw")?;
    let registry = TestRegistry::start_with(RegistryOptions {
        token_auth: Some(issuer.token_auth()),
        ..RegistryOptions::default()
    })?;
    let image = TestImage::busybox()?;
    let client = client();
    let repo = Repository::new(registry.host(), "team/busybox");
    let bob = basic("bob", "t0ken-pw");

    // Push with a token for `pull,push`: one token for every request of the push.
    for blob in image.blobs() {
        client
            .push_blob(
                &repo,
                &blob.digest,
                BlobSource::Bytes(Bytes::from(blob.data.clone())),
                |_| {},
                &bob,
            )
            .await?;
    }
    let digest = client
        .put_manifest(
            &repo,
            "latest",
            &image.manifest.media_type,
            &image.manifest.data,
            &bob,
        )
        .await?;
    assert_eq!(digest, image.manifest_digest());
    assert_eq!(issuer.requests(), 1, "one token for the whole push");

    // Pull: one more token (scope `pull`), then cached.
    let fetched = client.fetch_manifest(&repo, "latest", &bob).await?;
    assert_eq!(fetched.digest, image.manifest_digest());
    for blob in image.blobs() {
        assert_eq!(fetch_all(&client, &repo, blob, &bob).await?, blob.data);
    }
    assert_eq!(issuer.requests(), 2, "one token for the whole pull");
    let clone = client.clone();
    clone.fetch_manifest(&repo, "latest", &bob).await?;
    clone
        .blob_size(&repo, &image.config.digest, &bob)
        .await?
        .context("config present")?;
    assert_eq!(issuer.requests(), 2, "clones share the token cache");

    // Several requests of a fresh client at once (layers pulled in parallel): one token.
    let fresh = RegistryClient::new(RegistryConfig::default())?;
    let before = issuer.requests();
    let pulls = image.blobs().map(|blob| {
        let (fresh, repo, bob) = (fresh.clone(), repo.clone(), bob.clone());
        let blob = blob.clone();
        async move { fetch_all(&fresh, &repo, &blob, &bob).await }
    });
    for pulled in futures_util::future::join_all(pulls).await {
        pulled?;
    }
    assert_eq!(
        issuer.requests(),
        before + 1,
        "concurrent requests share one token"
    );

    // An identity token goes through the OAuth2 refresh_token grant.
    let identity = Credentials::IdentityToken(issuer.identity_token().to_owned());
    let before = issuer.requests();
    let fetched = client.fetch_manifest(&repo, "latest", &identity).await?;
    assert_eq!(fetched.digest, image.manifest_digest());
    assert_eq!(
        issuer.requests(),
        before + 1,
        "other credentials, other token"
    );

    // A registry token is sent as is, without asking the issuer.
    let token = reqwest::Client::new()
        .get(issuer.realm())
        .query(&[
            ("service", "berth-test-registry"),
            ("scope", "repository:team/busybox:pull"),
        ])
        .basic_auth("bob", Some("t0ken-pw"))
        .send()
        .await?
        .error_for_status()?
        .json::<serde_json::Value>()
        .await?["token"]
        .as_str()
        .context("token")?
        .to_owned();
    let before = issuer.requests();
    let fetched = client
        .fetch_manifest(&repo, "latest", &Credentials::RegistryToken(token))
        .await?;
    assert_eq!(fetched.digest, image.manifest_digest());
    assert_eq!(issuer.requests(), before);

    // Refusals are clear and never show the secret.
    let err = client
        .fetch_manifest(&repo, "latest", &basic("bob", "not-the-pw"))
        .await
        .expect_err("bad password");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("token server 127.0.0.1"), "{message}");
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("password of user \"bob\""), "{message}");
    assert!(!message.contains("not-the-pw"), "{message}");
    let err = client
        .fetch_manifest(&repo, "latest", &Credentials::Anonymous)
        .await
        .expect_err("anonymous");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    assert!(err.to_string().contains("anonymous access"), "{err}");
    let err = client
        .fetch_manifest(
            &repo,
            "latest",
            &Credentials::IdentityToken("stale".to_owned()),
        )
        .await
        .expect_err("bad identity token");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    let err = client
        .fetch_manifest(
            &repo,
            "latest",
            &Credentials::RegistryToken("forged".to_owned()),
        )
        .await
        .expect_err("forged registry token");
    assert!(matches!(err, RegistryError::Unauthorized(_)), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn range_resume_and_a_registry_that_ignores_range() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = generated(1, 512 * 1024, 11)?;
    image.push(&registry.host(), "big", "v1", None).await?;
    let blob = &image.layers[0].blob;
    let size = blob.size();
    let client = client();
    let repo = Repository::new(registry.host(), "big");
    let anonymous = Credentials::Anonymous;

    for offset in [1, 1000, size / 2, size - 1] {
        let stream = client
            .fetch_blob(&repo, &blob.digest, offset, &anonymous)
            .await?;
        assert_eq!(stream.start_offset(), offset);
        assert_eq!(stream.total_size(), Some(size));
        assert!(!stream.verifies_digest(), "206: the prefix is not seen");
        let mut prefix = Sha256::new();
        prefix.update(&blob.data[..offset as usize]);
        let stream = stream.with_prefix(prefix, offset)?.expect_size(size)?;
        assert!(stream.verifies_digest());
        let (tail, err) = read_all(stream).await;
        assert!(err.is_none(), "offset {offset}: {err:?}");
        assert_eq!(tail, &blob.data[offset as usize..], "offset {offset}");
    }
    // Resuming with the wrong prefix is caught at the end.
    let mut wrong = Sha256::new();
    wrong.update(vec![0u8; 100]);
    let stream = client
        .fetch_blob(&repo, &blob.digest, 100, &anonymous)
        .await?
        .with_prefix(wrong, 100)?;
    assert!(matches!(
        read_all(stream).await.1,
        Some(RegistryError::DigestMismatch { .. })
    ));
    // Everything already there: an empty rest.
    let stream = client
        .fetch_blob(&repo, &blob.digest, size, &anonymous)
        .await?;
    let (rest, err) = read_all(stream).await;
    assert!(rest.is_empty() && err.is_none(), "{err:?}");
    let err = client
        .fetch_blob(&repo, &blob.digest, size + 10, &anonymous)
        .await
        .expect_err("beyond the end");
    assert!(matches!(err, RegistryError::InvalidInput(_)), "{err:?}");

    // A registry that ignores Range answers 200 with everything: the client skips the
    // prefix, and since it saw all the bytes it verifies the digest itself.
    let proxy = RegistryProxy::start(
        registry.addr(),
        ProxyOptions {
            ignore_range: true,
            ..ProxyOptions::default()
        },
    )?;
    let via_proxy = Repository::new(proxy.host(), "big");
    let offset = size / 3;
    let stream = client
        .fetch_blob(&via_proxy, &blob.digest, offset, &anonymous)
        .await?;
    assert!(stream.verifies_digest(), "200: every byte is seen");
    assert_eq!(stream.total_size(), Some(size));
    let (tail, err) = read_all(stream.expect_size(size)?).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(tail, &blob.data[offset as usize..]);
    let sent: Vec<ProxiedRequest> = proxy.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].range.as_deref(),
        Some(format!("bytes={offset}-").as_str())
    );
    Ok(())
}

/// Flips one byte of a file in place (same length).
fn corrupt(path: &std::path::Path, at: usize) -> Result<()> {
    let mut data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    data[at] ^= 0x20;
    std::fs::write(path, data)?;
    Ok(())
}

#[tokio::test]
async fn tampered_blobs_and_manifests_are_digest_mismatches() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = TestImage::busybox()?;
    image.push(&registry.host(), "tamper", "v1", None).await?;
    let client = client();
    let repo = Repository::new(registry.host(), "tamper");
    let anonymous = Credentials::Anonymous;
    let layer = &image.layers[0].blob;

    // Same length, one byte changed: only the digest can tell.
    corrupt(&blob_data_path(&registry, &layer.digest), 1000)?;
    let stream = client
        .fetch_blob(&repo, &layer.digest, 0, &anonymous)
        .await?
        .expect_size(layer.size())?;
    let (bytes, err) = read_all(stream).await;
    assert_eq!(bytes.len() as u64, layer.size(), "bytes flow until the end");
    match err {
        Some(RegistryError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, layer.digest);
            assert_eq!(actual, sha256_digest(&bytes));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }

    // Truncated: the registry announces the short length, the descriptor says otherwise.
    let config_path = blob_data_path(&registry, &image.config.digest);
    let config = std::fs::read(&config_path)?;
    std::fs::write(&config_path, &config[..config.len() - 5])?;
    let err = client
        .fetch_blob(&repo, &image.config.digest, 0, &anonymous)
        .await?
        .expect_size(image.config.size())
        .expect_err("short blob");
    assert!(matches!(err, RegistryError::SizeMismatch { .. }), "{err:?}");

    // A manifest changed in storage (still valid JSON: a letter's case inside a string). The
    // registry still announces the digest it was stored under.
    let manifest_path = blob_data_path(&registry, image.manifest_digest());
    let text = std::fs::read_to_string(&manifest_path)?;
    let at = text
        .find("image.config")
        .context("config media type in the manifest")?;
    corrupt(&manifest_path, at)?;
    for reference in ["v1", image.manifest_digest()] {
        let err = client
            .fetch_manifest(&repo, reference, &anonymous)
            .await
            .expect_err(reference);
        match err {
            RegistryError::DigestMismatch { expected, .. } => {
                assert_eq!(expected, image.manifest_digest(), "{reference}")
            }
            other => panic!("{reference}: expected a digest mismatch, got {other:?}"),
        }
    }

    // A lying Docker-Content-Digest on an intact manifest.
    let clean = TestRegistry::start()?;
    image.push(&clean.host(), "tamper", "v1", None).await?;
    let liar = sha256_digest(b"something else");
    let proxy = RegistryProxy::start(
        clean.addr(),
        ProxyOptions {
            manifest_digest_header: Some(liar.clone()),
            ..ProxyOptions::default()
        },
    )?;
    let err = client
        .fetch_manifest(&Repository::new(proxy.host(), "tamper"), "v1", &anonymous)
        .await
        .expect_err("lying header");
    assert!(
        matches!(&err, RegistryError::DigestMismatch { expected, actual } if *expected == liar && actual == image.manifest_digest()),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_manifest_pointing_at_a_missing_blob_gives_not_found() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = TestImage::busybox()?;
    image.push(&registry.host(), "holes", "v1", None).await?;
    let layer = &image.layers[0].blob;
    // Unlink the layer from the repository (deletes are enabled in the test registry).
    let deleted = reqwest::Client::new()
        .delete(registry.url(&format!("/v2/holes/blobs/{}", layer.digest)))
        .send()
        .await?;
    assert_eq!(deleted.status().as_u16(), 202, "{:?}", deleted.text().await);
    let client = client();
    let repo = Repository::new(registry.host(), "holes");
    let anonymous = Credentials::Anonymous;

    let fetched = client.fetch_manifest(&repo, "v1", &anonymous).await?;
    let ParsedManifest::Image(manifest) = parse_manifest(&fetched.media_type, &fetched.bytes)?
    else {
        panic!("not an image");
    };
    let missing = &manifest.layers[0].descriptor.digest;
    let err = client
        .fetch_blob(&repo, missing, 0, &anonymous)
        .await
        .expect_err("missing layer");
    assert!(matches!(err, RegistryError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("BLOB_UNKNOWN"), "{err}");
    assert_eq!(client.blob_size(&repo, missing, &anonymous).await?, None);
    Ok(())
}

#[tokio::test]
async fn a_schema1_manifest_is_refused_clearly() -> Result<()> {
    let registry = TestRegistry::start_with(RegistryOptions {
        schema1: true,
        ..RegistryOptions::default()
    })?;
    let image = TestImage::busybox()?.in_format(ManifestFormat::DockerV2)?;
    image.push(&registry.host(), "old", "v2", None).await?;
    // A client that only speaks schema 1 gets the manifest converted and signed by the
    // registry; stored back under a tag, it is a real schema 1 manifest.
    let http = reqwest::Client::new();
    let converted = http
        .get(registry.url("/v2/old/manifests/v2"))
        .header("accept", super::manifest::DOCKER_SCHEMA1_SIGNED)
        .send()
        .await?
        .error_for_status()?;
    let content_type = converted
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, super::manifest::DOCKER_SCHEMA1_SIGNED);
    let signed = converted.bytes().await?;
    let stored = http
        .put(registry.url("/v2/old/manifests/v1"))
        .header("content-type", &content_type)
        .body(signed.clone())
        .send()
        .await?;
    assert_eq!(stored.status().as_u16(), 201, "{:?}", stored.text().await);

    let client = client();
    let repo = Repository::new(registry.host(), "old");
    let err = client
        .fetch_manifest(&repo, "v1", &Credentials::Anonymous)
        .await
        .expect_err("schema 1");
    assert!(matches!(err, RegistryError::Unsupported(_)), "{err:?}");
    assert!(
        err.to_string().contains(
            "schema 1 manifests are deprecated and not supported; re-push the image with a current client"
        ),
        "{err}"
    );
    let err = parse_manifest(&content_type, &signed).expect_err("schema 1");
    assert!(matches!(err, RegistryError::Unsupported(_)), "{err:?}");
    // The v2 manifest itself is untouched.
    let v2 = client
        .fetch_manifest(&repo, "v2", &Credentials::Anonymous)
        .await?;
    assert_eq!(v2.digest, image.manifest_digest());
    Ok(())
}

#[tokio::test]
async fn push_monolithic_and_chunked_mount_and_pull_back() -> Result<()> {
    let registry = TestRegistry::start()?;
    // The proxy lets the test count PATCHes; it passes Host on, so upload Locations point
    // back at it.
    let proxy = RegistryProxy::start(registry.addr(), ProxyOptions::default())?;
    let chunk = 128 * 1024;
    let client = RegistryClient::new(RegistryConfig {
        monolithic_upload_max: 200 * 1024,
        upload_chunk_size: chunk,
        ..RegistryConfig::default()
    })?;
    let image = generated(2, 400 * 1024, 23)?;
    let repo = Repository::new(proxy.host(), "gen/image");
    let anonymous = Credentials::Anonymous;
    let dir = tempfile::tempdir()?;

    for (i, blob) in image.blobs().enumerate() {
        assert_eq!(
            client.blob_size(&repo, &blob.digest, &anonymous).await?,
            None
        );
        let source = match i {
            // The config: small, from memory, one PUT.
            0 => BlobSource::Bytes(Bytes::from(blob.data.clone())),
            // A layer from a file (as from the content store).
            1 => {
                let path = dir.path().join("layer");
                std::fs::write(&path, &blob.data)?;
                BlobSource::File(path)
            }
            // A layer from a reader.
            _ => BlobSource::Reader {
                reader: Box::new(std::io::Cursor::new(blob.data.clone())),
                size: blob.size(),
            },
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let patches_before = count(&proxy, "PATCH");
        client
            .push_blob(
                &repo,
                &blob.digest,
                source,
                move |sent| record.lock().expect("lock").push(sent),
                &anonymous,
            )
            .await
            .with_context(|| format!("pushing blob {i}"))?;
        let patches = count(&proxy, "PATCH") - patches_before;
        if blob.size() <= 200 * 1024 {
            assert_eq!(patches, 0, "blob {i} is small: monolithic");
        } else {
            assert_eq!(
                patches as u64,
                blob.size().div_ceil(chunk),
                "blob {i} chunks"
            );
        }
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(
            seen.last().copied(),
            Some(blob.size()),
            "blob {i}: {seen:?}"
        );
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "blob {i}: {seen:?}");
        assert_eq!(
            client.blob_size(&repo, &blob.digest, &anonymous).await?,
            Some(blob.size())
        );
    }
    let digest = client
        .put_manifest(
            &repo,
            "v1",
            &image.manifest.media_type,
            &image.manifest.data,
            &anonymous,
        )
        .await?;
    assert_eq!(digest, image.manifest_digest());

    // Pull it back, straight from the registry.
    let direct = Repository::new(registry.host(), "gen/image");
    let fetched = client.fetch_manifest(&direct, "v1", &anonymous).await?;
    assert_eq!(fetched.bytes, image.manifest.data);
    for blob in image.blobs() {
        assert_eq!(
            fetch_all(&client, &direct, blob, &anonymous).await?,
            blob.data
        );
    }

    // Cross-repository mount: present in the source → mounted; absent → an upload the
    // client cancels.
    let copy = Repository::new(registry.host(), "gen/copy");
    let layer = &image.layers[1].blob;
    assert!(
        client
            .mount_blob(&copy, &layer.digest, "gen/image", &anonymous)
            .await?
    );
    assert_eq!(
        client.blob_size(&copy, &layer.digest, &anonymous).await?,
        Some(layer.size())
    );
    let absent = sha256_digest(b"never pushed");
    assert!(
        !client
            .mount_blob(&copy, &absent, "gen/image", &anonymous)
            .await?
    );
    assert_eq!(client.blob_size(&copy, &absent, &anonymous).await?, None);

    // A source that is not what its digest says never gets committed.
    let err = client
        .push_blob(
            &copy,
            &absent,
            BlobSource::Bytes(Bytes::from_static(b"something else")),
            |_| {},
            &anonymous,
        )
        .await
        .expect_err("wrong content");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(client.blob_size(&copy, &absent, &anonymous).await?, None);
    // A reader shorter than announced.
    let err = client
        .push_blob(
            &copy,
            &absent,
            BlobSource::Reader {
                reader: Box::new(std::io::Cursor::new(vec![1u8; 10])),
                size: 300 * 1024,
            },
            |_| {},
            &anonymous,
        )
        .await
        .expect_err("short reader");
    assert!(matches!(err, RegistryError::Io(_)), "{err:?}");
    Ok(())
}

fn count(proxy: &RegistryProxy, method: &str) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|r| r.method == method)
        .count()
}

#[tokio::test]
async fn blob_redirects_are_followed_without_credentials() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = TestImage::busybox()?;
    image.push(&registry.host(), "cdn", "v1", None).await?;
    let proxy = RegistryProxy::start(
        registry.addr(),
        ProxyOptions {
            redirect_blobs: true,
            ..ProxyOptions::default()
        },
    )?;
    let client = client();
    let repo = Repository::new(proxy.host(), "cdn");
    let layer = &image.layers[0].blob;
    assert_eq!(
        fetch_all(
            &client,
            &repo,
            layer,
            &Credentials::RegistryToken("t".into())
        )
        .await?,
        layer.data
    );
    let sent = proxy.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].authorization, "the registry itself gets the token");
    // (The registry, on another port, is another origin: reqwest drops Authorization there;
    // this anonymous registry would have ignored it anyway.)
    Ok(())
}

#[tokio::test]
async fn idempotent_requests_are_retried_on_5xx_and_uploads_are_not() -> Result<()> {
    let registry = TestRegistry::start()?;
    let image = TestImage::busybox()?;
    image.push(&registry.host(), "flaky", "v1", None).await?;
    let client = client();
    let anonymous = Credentials::Anonymous;

    // Two failures, then the answer: within the three attempts.
    let proxy = RegistryProxy::start(
        registry.addr(),
        ProxyOptions {
            fail_first: 2,
            ..ProxyOptions::default()
        },
    )?;
    let repo = Repository::new(proxy.host(), "flaky");
    let fetched = client.fetch_manifest(&repo, "v1", &anonymous).await?;
    assert_eq!(fetched.digest, image.manifest_digest());
    assert_eq!(proxy.requests().len(), 3);

    // Three failures: the registry's error, with its body.
    let proxy = RegistryProxy::start(
        registry.addr(),
        ProxyOptions {
            fail_first: 3,
            ..ProxyOptions::default()
        },
    )?;
    let repo = Repository::new(proxy.host(), "flaky");
    let err = client
        .blob_size(&repo, &image.config.digest, &anonymous)
        .await
        .expect_err("always failing");
    assert!(
        matches!(&err, RegistryError::Registry { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(proxy.requests().len(), 3, "bounded");

    // A POST is not idempotent: one failure is final.
    let proxy = RegistryProxy::start(
        registry.addr(),
        ProxyOptions {
            fail_first: 1,
            ..ProxyOptions::default()
        },
    )?;
    let repo = Repository::new(proxy.host(), "flaky");
    let err = client
        .push_blob(
            &repo,
            &image.config.digest,
            BlobSource::Bytes(Bytes::from(image.config.data.clone())),
            |_| {},
            &anonymous,
        )
        .await
        .expect_err("503 on POST");
    assert!(
        matches!(&err, RegistryError::Registry { status: 503, message } if message.contains("UNAVAILABLE: try again")),
        "{err:?}"
    );
    assert_eq!(proxy.requests().len(), 1);
    Ok(())
}
