//! Bad input loses nothing: a blob whose bytes do not match its digest, a manifest
//! naming a missing blob, layers with hostile tar entries, bad archives for load and
//! import, an unknown image. Each gets a clear error and leaves the store as it was.

use berth_tests::image::{EntryKind, Layer, LayerBuilder};
use berth_tests::{DockerCli, TestAgent, TestImage};
use flate2::Compression;

/// Nothing of a failed pull is visible: no image, no layer, no committed blob.
fn assert_store_empty(agent: &TestAgent, docker: &DockerCli) {
    let images = docker.run(&["images", "-q"]).unwrap().ok().unwrap();
    assert!(images.stdout.trim().is_empty(), "{}", images.stdout);
    let visible = |dir: &str| {
        std::fs::read_dir(agent.root().join(dir))
            .map(|d| {
                d.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(visible("layers"), 0, "no layer dir left");
    let staging = std::fs::read_dir(agent.root().join("layers/.staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staging, 0, "no half-extracted layer left");
}

/// A layer holding one hostile entry on top of a harmless file.
fn hostile_layer(path: &str, kind: EntryKind) -> LayerBuilder {
    let mut layer = LayerBuilder::new();
    layer.file("ok.txt", 0o644, "fine");
    layer.unchecked(path, 0o644, kind);
    layer
}

#[tokio::test]
async fn a_blob_that_does_not_match_its_digest_is_refused() {
    let (agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let image = TestImage::busybox().unwrap();
    image
        .push(&registry.host(), "tampered", "latest", None)
        .await
        .unwrap();
    // Flip bytes of the layer blob inside the registry's storage.
    let hex = &image.layers[0].blob.digest["sha256:".len()..];
    let data = registry.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let mut bytes = std::fs::read(&data).expect("blob data in the registry storage");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();

    let out = docker
        .run(&["pull", &format!("{}/tampered:latest", registry.host())])
        .unwrap();
    assert!(!out.success(), "{}", out.stdout);
    let text = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    assert!(
        text.contains("digest mismatch")
            || text.contains("cannot decompress")
            || text.contains("corrupt"),
        "{text}"
    );
    assert_store_empty(&agent, &docker);
}

#[tokio::test]
async fn a_manifest_naming_a_missing_blob_fails_clearly() {
    let (agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let image = TestImage::busybox().unwrap();
    image
        .push(&registry.host(), "holey", "latest", None)
        .await
        .unwrap();
    let hex = &image.layers[0].blob.digest["sha256:".len()..];
    std::fs::remove_dir_all(registry.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}",
        &hex[..2]
    )))
    .unwrap();
    let out = docker
        .run(&["pull", &format!("{}/holey:latest", registry.host())])
        .unwrap();
    assert!(!out.success());
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(&image.layers[0].blob.digest) || text.to_lowercase().contains("unknown"),
        "{text}"
    );
    assert_store_empty(&agent, &docker);

    let unknown = docker
        .run(&["pull", &format!("{}/no-such-image:latest", registry.host())])
        .unwrap();
    assert!(!unknown.success());
    assert!(
        unknown.stderr.to_lowercase().contains("not found") || unknown.stderr.contains("unknown"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
async fn hostile_layers_are_refused_and_nothing_escapes() {
    let (agent, registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let canary_dir = agent.temp_dir().join("outside");
    std::fs::create_dir_all(&canary_dir).unwrap();
    let cases: Vec<(&str, LayerBuilder)> = vec![
        (
            "dotdot",
            hostile_layer(
                "../../../../../../tmp/berth-escape-dotdot",
                EntryKind::File(b"x".to_vec()),
            ),
        ),
        (
            "hardlink",
            hostile_layer(
                "passwd-link",
                EntryKind::Hardlink("../../../../../../etc/passwd".into()),
            ),
        ),
        (
            "deep-dotdot",
            hostile_layer(
                "a/../../../../../../../tmp/berth-escape-deep",
                EntryKind::File(b"x".to_vec()),
            ),
        ),
    ];
    for (name, layer) in cases {
        let tar = layer.to_tar().unwrap();
        let image = TestImage::busybox()
            .unwrap()
            .with_layer(&layer, name)
            .unwrap();
        let _ = tar;
        image
            .push(&registry.host(), name, "latest", None)
            .await
            .unwrap();
        let out = docker
            .run(&["pull", &format!("{}/{name}:latest", registry.host())])
            .unwrap();
        assert!(
            !out.success(),
            "{name}: hostile layer was accepted:\n{}",
            out.stdout
        );
        assert!(
            !std::path::Path::new(&format!("/tmp/berth-escape-{name}")).exists(),
            "{name} wrote outside the layer"
        );
        let images = docker.run(&["images", "-q"]).unwrap().ok().unwrap();
        assert!(images.stdout.trim().is_empty(), "{name}: {}", images.stdout);
    }
    // A symlink to / then a write through it lands inside the layer, not on the host.
    let mut layer = LayerBuilder::new();
    layer.symlink("evil", "/");
    layer.unchecked(
        "evil/tmp/berth-escape-symlink",
        0o644,
        EntryKind::File(b"x".to_vec()),
    );
    let image = TestImage::busybox()
        .unwrap()
        .with_layer(&layer, "symlink")
        .unwrap();
    image
        .push(&registry.host(), "symlink", "latest", None)
        .await
        .unwrap();
    let _ = docker
        .run(&["pull", &format!("{}/symlink:latest", registry.host())])
        .unwrap();
    assert!(!std::path::Path::new("/tmp/berth-escape-symlink").exists());
}

#[tokio::test]
async fn bad_archives_for_load_and_import_are_refused() {
    let (agent, _registry, docker) =
        berth_tests::agent_with_registry().expect("agent, registry and CLI");
    let dir = agent.temp_dir();
    let junk = dir.join("junk.tar");
    std::fs::write(&junk, b"this is not a tar at all, not even close").unwrap();
    let out = docker.run(&["load", "-i", junk.to_str().unwrap()]).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr.contains("invalid image archive"),
        "{}",
        out.stderr
    );

    // An archive whose layer does not match the config's diff ID.
    let image = TestImage::busybox().unwrap();
    let other = Layer::from_tar(
        &LayerBuilder::new().file("x", 0o644, "y").to_tar().unwrap(),
        Compression::default(),
        "x",
    )
    .unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let add = |tar: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    };
    let config_hex = &image.config.digest["sha256:".len()..];
    add(
        &mut tar,
        &format!("blobs/sha256/{config_hex}"),
        &image.config.data,
    );
    add(&mut tar, "layer.tar", &other.blob.data);
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{config_hex}"),
        "RepoTags": ["liar:latest"],
        "Layers": ["layer.tar"],
    }]);
    add(&mut tar, "manifest.json", manifest.to_string().as_bytes());
    let liar = dir.join("liar.tar");
    std::fs::write(&liar, tar.into_inner().unwrap()).unwrap();
    let out = docker.run(&["load", "-i", liar.to_str().unwrap()]).unwrap();
    assert!(!out.success());
    assert!(out.stderr.contains("digest mismatch"), "{}", out.stderr);

    // import of a tar with an escaping entry.
    let evil = hostile_layer(
        "../../../../tmp/berth-escape-import",
        EntryKind::File(b"x".to_vec()),
    )
    .to_tar()
    .unwrap();
    let evil_path = dir.join("evil.tar");
    std::fs::write(&evil_path, evil).unwrap();
    let out = docker
        .run(&["import", evil_path.to_str().unwrap(), "evil:v1"])
        .unwrap();
    assert!(!out.success());
    assert!(!std::path::Path::new("/tmp/berth-escape-import").exists());
    assert_store_empty(&agent, &docker);

    let unknown = docker
        .run(&["inspect", "--type", "image", "nope:nope"])
        .unwrap();
    assert!(!unknown.success());
    assert!(
        unknown.stderr.contains("No such image"),
        "{}",
        unknown.stderr
    );
}
