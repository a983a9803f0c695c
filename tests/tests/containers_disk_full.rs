//! A full disk: the data root is a small tmpfs that a container fills. Creating and
//! starting containers then fails with a clear error and leaves nothing half-made; the
//! images and the filling container are intact, and all works again once space returns.

use berth_tests::{DockerCli, TestAgent, TestImage};

#[test]
fn a_full_data_root_fails_clearly_and_loses_nothing() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start_on_small_disk("24m").expect("agent on a 24 MiB disk");
    let d = DockerCli::for_agent(&agent).expect("docker cli");
    berth_tests::load_image(&agent, &d, &TestImage::busybox().unwrap(), "busybox:latest")
        .expect("docker load");
    d.run(&[
        "run",
        "-d",
        "--name",
        "filler",
        "busybox",
        "sh",
        "-c",
        "head -c 100000000 /dev/zero > /fill; sleep 1000",
    ])
    .unwrap()
    .ok()
    .expect("the filling container starts");
    // Its own log cannot take another line once the disk is full, so watch the disk.
    for _ in 0..400 {
        if available_kib(agent.root()) < 64 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refused = d
        .run(&["run", "--rm", "--name", "late", "busybox", "true"])
        .unwrap();
    assert!(
        !refused.success(),
        "a container ran on a full disk: {refused:?}"
    );
    assert!(
        refused.stderr.contains("No space left on device"),
        "the error does not say why: {refused:?}"
    );
    let names = d
        .run(&["ps", "-a", "--format", "{{.Names}}"])
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(
        names.stdout.trim(),
        "filler",
        "a half-made container was left"
    );
    let images = d
        .run(&["images", "--format", "{{.Repository}}"])
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(images.stdout.trim(), "busybox");
    assert_eq!(
        d.run(&["inspect", "-f", "{{.State.Running}}", "filler"])
            .unwrap()
            .stdout
            .trim(),
        "true"
    );
    d.run(&["rm", "-f", "filler"]).unwrap().ok().unwrap();
    let again = d
        .run(&[
            "run",
            "--rm",
            "--name",
            "late",
            "busybox",
            "echo",
            "space again",
        ])
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(again.stdout, "space again\n");
}

/// Free space of the filesystem at `path`, from `df`.
fn available_kib(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-k"])
        .arg(path)
        .output()
        .expect("df runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(u64::MAX)
}
