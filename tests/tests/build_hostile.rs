//! Hostile and broken builds: each is a clear error, and leaves no container, no mount
//! and no image for the failed step — COPY of `../outside`, symlinks out of the context,
//! absolute and `..` names in the context tar, whiteout names, malformed Dockerfiles and
//! unknown instructions, a failing RUN, a missing base image, huge Dockerfiles, viewers.

use berth_tests::{CliOutput, DockerCli, TestAgent, TestRegistry};
use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn setup() -> (TestAgent, DockerCli) {
    berth_tests::agent_with_busybox(&[]).expect("agent with busybox")
}

fn run(docker: &DockerCli, args: &[&str]) -> CliOutput {
    docker.run(args).expect("docker ran")
}

fn write(dir: &Path, path: &str, body: &[u8]) {
    let target = dir.join(path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(target, body).unwrap();
}

fn context(agent: &TestAgent, name: &str, dockerfile: &str) -> PathBuf {
    let dir = agent.temp_dir().join(name);
    write(&dir, "Dockerfile", dockerfile.as_bytes());
    dir
}

fn build(docker: &DockerCli, dir: &Path) -> CliOutput {
    run(docker, &["build", "-t", "hostile:1", dir.to_str().unwrap()])
}

/// The failure leaves no container, no mount under the data root and no tag.
fn assert_nothing_left(agent: &TestAgent, docker: &DockerCli) {
    let ps = run(docker, &["ps", "-aq"]).ok().unwrap();
    assert_eq!(ps.stdout.trim(), "", "a container was left behind");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = agent.root().to_str().unwrap();
    let ours: Vec<&str> = mounts.lines().filter(|l| l.contains(root)).collect();
    assert!(ours.is_empty(), "mounts left behind: {ours:#?}");
    let work = agent.root().join("build/work");
    let left = std::fs::read_dir(&work).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "build snapshots left in {work:?}");
    let tagged = run(docker, &["images", "-q", "hostile"]).ok().unwrap();
    assert_eq!(tagged.stdout.trim(), "", "a failed build was tagged");
}

fn fails_with(out: &CliOutput, needle: &str) {
    assert!(!out.success(), "the build succeeded: {out:?}");
    assert!(
        out.stderr.contains(needle) || out.stdout.contains(needle),
        "expected {needle:?} in {out:?}"
    );
}

#[test]
fn copy_of_a_path_outside_the_context_is_refused() {
    let (agent, docker) = setup();
    let dir = context(&agent, "ctx", "FROM busybox\nCOPY ../outside /x\n");
    write(agent.temp_dir(), "outside", b"a file beside the context\n");
    let out = build(&docker, &dir);
    fails_with(&out, "forbidden path outside the build context: ../outside");
    let nested = context(&agent, "nested", "FROM busybox\nCOPY a/../../secret /x\n");
    fails_with(
        &build(&docker, &nested),
        "forbidden path outside the build context",
    );
    assert_nothing_left(&agent, &docker);
}

#[test]
fn symlinks_never_reach_the_host() {
    let (agent, docker) = setup();
    let dir = context(&agent, "links", "FROM busybox\nCOPY shadow /stolen\n");
    std::os::unix::fs::symlink("/etc/shadow", dir.join("shadow")).unwrap();
    let out = build(&docker, &dir);
    fails_with(&out, "stat shadow: file does not exist");
    fails_with(&out, "symlink to /etc/shadow");
    assert_nothing_left(&agent, &docker);

    // A link out of the context by `..` resolves inside it (to nothing).
    let dir = context(&agent, "up", "FROM busybox\nCOPY up/etc/passwd /stolen\n");
    std::os::unix::fs::symlink("../../../../../../", dir.join("up")).unwrap();
    fails_with(&build(&docker, &dir), "file does not exist");

    // Copied as part of a directory, a link stays a link: in the image it points at the
    // image's own /etc.
    let dir = context(
        &agent,
        "tree",
        "FROM busybox\nCOPY . /ctx/\nCMD [\"sh\", \"-c\", \"readlink /ctx/etc; cat /ctx/etc/hostname\"]\n",
    );
    std::os::unix::fs::symlink("/etc", dir.join("etc")).unwrap();
    run(&docker, &["build", "-t", "links:1", dir.to_str().unwrap()])
        .ok()
        .expect("a context with a symlink builds");
    let out = run(&docker, &["run", "--rm", "--hostname", "inside", "links:1"])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "/etc\ninside\n");
}

/// A context tar that the CLI would never send, posted as is.
fn raw_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

async fn post_build(agent: &TestAgent, query: &str, body: Vec<u8>) -> (u16, String) {
    let response = agent
        .request(Method::POST, &format!("/build?{query}"))
        .header("content-type", "application/x-tar")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn hostile_context_tars_and_dockerfiles_are_400s() {
    let (agent, docker) = setup();
    let dockerfile = b"FROM busybox\nCOPY . /\n";
    for evil in ["../escape", "/etc/cron.d/evil", "a/../../b"] {
        let tar = raw_tar(&[("Dockerfile", dockerfile), (evil, b"x")]);
        let (status, body) = post_build(&agent, "t=evil", tar).await;
        assert_eq!(status, 400, "{evil}: {body}");
        let message: Value = serde_json::from_str(&body).unwrap();
        let message = message["message"].as_str().unwrap();
        assert!(message.contains("build context entry"), "{message}");
        assert!(message.contains(evil.trim_start_matches('/')), "{message}");
    }
    assert!(!Path::new("/escape").exists());

    // A malformed Dockerfile: the line and column are in the answer.
    let tar = raw_tar(&[("Dockerfile", b"FROM busybox\nRUN true\n  FLY away\n")]);
    let (status, body) = post_build(&agent, "", tar).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("dockerfile parse error on line 3, column 3: unknown instruction: FLY"),
        "{body}"
    );
    // A huge line, a huge file, garbage instead of a tar, no Dockerfile at all.
    let long = format!("FROM busybox\nRUN echo {}\n", "y".repeat(70_000));
    let (status, body) = post_build(&agent, "", raw_tar(&[("Dockerfile", long.as_bytes())])).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("line 2") && body.contains("max allowed size"),
        "{body}"
    );
    let huge = "# padding\n".repeat(300_000);
    let (status, body) = post_build(&agent, "", raw_tar(&[("Dockerfile", huge.as_bytes())])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bytes"), "{body}");
    let (status, body) = post_build(&agent, "", vec![0x42; 4096]).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_build(&agent, "", raw_tar(&[("other", b"x")])).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Cannot locate specified Dockerfile: Dockerfile"),
        "{body}"
    );
    let (status, body) = post_build(
        &agent,
        "target=nope",
        raw_tar(&[("Dockerfile", dockerfile)]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        message["message"],
        "target stage \"nope\" could not be found"
    );
    let (status, _) = post_build(
        &agent,
        "t=Bad%20Tag",
        raw_tar(&[("Dockerfile", dockerfile)]),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_build(&agent, "version=2", raw_tar(&[("Dockerfile", dockerfile)])).await;
    assert_eq!(status, 400);
    let (status, _) = post_build(
        &agent,
        "buildargs=%5B1%5D",
        raw_tar(&[("Dockerfile", dockerfile)]),
    )
    .await;
    assert_eq!(status, 400);

    // A viewer may not build.
    let viewer = agent.create_token("viewer").unwrap();
    let refused = agent
        .request_as(&viewer, Method::POST, "/build")
        .body(raw_tar(&[("Dockerfile", dockerfile)]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_nothing_left(&agent, &docker);
}

#[test]
fn malformed_dockerfiles_fail_through_the_cli_with_line_and_column() {
    let (agent, docker) = setup();
    let cases = [
        (
            "FROM busybox\nBOGUS thing\n",
            "line 2, column 1: unknown instruction: BOGUS",
        ),
        (
            "FROM busybox\nRUN [\"echo\", 1]\n",
            "line 2, column 5: when using JSON array syntax",
        ),
        ("RUN true\n", "no build stage in current context"),
        ("FROM busybox\nENV =x\n", "ENV names can not be blank"),
        (
            "FROM busybox\nCOPY onlyone\n",
            "COPY requires at least two arguments",
        ),
        (
            "FROM busybox\nONBUILD FROM x\n",
            "FROM isn't allowed as an ONBUILD trigger",
        ),
        ("FROM busybox AS 9lives\n", "invalid name for build stage"),
        (
            "FROM busybox\nENV A=${B\n",
            "line 2: failed to process \"${B\": syntax error: missing '}'",
        ),
        (
            "FROM busybox\nSTOPSIGNAL SIGNOPE\n",
            "Invalid signal: SIGNOPE",
        ),
        (
            "FROM busybox\nCOPY --chmod=999 Dockerfile /\n",
            "invalid chmod parameter",
        ),
        (
            "FROM busybox\nCOPY --chown=ghost Dockerfile /\n",
            "no such user: ghost",
        ),
        (
            "FROM busybox\nCOPY a b /not-a-dir\n",
            "must be a directory and end with a /",
        ),
        (
            "FROM --platform=linux/arm64 busybox\n",
            "platform linux/arm64 is not supported",
        ),
    ];
    for (i, (dockerfile, needle)) in cases.iter().enumerate() {
        let dir = context(&agent, &format!("bad{i}"), dockerfile);
        write(&dir, "a", b"a");
        write(&dir, "b", b"b");
        let out = build(&docker, &dir);
        fails_with(&out, needle);
    }
    assert_nothing_left(&agent, &docker);
}

#[test]
fn a_failing_run_reports_its_output_and_exit_code_and_leaves_nothing() {
    let (agent, docker) = setup();
    let dir = context(
        &agent,
        "fails",
        "FROM busybox\nRUN echo before > /before\nRUN echo 'oops, about to fail'; exit 3\nRUN echo never\n",
    );
    let before = run(&docker, &["images", "-aq"])
        .ok()
        .unwrap()
        .stdout
        .lines()
        .count();
    let out = build(&docker, &dir);
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(out.stdout.contains("oops, about to fail"), "{out:?}");
    assert!(
        out.stderr
            .contains("The command '/bin/sh -c echo 'oops, about to fail'; exit 3' returned a non-zero code: 3"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("never"), "{out:?}");
    // The steps before the failure are images (and cache); the failed one is not.
    let after = run(&docker, &["images", "-aq"])
        .ok()
        .unwrap()
        .stdout
        .lines()
        .count();
    assert_eq!(after, before + 1, "one image for the RUN that worked");
    assert_nothing_left(&agent, &docker);

    // `--rm=false` keeps the failed container for a look, as Docker does.
    let kept = run(
        &docker,
        &[
            "build",
            "--rm=false",
            "-t",
            "hostile:1",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(kept.code(), Some(3));
    let ps = run(&docker, &["ps", "-aq"]).ok().unwrap();
    assert_eq!(ps.stdout.lines().count(), 1, "{}", ps.stdout);
    run(&docker, &["rm", "-f", ps.stdout.trim()]).ok().unwrap();
    // `--force-rm` removes it whatever `--rm` says.
    let forced = run(
        &docker,
        &[
            "build",
            "--rm=false",
            "--force-rm",
            "-t",
            "hostile:1",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(forced.code(), Some(3));
    assert_nothing_left(&agent, &docker);
}

#[test]
fn a_missing_base_image_is_a_clear_error() {
    let (agent, docker) = setup();
    let registry = TestRegistry::start().expect("registry");
    let dir = context(
        &agent,
        "missing",
        &format!("FROM {}/ghost/image:1\nRUN true\n", registry.host()),
    );
    let out = build(&docker, &dir);
    fails_with(&out, "pull access denied for");
    fails_with(&out, "ghost/image");
    let unreachable = context(&agent, "unreachable", "FROM 127.0.0.1:9/nothing:1\n");
    let out = build(&docker, &unreachable);
    assert!(!out.success(), "{out:?}");
    assert!(out.stderr.contains("127.0.0.1:9/nothing"), "{out:?}");
    assert_nothing_left(&agent, &docker);
}

#[test]
fn whiteout_names_in_the_context_cannot_delete_image_files() {
    let (agent, docker) = setup();
    let dir = context(&agent, "whiteout", "FROM busybox\nCOPY . /\n");
    write(&dir, "etc/.wh.passwd", b"");
    let out = build(&docker, &dir);
    fails_with(&out, "reserved for layer whiteouts");
    assert_nothing_left(&agent, &docker);
    let passwd = run(&docker, &["run", "--rm", "busybox", "cat", "/etc/passwd"])
        .ok()
        .unwrap();
    assert!(passwd.stdout.contains("root:x:0:0"));
}
