//! What containers hold and change, through the stock docker CLI: exec, diff, commit and
//! history, cp both ways, export, volumes (named, bind, tmpfs), stats, top, events, and an
//! image in use refusing rmi.

use berth_tests::{CliOutput, DockerCli, TestAgent};
use serde_json::Value;
use std::time::Duration;

struct Setup {
    agent: TestAgent,
    docker: DockerCli,
}

fn setup() -> Setup {
    let (agent, docker) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    Setup { agent, docker }
}

fn run(docker: &DockerCli, args: &[&str]) -> CliOutput {
    docker.run(args).expect("docker ran")
}

fn ok(docker: &DockerCli, args: &[&str]) -> String {
    run(docker, args).ok().expect("docker succeeded").stdout
}

#[test]
fn exec_runs_in_the_container_with_user_workdir_env_and_exit_code() {
    let s = setup();
    let d = &s.docker;
    ok(
        d,
        &["run", "-d", "--name", "box", "busybox", "sleep", "1000"],
    );
    assert_eq!(
        ok(d, &["exec", "box", "hostname"]).trim(),
        ok(d, &["inspect", "-f", "{{.Config.Hostname}}", "box"]).trim()
    );
    assert_eq!(
        ok(d, &["exec", "-u", "nobody", "box", "id", "-u"]).trim(),
        "65534"
    );
    assert_eq!(ok(d, &["exec", "-w", "/etc", "box", "pwd"]).trim(), "/etc");
    assert_eq!(
        ok(
            d,
            &[
                "exec",
                "-e",
                "GREETING=hi",
                "box",
                "sh",
                "-c",
                "echo $GREETING"
            ]
        )
        .trim(),
        "hi"
    );
    let failed = run(d, &["exec", "box", "sh", "-c", "exit 7"]);
    assert_eq!(failed.code(), Some(7));
    // The exec sees the container's processes, in its PID namespace.
    let ps = ok(d, &["exec", "box", "ps", "-o", "pid,comm"]);
    assert!(ps.lines().any(|l| l.trim() == "1 sleep"), "{ps}");
    let piped = d
        .run_with_stdin(&["exec", "-i", "box", "cat"], b"through exec stdin\n")
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(piped.stdout, "through exec stdin\n");
    let stopped = run(d, &["exec", "nosuchbox", "true"]);
    assert!(!stopped.success());
}

#[test]
fn diff_then_commit_makes_an_image_with_the_change() {
    let s = setup();
    let d = &s.docker;
    ok(
        d,
        &[
            "run",
            "-d",
            "--name",
            "work",
            "busybox",
            "sh",
            "-c",
            "echo made > /made.txt; rm /etc/group; sleep 1000",
        ],
    );
    for _ in 0..200 {
        if ok(d, &["diff", "work"]).contains("/made.txt") {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let diff = ok(d, &["diff", "work"]);
    let lines: Vec<&str> = diff.lines().collect();
    assert!(lines.contains(&"A /made.txt"), "{diff}");
    assert!(lines.contains(&"D /etc/group"), "{diff}");
    assert!(lines.contains(&"C /etc"), "{diff}");
    assert!(
        !diff.contains("/etc/hosts") && !diff.contains("A /proc"),
        "runtime mount points leaked into the diff: {diff}"
    );
    let id = ok(
        d,
        &[
            "commit",
            "-m",
            "made a file",
            "-a",
            "tester",
            "-c",
            "CMD [\"cat\", \"/made.txt\"]",
            "work",
            "made:v1",
        ],
    );
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let history = ok(
        d,
        &[
            "history",
            "--no-trunc",
            "--format",
            "{{.Comment}}|{{.CreatedBy}}",
            "made:v1",
        ],
    );
    assert!(
        history
            .lines()
            .next()
            .unwrap_or("")
            .starts_with("made a file|"),
        "{history}"
    );
    assert_eq!(ok(d, &["run", "--rm", "made:v1"]).trim(), "made");
    let listing = ok(d, &["run", "--rm", "made:v1", "ls", "/etc"]);
    assert!(
        !listing.lines().any(|l| l == "group"),
        "the deleted file came back: {listing}"
    );
    let config: Value = serde_json::from_str(&ok(d, &["image", "inspect", "made:v1"])).unwrap();
    assert_eq!(config[0]["Author"], "tester");
    // The image a container uses cannot be deleted from under it.
    ok(d, &["create", "--name", "user-of-made", "made:v1"]);
    let refused = run(d, &["rmi", "made:v1"]);
    assert!(
        !refused.success() && refused.stderr.contains("conflict"),
        "{refused:?}"
    );
    ok(d, &["rm", "user-of-made"]);
    ok(d, &["rmi", "made:v1"]);
}

#[test]
fn cp_both_ways_and_export() {
    let s = setup();
    let d = &s.docker;
    ok(
        d,
        &[
            "run",
            "-d",
            "--name",
            "files",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /data/sub; echo inner > /data/sub/f; sleep 1000",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = s.agent.temp_dir().join("copied");
    ok(d, &["cp", "files:/data", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("sub/f")).unwrap(),
        "inner\n"
    );
    let upload = s.agent.temp_dir().join("upload.txt");
    std::fs::write(&upload, "from the host\n").unwrap();
    ok(d, &["cp", upload.to_str().unwrap(), "files:/data/"]);
    assert_eq!(
        ok(d, &["exec", "files", "cat", "/data/upload.txt"]),
        "from the host\n"
    );
    let missing = run(d, &["cp", "files:/no/such/path", out.to_str().unwrap()]);
    assert!(!missing.success());
    // A symlink in the container pointing at the host's /etc resolves inside the container.
    ok(d, &["exec", "files", "ln", "-s", "/etc", "/data/escape"]);
    let via_link = s.agent.temp_dir().join("via-link");
    ok(
        d,
        &[
            "cp",
            "files:/data/escape/passwd",
            via_link.to_str().unwrap(),
        ],
    );
    let copied = std::fs::read_to_string(&via_link).unwrap();
    assert!(copied.contains("nobody"), "{copied}");
    assert_ne!(copied, std::fs::read_to_string("/etc/passwd").unwrap());
    let tar = s.agent.temp_dir().join("export.tar");
    ok(d, &["export", "-o", tar.to_str().unwrap(), "files"]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(names.lines().any(|l| l == "data/sub/f"), "{names}");
    assert!(names.lines().any(|l| l == "bin/busybox"), "{names}");
}

#[test]
fn volumes_named_bind_and_tmpfs() {
    let s = setup();
    let d = &s.docker;
    ok(
        d,
        &[
            "run",
            "--rm",
            "-v",
            "keep:/data",
            "busybox",
            "sh",
            "-c",
            "echo persisted > /data/f",
        ],
    );
    assert_eq!(
        ok(
            d,
            &[
                "run",
                "--rm",
                "-v",
                "keep:/data",
                "busybox",
                "cat",
                "/data/f"
            ]
        ),
        "persisted\n"
    );
    assert!(ok(d, &["volume", "ls", "-q"]).lines().any(|l| l == "keep"));
    let inspect: Value = serde_json::from_str(&ok(d, &["volume", "inspect", "keep"])).unwrap();
    assert_eq!(inspect[0]["Driver"], "local");
    ok(d, &["volume", "create", "--label", "team=a", "made"]);
    ok(
        d,
        &[
            "create", "--name", "holder", "-v", "made:/m", "busybox", "true",
        ],
    );
    let busy = run(d, &["volume", "rm", "made"]);
    assert!(
        !busy.success() && busy.stderr.contains("in use"),
        "{busy:?}"
    );
    ok(d, &["rm", "holder"]);
    ok(d, &["volume", "rm", "made"]);
    let host_dir = s.agent.temp_dir().join("bind");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("in"), "host file\n").unwrap();
    let bind = format!("{}:/h:ro", host_dir.display());
    assert_eq!(
        ok(d, &["run", "--rm", "-v", &bind, "busybox", "cat", "/h/in"]),
        "host file\n"
    );
    let write = run(
        d,
        &["run", "--rm", "-v", &bind, "busybox", "touch", "/h/new"],
    );
    assert!(!write.success(), "wrote through a read-only bind");
    let tmpfs = ok(
        d,
        &[
            "run",
            "--rm",
            "--tmpfs",
            "/scratch",
            "busybox",
            "sh",
            "-c",
            "grep ' /scratch ' /proc/mounts",
        ],
    );
    assert!(tmpfs.contains("tmpfs"), "{tmpfs}");
    ok(d, &["volume", "prune", "-a", "-f"]);
    assert_eq!(ok(d, &["volume", "ls", "-q"]).trim(), "");
}

#[test]
fn stats_top_and_events() {
    let s = setup();
    let d = &s.docker;
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    ok(
        d,
        &[
            "run", "-d", "--name", "watched", "-m", "64m", "busybox", "sleep", "1000",
        ],
    );
    let stats = ok(
        d,
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.MemUsage}} {{.PIDs}}",
            "watched",
        ],
    );
    assert!(stats.starts_with("watched "), "{stats}");
    assert!(
        stats.contains("64MiB"),
        "memory limit not reported: {stats}"
    );
    assert!(stats.trim().ends_with(" 1"), "{stats}");
    let top = ok(d, &["top", "watched"]);
    assert!(top.contains("sleep 1000"), "{top}");
    ok(d, &["rm", "-f", "watched"]);
    // `--until` just past now: the CLI returns once the history up to then is sent.
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let events = ok(
        d,
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until,
            "--filter",
            "type=container",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
        ],
    );
    let actions: Vec<&str> = events.lines().collect();
    for want in [
        "create watched",
        "start watched",
        "kill watched",
        "die watched 137",
        "destroy watched",
    ] {
        assert!(
            actions.iter().any(|a| a.trim().starts_with(want)),
            "no {want:?} in {events}"
        );
    }
}

/// The copy-based driver (`--storage-driver vfs`, for data roots on overlayfs): run,
/// diff, commit and remove through it.
#[test]
fn the_vfs_storage_driver_runs_diffs_and_commits() {
    let (_agent, d) = berth_tests::agent_with_busybox(&["--storage-driver", "vfs"]).expect("agent");
    let info = ok(&d, &["info", "--format", "{{.Driver}}"]);
    assert_eq!(info.trim(), "vfs");
    ok(
        &d,
        &[
            "run",
            "--name",
            "vv",
            "busybox",
            "sh",
            "-c",
            "echo vfs > /made; rm /etc/group",
        ],
    );
    let diff = ok(&d, &["diff", "vv"]);
    assert!(diff.lines().any(|l| l == "A /made"), "{diff}");
    assert!(diff.lines().any(|l| l == "D /etc/group"), "{diff}");
    ok(&d, &["commit", "vv", "vfs-made:1"]);
    assert_eq!(
        ok(&d, &["run", "--rm", "vfs-made:1", "cat", "/made"]),
        "vfs\n"
    );
    ok(&d, &["rm", "vv"]);
    let inspect: Value =
        serde_json::from_str(&ok(&d, &["image", "inspect", "vfs-made:1"])).unwrap();
    assert!(inspect[0]["RootFS"]["Layers"].as_array().unwrap().len() >= 2);
}

#[test]
fn update_changes_limits_of_a_running_container() {
    let s = setup();
    let d = &s.docker;
    ok(
        d,
        &[
            "run", "-d", "--name", "grow", "-m", "32m", "busybox", "sleep", "1000",
        ],
    );
    ok(
        d,
        &[
            "update",
            "--memory",
            "96m",
            "--memory-swap",
            "96m",
            "--pids-limit",
            "20",
            "--restart",
            "on-failure:3",
            "grow",
        ],
    );
    let stats = ok(
        d,
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", "grow"],
    );
    assert!(stats.contains("96MiB"), "{stats}");
    let inspect: Value = serde_json::from_str(&ok(d, &["inspect", "grow"])).unwrap();
    let host = &inspect[0]["HostConfig"];
    assert_eq!(host["Memory"], 96 * 1024 * 1024);
    assert_eq!(host["PidsLimit"], 20);
    assert_eq!(host["RestartPolicy"]["Name"], "on-failure");
    let refused = run(d, &["update", "--restart", "sometimes", "grow"]);
    assert!(!refused.success());
}
