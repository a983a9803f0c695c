//! The image half of the Docker API, driven by the stock docker CLI against a real
//! registry: pull, images, inspect, history, tag, push, save, load, import, rmi,
//! image prune, system df — and the events they publish.

use berth_tests::{DockerCli, TestAgent, TestImage, TestRegistry};
use serde_json::Value;

struct Setup {
    agent: TestAgent,
    registry: TestRegistry,
    docker: DockerCli,
    image: TestImage,
}

async fn setup() -> Setup {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().expect("agent");
    let registry = TestRegistry::start().expect("registry");
    let image = TestImage::busybox().expect("busybox image");
    image
        .push(&registry.host(), "busybox", "latest", None)
        .await
        .expect("push the busybox image to the registry");
    let docker = DockerCli::for_agent(&agent).expect("docker cli");
    Setup {
        agent,
        registry,
        docker,
        image,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn pull_inspect_history_tag_and_rmi() {
    let s = setup().await;
    let since = now() - 1;
    let name = format!("{}/busybox:latest", s.registry.host());
    let pulled = s.docker.stdout(&["pull", &name]).unwrap();
    assert!(pulled.contains("Pull complete"), "{pulled}");
    assert!(
        pulled.contains(&format!("Digest: {}", s.image.manifest_digest())),
        "{pulled}"
    );
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    let again = s.docker.stdout(&["pull", &name]).unwrap();
    assert!(again.contains("Image is up to date"), "{again}");

    let images = s
        .docker
        .stdout(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .unwrap();
    let short = &s.image.image_id()["sha256:".len()..][..12];
    assert!(
        images.contains(&format!("{}/busybox:latest {short}", s.registry.host())),
        "{images}"
    );

    let inspect: Vec<Value> =
        serde_json::from_str(&s.docker.stdout(&["inspect", &name]).unwrap()).unwrap();
    assert_eq!(inspect[0]["Id"], s.image.image_id());
    assert_eq!(inspect[0]["Config"]["Cmd"][0], "sh");
    assert_eq!(inspect[0]["RootFS"]["Layers"][0], s.image.layers[0].diff_id);
    assert_eq!(inspect[0]["Os"], "linux");
    let repo_digest = format!(
        "{}/busybox@{}",
        s.registry.host(),
        s.image.manifest_digest()
    );
    assert_eq!(inspect[0]["RepoDigests"][0], repo_digest);
    // Pull by digest resolves to the same image.
    s.docker.stdout(&["pull", &repo_digest]).unwrap();

    let history = s
        .docker
        .stdout(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.CreatedBy}}",
            &name,
        ])
        .unwrap();
    assert!(history.starts_with(s.image.image_id()), "{history}");

    s.docker.stdout(&["tag", &name, "mine:v1"]).unwrap();
    let tagged: Vec<Value> =
        serde_json::from_str(&s.docker.stdout(&["inspect", "mine:v1"]).unwrap()).unwrap();
    assert_eq!(tagged[0]["Id"], s.image.image_id());
    // Removing one of two tags only untags.
    let untag = s.docker.stdout(&["rmi", "mine:v1"]).unwrap();
    assert!(untag.contains("Untagged: mine:v1"), "{untag}");
    assert!(!untag.contains("Deleted"), "{untag}");
    // By ID with a single tag left: untag and delete, layers too.
    let gone = s.docker.stdout(&["rmi", short]).unwrap();
    assert!(gone.contains("Deleted: sha256:"), "{gone}");
    assert!(
        s.docker
            .stdout(&["images", "-q"])
            .unwrap()
            .trim()
            .is_empty()
    );
    let layers = std::fs::read_dir(s.agent.root().join("layers"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(layers, 0, "unused layers are deleted with the image");

    let missing = s.docker.run(&["rmi", "nothing:here"]).unwrap();
    assert!(!missing.success());
    assert!(
        missing.stderr.contains("No such image: nothing:here"),
        "{}",
        missing.stderr
    );

    let events = s
        .docker
        .stdout(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &(now() + 1).to_string(),
            "--filter",
            "type=image",
            "--format",
            "{{.Action}}",
        ])
        .unwrap();
    for action in ["pull", "tag", "untag", "delete"] {
        assert!(
            events.lines().any(|l| l == action),
            "no {action} event in:\n{events}"
        );
    }
}

#[tokio::test]
async fn push_save_load_and_import() {
    let s = setup().await;
    let name = format!("{}/busybox:latest", s.registry.host());
    s.docker.stdout(&["pull", &name]).unwrap();
    // Push to another repository of the same registry: the layer is mounted, not re-sent.
    let copy = format!("{}/team/copy:v1", s.registry.host());
    s.docker.stdout(&["tag", &name, &copy]).unwrap();
    let pushed = s.docker.stdout(&["push", &copy]).unwrap();
    assert!(
        pushed.contains("Mounted from busybox") || pushed.contains("Layer already exists"),
        "{pushed}"
    );
    assert!(pushed.contains("v1: digest: sha256:"), "{pushed}");
    let manifest = reqwest::Client::new()
        .get(s.registry.url("/v2/team/copy/manifests/v1"))
        .header(
            "accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);

    // save → rmi → load gives back the same image.
    let archive = s.agent.temp_dir().join("saved.tar");
    s.docker
        .stdout(&["save", "-o", archive.to_str().unwrap(), &copy])
        .unwrap();
    s.docker.stdout(&["rmi", "-f", &copy, &name]).unwrap();
    assert!(
        s.docker
            .stdout(&["images", "-q"])
            .unwrap()
            .trim()
            .is_empty()
    );
    let loaded = s
        .docker
        .stdout(&["load", "-i", archive.to_str().unwrap()])
        .unwrap();
    assert!(
        loaded.contains(&format!("Loaded image: {copy}")),
        "{loaded}"
    );
    let inspect: Vec<Value> =
        serde_json::from_str(&s.docker.stdout(&["inspect", &copy]).unwrap()).unwrap();
    assert_eq!(inspect[0]["Id"], s.image.image_id());

    // import: a root filesystem tar becomes a one-layer image.
    let rootfs = s.agent.temp_dir().join("rootfs.tar");
    std::fs::write(&rootfs, s.image.layers[0].tar().unwrap()).unwrap();
    let imported = s
        .docker
        .stdout(&[
            "import",
            "-m",
            "from a tar",
            rootfs.to_str().unwrap(),
            "imported:v1",
        ])
        .unwrap();
    assert!(imported.trim().starts_with("sha256:"), "{imported}");
    let history = s
        .docker
        .stdout(&["history", "--format", "{{.Comment}}", "imported:v1"])
        .unwrap();
    assert_eq!(history.trim(), "from a tar");
    let inspect: Vec<Value> =
        serde_json::from_str(&s.docker.stdout(&["inspect", "imported:v1"]).unwrap()).unwrap();
    assert_eq!(inspect[0]["RootFS"]["Layers"][0], s.image.layers[0].diff_id);

    // Both images stand on the same layer: stored once.
    let graph: Value = s
        .agent
        .get("/berth/v1/layers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let layers = graph["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{graph}");
    assert_eq!(layers[0]["images"].as_array().unwrap().len(), 2, "{graph}");

    let df = s
        .docker
        .stdout(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"])
        .unwrap();
    assert!(df.contains("Images 2"), "{df}");

    // prune -a removes images no container uses.
    let pruned = s.docker.stdout(&["image", "prune", "-a", "-f"]).unwrap();
    assert!(pruned.contains("Deleted"), "{pruned}");
    assert!(
        s.docker
            .stdout(&["images", "-q"])
            .unwrap()
            .trim()
            .is_empty()
    );
}
