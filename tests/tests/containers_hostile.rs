//! Hostile images and requests against the runtime: symlinked /proc, mount destinations
//! through image symlinks, overflowing user IDs, unknown images, malformed bodies. Each
//! must fail clearly (or stay inside the container) and leave the host untouched.

use berth_tests::image::LayerBuilder;
use berth_tests::{DockerCli, TestAgent, TestImage};
use reqwest::Method;

fn agent_with(image: &TestImage, tag: &str) -> (TestAgent, DockerCli) {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    let docker = DockerCli::for_agent(&agent).expect("docker cli");
    berth_tests::load_image(&agent, &docker, image, tag).expect("docker load");
    (agent, docker)
}

fn busybox_with(layer: &LayerBuilder) -> TestImage {
    TestImage::busybox()
        .expect("busybox")
        .with_layer(layer, "hostile layer")
        .expect("image with a hostile layer")
}

/// An image whose /proc and /dev are symlinks (to host-looking paths) cannot redirect the
/// runtime's mounts: the container's init layer puts real directories over them (as
/// Docker's init layer does), so /proc is procfs and /dev a fresh tmpfs, in the container.
#[test]
fn proc_and_dev_symlinks_in_the_image_cannot_redirect_mounts() {
    let mut layer = LayerBuilder::new();
    layer.symlink("proc", "/etc").symlink("dev", "/tmp");
    let (_agent, docker) = agent_with(&busybox_with(&layer), "evil-proc:latest");
    let out = docker
        .run(&["run", "--rm", "evil-proc", "sh", "-c", "test ! -L /proc && test ! -L /dev && grep -E '^(proc /proc proc|tmpfs /dev tmpfs)' /proc/mounts"])
        .unwrap()
        .ok()
        .expect("the container runs with real /proc and /dev");
    assert!(out.stdout.contains("proc /proc proc"), "{out:?}");
    assert!(out.stdout.contains("tmpfs /dev tmpfs"), "{out:?}");
}

#[test]
fn a_mount_destination_through_an_image_symlink_stays_inside_the_container() {
    let marker = format!("berth-escape-{}", std::process::id());
    let mut layer = LayerBuilder::new();
    layer.symlink("data", "/tmp");
    let (agent, docker) = agent_with(&busybox_with(&layer), "evil-mount:latest");
    let source = agent.temp_dir().join("vol");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("inside"), "bound\n").unwrap();
    let bind = format!("{}:/data/{marker}", source.display());
    let out = docker
        .run(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "evil-mount",
            "cat",
            &format!("/tmp/{marker}/inside"),
        ])
        .unwrap()
        .ok()
        .expect("the bind lands at the symlink's target inside the container");
    assert_eq!(out.stdout, "bound\n");
    assert!(
        !std::path::Path::new("/tmp").join(&marker).exists(),
        "the mount point was created on the host"
    );
}

#[test]
fn an_overflowing_user_id_never_becomes_root() {
    let mut layer = LayerBuilder::new();
    layer.file(
        "etc/passwd",
        0o644,
        "root:x:0:0:root:/root:/bin/sh\nevil:x:4294967296:4294967296::/:/bin/sh\n",
    );
    let (_agent, docker) = agent_with(&busybox_with(&layer), "evil-user:latest");
    let out = docker
        .run(&["run", "--rm", "--user", "evil", "evil-user", "id", "-u"])
        .unwrap();
    assert!(!out.success(), "ran as an overflowing uid: {out:?}");
    assert_ne!(out.stdout.trim(), "0");
    let numeric = docker
        .run(&[
            "run",
            "--rm",
            "--user",
            "4294967296",
            "evil-user",
            "id",
            "-u",
        ])
        .unwrap();
    assert!(!numeric.success(), "{numeric:?}");
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_create_nothing() {
    let (agent, docker) = agent_with(&TestImage::busybox().unwrap(), "busybox:latest");
    let unknown = docker.run(&["create", "no-such-image:v9"]).unwrap();
    assert!(!unknown.success());
    let malformed = agent
        .request(Method::POST, "/containers/create")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let no_image = agent
        .request(Method::POST, "/containers/create")
        .json(&serde_json::json!({"Image": "ghost:latest", "Cmd": ["true"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_image.status(), 404);
    let body: serde_json::Value = no_image.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("No such image"),
        "{body}"
    );
    let bad_name = docker
        .run(&["create", "--name", "bad name!", "busybox", "true"])
        .unwrap();
    assert!(
        !bad_name.success() && bad_name.stderr.contains("Invalid container name"),
        "{bad_name:?}"
    );
    let bad_cap = docker
        .run(&["create", "--cap-add", "FLY", "busybox", "true"])
        .unwrap();
    assert!(!bad_cap.success(), "{bad_cap:?}");
    let viewer = agent.create_token("viewer").unwrap();
    let refused = agent
        .request_as(&viewer, Method::POST, "/containers/create")
        .json(&serde_json::json!({"Image": "busybox", "Cmd": ["true"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let left = docker.run(&["ps", "-aq"]).unwrap().ok().unwrap();
    assert_eq!(left.stdout.trim(), "", "a failed create left a container");
}
