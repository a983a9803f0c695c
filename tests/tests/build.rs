//! `docker build` (the legacy builder, `DOCKER_BUILDKIT=0`) against the real agent: a
//! three-stage Dockerfile using most instructions, the image it makes run with the right
//! defaults and files, build args, targets, tags and labels, and the stream Docker prints.

use berth_tests::{CliOutput, DockerCli, TestAgent};
use serde_json::Value;
use std::path::{Path, PathBuf};

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

fn inspect(docker: &DockerCli, name: &str) -> Value {
    let out = run(docker, &["image", "inspect", name])
        .ok()
        .expect("inspect");
    let list: Value = serde_json::from_str(&out.stdout).expect("inspect JSON");
    list[0].clone()
}

/// Writes `files` (path → content) under a fresh context directory.
fn context(agent: &TestAgent, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = agent.temp_dir().join(name);
    for (path, body) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, body).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tar holding one file, for ADD's auto-extraction.
fn bundle() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    let body = b"packed inside a tar\n";
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    b.append_data(&mut h, "docs/inside.txt", &body[..]).unwrap();
    b.into_inner().unwrap()
}

const THREE_STAGES: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=busybox:latest
FROM ${BASE} AS tools
ARG GREETING=hello
ENV TOOL_HOME=/opt/tool
WORKDIR $TOOL_HOME
COPY tool.sh ./
RUN chmod +x tool.sh \
 && echo "$GREETING from tools" > greeting.txt \
 && mkdir -p out && cp greeting.txt out/

FROM busybox AS assets
COPY --chown=nobody:nobody assets/ /assets/
ADD bundle.tar /unpacked/
RUN ls /assets /unpacked/docs > /listing.txt

FROM busybox
LABEL org.example.name="berth test" version=1
MAINTAINER Berth Tests <tests@berth.invalid>
ENV APP_HOME=/app PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=tools /opt/tool/out/greeting.txt ./
COPY --from=assets /listing.txt /assets ./assets/
COPY --from=assets /unpacked/docs/inside.txt ./
COPY --chmod=0755 tool.sh bin/tool
EXPOSE 8080/tcp 53/udp
VOLUME /data
USER nobody
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --retries=2 CMD true
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/greeting.txt"]
"#;

fn three_stage_context(agent: &TestAgent) -> PathBuf {
    let tar = bundle();
    context(
        agent,
        "three",
        &[
            ("Dockerfile", THREE_STAGES.as_bytes()),
            ("tool.sh", b"#!/bin/sh\necho tool ran as $(id -u)\n"),
            ("assets/a.txt", b"asset a\n"),
            ("assets/sub/b.txt", b"asset b\n"),
            ("bundle.tar", &tar),
        ],
    )
}

#[test]
fn three_stage_build_makes_an_image_that_runs_as_written() {
    let s = setup();
    let ctx = three_stage_context(&s.agent);
    let out = run(
        &s.docker,
        &[
            "build",
            "-t",
            "built:1",
            "-t",
            "built:also",
            "--build-arg",
            "GREETING=bonjour",
            path(&ctx),
        ],
    )
    .ok()
    .expect("build");
    // The legacy builder's stream, as the CLI prints it.
    assert!(
        out.stdout.contains("Step 1/28 : ARG BASE=busybox:latest"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Step 2/28 : FROM ${BASE} AS tools"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" ---> Running in "), "{}", out.stdout);
    assert!(
        out.stdout.contains(" ---> Removed intermediate container "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Successfully built "), "{}", out.stdout);
    assert!(
        out.stdout.contains("Successfully tagged built:1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Successfully tagged built:also"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("[WARNING]: the syntax directive"),
        "{}",
        out.stdout
    );

    // It runs with its ENTRYPOINT and CMD, as `nobody`, in /app.
    let ran = run(&s.docker, &["run", "--rm", "built:1"]).ok().unwrap();
    assert_eq!(ran.stdout, "bonjour from tools\n");
    let who = run(
        &s.docker,
        &[
            "run",
            "--rm",
            "built:1",
            "id -u; pwd; echo $APP_HOME; echo $PATH; tool",
        ],
    )
    .ok()
    .unwrap();
    let lines: Vec<&str> = who.stdout.lines().collect();
    assert_eq!(lines[0], "65534");
    assert_eq!(lines[1], "/app");
    assert_eq!(lines[2], "/app");
    assert!(lines[3].starts_with("/app/bin:"), "{who:?}");
    assert_eq!(lines[4], "tool ran as 65534");
    let files = run(
        &s.docker,
        &[
            "run",
            "--rm",
            "built:1",
            "stat -c '%a %U %n' bin/tool assets/a.txt assets/sub/b.txt; cat assets/listing.txt inside.txt",
        ],
    )
    .ok()
    .unwrap();
    assert!(files.stdout.contains("755 root bin/tool"), "{files:?}");
    assert!(files.stdout.contains("nobody assets/a.txt"), "{files:?}");
    assert!(
        files.stdout.contains("nobody assets/sub/b.txt"),
        "{files:?}"
    );
    assert!(files.stdout.contains("inside.txt"), "{files:?}");
    assert!(files.stdout.contains("packed inside a tar"), "{files:?}");

    // The config holds every instruction's effect.
    let image = inspect(&s.docker, "built:also");
    let config = &image["Config"];
    assert_eq!(config["User"], "nobody");
    assert_eq!(config["WorkingDir"], "/app");
    assert_eq!(config["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(config["Cmd"], serde_json::json!(["cat /app/greeting.txt"]));
    assert_eq!(config["StopSignal"], "SIGINT");
    assert_eq!(config["Labels"]["org.example.name"], "berth test");
    assert_eq!(config["Labels"]["version"], "1");
    assert!(config["ExposedPorts"].get("8080/tcp").is_some(), "{config}");
    assert!(config["ExposedPorts"].get("53/udp").is_some(), "{config}");
    assert!(config["Volumes"].get("/data").is_some(), "{config}");
    assert_eq!(config["OnBuild"], serde_json::json!(["RUN echo triggered"]));
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(config["Healthcheck"]["Interval"], 30_000_000_000u64);
    assert_eq!(config["Healthcheck"]["Retries"], 2);
    assert_eq!(image["Author"], "Berth Tests <tests@berth.invalid>");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(env.contains(&"APP_HOME=/app"), "{env:?}");
    assert!(
        !env.iter().any(|e| e.starts_with("GREETING")),
        "an ARG leaked into ENV: {env:?}"
    );

    // History: metadata steps are empty layers, file steps are not.
    let history = run(
        &s.docker,
        &[
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}|{{.Size}}",
            "built:1",
        ],
    )
    .ok()
    .unwrap();
    assert!(
        history
            .stdout
            .contains("#(nop)  CMD [\"cat /app/greeting.txt\"]|0B"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("#(nop) COPY "),
        "{}",
        history.stdout
    );
    // Intermediate step images show only with -a; the other stages' results are dangling
    // `<none>` images, as Docker's legacy builder leaves them.
    let shown = run(&s.docker, &["images", "-q"]).ok().unwrap();
    let all = run(&s.docker, &["images", "-aq"]).ok().unwrap();
    let dangling = run(&s.docker, &["images", "-q", "--filter", "dangling=true"])
        .ok()
        .unwrap();
    let unique: std::collections::BTreeSet<&str> = shown.stdout.lines().collect();
    assert_eq!(
        unique.len(),
        4,
        "busybox, built, two stages: {}",
        shown.stdout
    );
    assert_eq!(dangling.stdout.lines().count(), 2, "{}", dangling.stdout);
    assert!(all.stdout.lines().count() > 20, "{}", all.stdout);
    // The layer graph the dashboard draws shows the same images as `docker images`: the
    // intermediate steps are not images of their own there either.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let graph: Value = runtime.block_on(async {
        s.agent
            .get("/berth/v1/layers")
            .send()
            .await
            .expect("layers request")
            .json()
            .await
            .expect("layers JSON")
    });
    let in_graph: std::collections::BTreeSet<String> = graph["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap()["sha256:".len()..][..12].to_string())
        .collect();
    let listed: std::collections::BTreeSet<String> =
        unique.iter().map(|id| id.to_string()).collect();
    assert_eq!(in_graph, listed, "graph vs docker images");
    let left = run(&s.docker, &["ps", "-aq"]).ok().unwrap();
    assert_eq!(
        left.stdout.trim(),
        "",
        "intermediate containers left behind"
    );
}
