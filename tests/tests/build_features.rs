//! The rest of `docker build`: the JSON-lines stream as Docker shapes it (over HTTP, also
//! quiet and failed), the events a build emits, `-f` inside and outside the context,
//! `--target`, `--label`, `--pull`, ONBUILD triggers, FROM scratch, SHELL, COPY wildcards,
//! ADD from a URL (and offline).

use berth_tests::tiny_http::{Handler, TinyServer};
use berth_tests::{CliOutput, DockerCli, TestAgent, TestRegistry};
use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

fn build(docker: &DockerCli, tag: &str, dir: &Path, extra: &[&str]) -> CliOutput {
    let mut args = vec!["build", "-t", tag];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    run(docker, &args).ok().expect("build")
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *body).unwrap();
    }
    b.into_inner().unwrap()
}

async fn post_build(agent: &TestAgent, query: &str, tar: Vec<u8>) -> Vec<Value> {
    let response = agent
        .request(Method::POST, &format!("/build?{query}"))
        .header("content-type", "application/x-tar")
        .body(tar)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn streams(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["stream"].as_str().map(str::to_string))
        .collect()
}

fn is_short_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn the_stream_has_dockers_shape() {
    let (agent, _docker) = setup();
    let tar = tar_of(&[(
        "Dockerfile",
        b"FROM busybox\nRUN echo hello from build\nCMD [\"sh\"]\n",
    )]);
    let lines = post_build(&agent, "t=stream%3A1&t=stream%3A2&rm=1", tar).await;
    let text = streams(&lines);
    assert_eq!(text[0], "Step 1/3 : FROM busybox\n");
    assert!(
        text[1].starts_with(" ---> ") && is_short_id(text[1][6..].trim()),
        "{text:?}"
    );
    assert_eq!(text[2], "Step 2/3 : RUN echo hello from build\n");
    assert!(text[3].starts_with(" ---> Running in "), "{text:?}");
    assert!(text.contains(&"hello from build\n".to_string()), "{text:?}");
    assert!(
        text.iter()
            .any(|t| t.starts_with(" ---> Removed intermediate container ")),
        "{text:?}"
    );
    let aux = lines
        .iter()
        .find(|l| l.get("aux").is_some())
        .expect("aux line");
    let id = aux["aux"]["ID"].as_str().unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{aux}");
    let built = format!("Successfully built {}\n", &id[7..19]);
    let at = text
        .iter()
        .position(|t| *t == built)
        .expect("Successfully built");
    assert_eq!(text[at + 1], "Successfully tagged stream:1\n");
    assert_eq!(text[at + 2], "Successfully tagged stream:2\n");

    // Quiet: only the ID.
    let tar = tar_of(&[("Dockerfile", b"FROM busybox\nRUN echo noisy\n")]);
    let lines = post_build(&agent, "q=1", tar).await;
    let text = streams(&lines);
    assert_eq!(text.len(), 1, "{lines:?}");
    assert!(text[0].starts_with("sha256:"), "{text:?}");

    // A failed RUN: the last line is the error with the exit code.
    let tar = tar_of(&[("Dockerfile", b"FROM busybox\nRUN echo dying; exit 7\n")]);
    let lines = post_build(&agent, "", tar).await;
    let last = lines.last().unwrap();
    assert_eq!(last["errorDetail"]["code"], 7, "{last}");
    assert_eq!(
        last["error"],
        "The command '/bin/sh -c echo dying; exit 7' returned a non-zero code: 7"
    );
    assert_eq!(last["errorDetail"]["message"], last["error"]);
    assert!(streams(&lines).contains(&"dying\n".to_string()));
    // Quiet and failed: everything comes out after all, then the error.
    let tar = tar_of(&[(
        "Dockerfile",
        b"FROM busybox\nRUN echo dying quietly; exit 4\n",
    )]);
    let lines = post_build(&agent, "q=true", tar).await;
    assert!(
        streams(&lines).contains(&"dying quietly\n".to_string()),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap()["errorDetail"]["code"], 4);
}

#[test]
fn a_build_emits_container_events_and_a_tag() {
    let (agent, docker) = setup();
    let since = run(&docker, &["version", "-f", "{{.Server.Version}}"]);
    assert!(since.success());
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let dir = context(&agent, "events", "FROM busybox\nRUN true\nENV A=1\n");
    build(&docker, "evented:1", &dir, &[]);
    let until = start + 3600;
    let events = run(
        &docker,
        &[
            "events",
            "--since",
            &start.to_string(),
            "--until",
            &(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 1)
            .min(until)
            .to_string(),
            "--format",
            "{{.Type}} {{.Action}}",
        ],
    )
    .ok()
    .unwrap();
    let lines: Vec<&str> = events.stdout.lines().collect();
    for expected in [
        "container create",
        "container start",
        "container die",
        "container destroy",
        "image tag",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected} missing from {lines:?}"
        );
    }
    assert!(!lines.contains(&"container commit"), "{lines:?}");
}

#[test]
fn dockerfile_flags_targets_labels_and_stage_references() {
    let (agent, docker) = setup();
    let dir = context(
        &agent,
        "multi",
        "FROM busybox\nCMD [\"echo\", \"default file\"]\n",
    );
    write(
        &dir,
        "sub/Build.docker",
        b"FROM busybox AS first\nRUN echo first > /stage\nFROM first AS second\nRUN echo second >> /stage\nFROM busybox\nCOPY --from=1 /stage /stage\nCMD [\"cat\", \"/stage\"]\n",
    );
    // -f at another path inside the context (the CLI takes it relative to its cwd).
    let file = dir.join("sub/Build.docker");
    let file = file.to_str().unwrap();
    build(&docker, "multi:last", &dir, &["-f", file]);
    let out = run(&docker, &["run", "--rm", "multi:last"]).ok().unwrap();
    assert_eq!(out.stdout, "first\nsecond\n");
    // --target stops at a stage; later stages do not run.
    let targeted = build(
        &docker,
        "multi:first",
        &dir,
        &["-f", file, "--target", "first", "--label", "made.by=test"],
    );
    assert!(
        !targeted.stdout.contains("FROM first AS second"),
        "{}",
        targeted.stdout
    );
    assert!(
        targeted.stdout.contains("LABEL made.by=test"),
        "{}",
        targeted.stdout
    );
    let out = run(&docker, &["run", "--rm", "multi:first", "cat", "/stage"])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "first\n");
    let label = run(
        &docker,
        &[
            "image",
            "inspect",
            "-f",
            "{{index .Config.Labels \"made.by\"}}",
            "multi:first",
        ],
    )
    .ok()
    .unwrap();
    assert_eq!(label.stdout.trim(), "test");
    // -f outside the context: the CLI sends it inside the tar under another name.
    let outside = agent.temp_dir().join("elsewhere.Dockerfile");
    std::fs::write(
        &outside,
        "FROM busybox\nCOPY Dockerfile /copied\nCMD [\"cat\", \"/copied\"]\n",
    )
    .unwrap();
    build(
        &docker,
        "multi:outside",
        &dir,
        &["-f", outside.to_str().unwrap()],
    );
    let out = run(&docker, &["run", "--rm", "multi:outside"])
        .ok()
        .unwrap();
    assert!(out.stdout.contains("default file"), "{out:?}");
}

#[test]
fn onbuild_scratch_shell_and_wildcards() {
    let (agent, docker) = setup();
    let base = context(
        &agent,
        "base",
        "FROM busybox\nONBUILD RUN echo triggered > /triggered\nONBUILD COPY *.txt /texts/\n",
    );
    build(&docker, "withtriggers:1", &base, &[]);
    let child = context(
        &agent,
        "child",
        "FROM withtriggers:1\nCMD [\"ls\", \"/texts\"]\n",
    );
    write(&child, "a.txt", b"a");
    write(&child, "b.txt", b"b");
    write(&child, "c.md", b"c");
    let out = build(&docker, "child:1", &child, &[]);
    assert!(
        out.stdout.contains("# Executing 2 build triggers"),
        "{}",
        out.stdout
    );
    let listed = run(&docker, &["run", "--rm", "child:1"]).ok().unwrap();
    assert_eq!(listed.stdout, "a.txt\nb.txt\n");
    let triggered = run(&docker, &["run", "--rm", "child:1", "cat", "/triggered"])
        .ok()
        .unwrap();
    assert_eq!(triggered.stdout, "triggered\n");
    let onbuild = run(
        &docker,
        &[
            "image",
            "inspect",
            "-f",
            "{{json .Config.OnBuild}}",
            "child:1",
        ],
    )
    .ok()
    .unwrap();
    assert_eq!(onbuild.stdout.trim(), "null", "triggers do not pass on");

    // FROM scratch with a static binary from another image.
    let scratch = context(
        &agent,
        "scratch",
        "FROM scratch\nCOPY --from=busybox /bin/busybox /busybox\nSHELL [\"/busybox\", \"sh\", \"-c\"]\nRUN /busybox echo from the shell > /shell.txt\nCMD /busybox cat /shell.txt\n",
    );
    build(&docker, "scratchy:1", &scratch, &[]);
    let out = run(&docker, &["run", "--rm", "scratchy:1"]).ok().unwrap();
    assert_eq!(out.stdout, "from the shell\n");
    let cmd = run(
        &docker,
        &[
            "image",
            "inspect",
            "-f",
            "{{json .Config.Cmd}}",
            "scratchy:1",
        ],
    )
    .ok()
    .unwrap();
    assert_eq!(
        cmd.stdout.trim(),
        r#"["/busybox","sh","-c","/busybox cat /shell.txt"]"#
    );
    let layers = run(
        &docker,
        &[
            "image",
            "inspect",
            "-f",
            "{{len .RootFS.Layers}}",
            "scratchy:1",
        ],
    )
    .ok()
    .unwrap();
    assert_eq!(layers.stdout.trim(), "2");
}

#[test]
fn pull_of_a_missing_base_and_with_pull() {
    let (agent, docker) = setup();
    let registry = TestRegistry::start().expect("registry");
    let remote = format!("{}/bb:1", registry.host());
    run(&docker, &["tag", "busybox", &remote]).ok().unwrap();
    run(&docker, &["push", &remote]).ok().unwrap();
    run(&docker, &["rmi", &remote]).ok().unwrap();
    let dir = context(&agent, "pull", &format!("FROM {remote}\nRUN echo pulled\n"));
    let out = build(&docker, "pulled:1", &dir, &[]);
    assert!(out.stdout.contains("Pulling from "), "{}", out.stdout);
    let again = build(&docker, "pulled:1", &dir, &[]);
    assert!(!again.stdout.contains("Pulling from"), "{}", again.stdout);
    let forced = build(&docker, "pulled:1", &dir, &["--pull"]);
    assert!(forced.stdout.contains("Pulling from "), "{}", forced.stdout);
}

#[test]
fn add_fetches_a_url_it_can_reach_and_says_why_when_it_cannot() {
    let (agent, docker) = setup();
    let handler: Handler = Arc::new(|request| {
        Box::pin(async move {
            let body = if request.uri().path() == "/files/remote.txt" {
                "fetched over http\n"
            } else {
                "missing\n"
            };
            let mut response =
                hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
            if request.uri().path() != "/files/remote.txt" {
                *response.status_mut() = hyper::StatusCode::NOT_FOUND;
            }
            response
        })
    });
    let server = TinyServer::start("add-url", handler).expect("server");
    let url = format!("http://{}/files/remote.txt", server.addr());
    let dir = context(
        &agent,
        "url",
        &format!(
            "FROM busybox\nADD {url} /downloads/\nCMD [\"sh\", \"-c\", \"stat -c %a /downloads/remote.txt; cat /downloads/remote.txt\"]\n"
        ),
    );
    build(&docker, "fetched:1", &dir, &[]);
    let out = run(&docker, &["run", "--rm", "fetched:1"]).ok().unwrap();
    assert_eq!(out.stdout, "600\nfetched over http\n");

    let missing = context(
        &agent,
        "url404",
        &format!("FROM busybox\nADD http://{}/nope /x\n", server.addr()),
    );
    let out = run(&docker, &["build", missing.to_str().unwrap()]);
    assert!(!out.success() && out.stderr.contains("404"), "{out:?}");
    let offline = context(
        &agent,
        "offline",
        "FROM busybox\nADD http://127.0.0.1:9/x.tar /x\n",
    );
    let out = run(&docker, &["build", offline.to_str().unwrap()]);
    assert!(!out.success(), "{out:?}");
    assert!(out.stderr.contains("cannot download"), "{out:?}");
    let copy_url = context(&agent, "copyurl", &format!("FROM busybox\nCOPY {url} /x\n"));
    let out = run(&docker, &["build", copy_url.to_str().unwrap()]);
    assert!(
        out.stderr.contains("source can't be a URL for COPY"),
        "{out:?}"
    );
}

#[test]
fn env_pairs_expand_with_the_environment_before_the_instruction() {
    let (agent, docker) = setup();
    let dir = context(
        &agent,
        "envorder",
        "FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\nARG X=1\nARG X=2 Y=$X\nRUN echo \"$def $ghi $Y\" > /seen\nCMD [\"cat\", \"/seen\"]\n",
    );
    build(&docker, "envorder:1", &dir, &[]);
    let out = run(&docker, &["run", "--rm", "envorder:1"]).ok().unwrap();
    // Docker's documented example: def gets the old abc; Y the X before its ARG line.
    assert_eq!(out.stdout, "hello bye 1\n");
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_build_and_its_container() {
    let (agent, docker) = setup();
    let tar = tar_of(&[("Dockerfile", b"FROM busybox\nRUN echo started; sleep 600\n")]);
    let mut response = agent
        .request(Method::POST, "/build?t=cancelled%3A1")
        .body(tar)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut seen = String::new();
    while !seen.contains("started") {
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("the stream ended early");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(response);
    // Polled for up to 30 s: a guard against hanging, not a speed check.
    let mut left = String::from("?");
    for _ in 0..300 {
        left = run(&docker, &["ps", "-aq"]).ok().unwrap().stdout;
        if left.trim().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left.trim(), "", "the RUN container outlived its build");
    let tagged = run(&docker, &["images", "-q", "cancelled"]).ok().unwrap();
    assert_eq!(tagged.stdout.trim(), "");
}

#[test]
fn builds_work_on_the_vfs_driver_and_quietly() {
    let (agent, docker) =
        berth_tests::agent_with_busybox(&["--storage-driver", "vfs"]).expect("vfs agent");
    let dir = context(
        &agent,
        "vfs",
        "FROM busybox\nWORKDIR /srv/app\nCOPY hello.txt ./\nRUN cat hello.txt > copy.txt && rm /etc/group\nCMD [\"cat\", \"copy.txt\"]\n",
    );
    write(&dir, "hello.txt", b"copied on vfs\n");
    let quiet = run(
        &docker,
        &["build", "-q", "-t", "vfs:1", dir.to_str().unwrap()],
    )
    .ok()
    .unwrap();
    let id = quiet.stdout.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{quiet:?}");
    let out = run(&docker, &["run", "--rm", "vfs:1"]).ok().unwrap();
    assert_eq!(out.stdout, "copied on vfs\n");
    let gone = run(&docker, &["run", "--rm", "vfs:1", "ls", "/etc/group"]);
    assert!(
        !gone.success(),
        "a file deleted by RUN is still there: {gone:?}"
    );
    let again = build(&docker, "vfs:1", &dir, &[]);
    assert_eq!(
        again.stdout.matches("Using cache").count(),
        4,
        "{}",
        again.stdout
    );
}
