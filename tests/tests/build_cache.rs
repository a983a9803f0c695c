//! The build cache through `docker build`: a rebuild takes every step from the cache and
//! makes nothing; a changed file reruns its COPY and everything after it; the cache
//! survives an agent restart; `--no-cache`, build args, `.dockerignore`, removed images and
//! `docker builder prune` do what they should.

use berth_tests::{CliOutput, DockerCli, TestAgent};
use std::path::{Path, PathBuf};

fn setup() -> (TestAgent, DockerCli) {
    berth_tests::agent_with_busybox(&[]).expect("agent with busybox")
}

fn run(docker: &DockerCli, args: &[&str]) -> CliOutput {
    docker.run(args).expect("docker ran")
}

fn write(dir: &Path, path: &str, body: &str) {
    let target = dir.join(path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(target, body).unwrap();
}

const TEN_STEPS: &str = "FROM busybox
ENV STAGE=one
RUN echo one > /one
COPY data.txt /data.txt
RUN cat /data.txt /one > /combined
COPY dir/ /dir/
WORKDIR /work
LABEL purpose=cache-test
EXPOSE 8080
CMD [\"cat\", \"/combined\"]
";

fn ten_step_context(agent: &TestAgent, name: &str) -> PathBuf {
    let dir = agent.temp_dir().join(name);
    write(&dir, "Dockerfile", TEN_STEPS);
    write(&dir, "data.txt", "first\n");
    write(&dir, "dir/a", "a\n");
    write(&dir, "dir/b/c", "c\n");
    dir
}

fn build(docker: &DockerCli, dir: &Path, extra: &[&str]) -> CliOutput {
    let mut args = vec!["build", "-t", "cached:1"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    run(docker, &args).ok().expect("build")
}

/// The steps (`Step N/M`) whose next line says " ---> Using cache".
fn cached_steps(out: &str) -> Vec<usize> {
    let lines: Vec<&str> = out.lines().collect();
    let mut cached = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("Step ")
            && lines.get(i + 1) == Some(&" ---> Using cache")
        {
            let n: usize = rest.split('/').next().unwrap().parse().unwrap();
            cached.push(n);
        }
    }
    cached
}

fn image_id(docker: &DockerCli, name: &str) -> String {
    run(docker, &["image", "inspect", "-f", "{{.Id}}", name])
        .ok()
        .unwrap()
        .stdout
        .trim()
        .to_string()
}

fn count_dir(path: &Path) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_rebuild_is_all_cached_and_makes_no_image_layer_or_container() {
    let (agent, docker) = setup();
    let dir = ten_step_context(&agent, "ten");
    let first = build(&docker, &dir, &[]);
    assert!(cached_steps(&first.stdout).is_empty(), "{}", first.stdout);
    let id = image_id(&docker, "cached:1");
    let images_before = run(&docker, &["images", "-aq"]).ok().unwrap().stdout;
    let layers_before = count_dir(&agent.root().join("layers"));
    let blobs_before = count_dir(&agent.root().join("blobs/sha256"));

    let second = build(&docker, &dir, &[]);
    assert_eq!(
        cached_steps(&second.stdout),
        (2..=10).collect::<Vec<_>>(),
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains("Running in"), "{}", second.stdout);
    assert_eq!(image_id(&docker, "cached:1"), id);
    assert_eq!(
        run(&docker, &["images", "-aq"]).ok().unwrap().stdout,
        images_before
    );
    assert_eq!(count_dir(&agent.root().join("layers")), layers_before);
    assert_eq!(count_dir(&agent.root().join("blobs/sha256")), blobs_before);
    let out = run(&docker, &["run", "--rm", "cached:1"]).ok().unwrap();
    assert_eq!(out.stdout, "first\none\n");
}

#[test]
fn a_changed_file_reruns_its_copy_and_every_later_step() {
    let (agent, docker) = setup();
    let dir = ten_step_context(&agent, "ten");
    build(&docker, &dir, &[]);
    // A new modification time alone changes nothing (as Docker's tarsum ignores it).
    let data = dir.join("data.txt");
    let f = std::fs::File::options().write(true).open(&data).unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    drop(f);
    let touched = build(&docker, &dir, &[]);
    assert_eq!(cached_steps(&touched.stdout), (2..=10).collect::<Vec<_>>());

    write(&dir, "data.txt", "second\n");
    let changed = build(&docker, &dir, &[]);
    assert_eq!(
        cached_steps(&changed.stdout),
        vec![2, 3],
        "{}",
        changed.stdout
    );
    assert!(changed.stdout.contains("Running in"), "{}", changed.stdout);
    let out = run(&docker, &["run", "--rm", "cached:1"]).ok().unwrap();
    assert_eq!(out.stdout, "second\none\n");

    // A mode change is a change too.
    let mut perms = std::fs::metadata(dir.join("dir/a")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(dir.join("dir/a"), perms).unwrap();
    let moded = build(&docker, &dir, &[]);
    assert_eq!(
        cached_steps(&moded.stdout),
        vec![2, 3, 4, 5],
        "{}",
        moded.stdout
    );
}

#[test]
fn the_cache_survives_a_restart_and_no_cache_or_a_new_build_arg_reruns() {
    let (mut agent, docker) = setup();
    let dir = agent.temp_dir().join("args");
    write(
        &dir,
        "Dockerfile",
        "FROM busybox\nARG FLAVOUR=plain\nRUN echo $FLAVOUR > /flavour\nCMD [\"cat\", \"/flavour\"]\n",
    );
    build(&docker, &dir, &[]);
    agent.restart().expect("restart");
    let after = build(&docker, &dir, &[]);
    assert_eq!(
        cached_steps(&after.stdout),
        vec![2, 3, 4],
        "{}",
        after.stdout
    );

    let no_cache = build(&docker, &dir, &["--no-cache"]);
    assert!(
        cached_steps(&no_cache.stdout).is_empty(),
        "{}",
        no_cache.stdout
    );

    // The ARG step is cached (its text did not change); the RUN sees another value.
    let spicy = build(&docker, &dir, &["--build-arg", "FLAVOUR=spicy"]);
    assert_eq!(cached_steps(&spicy.stdout), vec![2], "{}", spicy.stdout);
    let out = run(&docker, &["run", "--rm", "cached:1"]).ok().unwrap();
    assert_eq!(out.stdout, "spicy\n");
    let history = run(&docker, &["history", "--no-trunc", "cached:1"])
        .ok()
        .unwrap();
    assert!(
        history
            .stdout
            .contains("|1 FLAVOUR=spicy /bin/sh -c echo $FLAVOUR > /flavour"),
        "{}",
        history.stdout
    );
    // A build arg nothing declares is reported.
    let unused = build(&docker, &dir, &["--build-arg", "NOBODY=1"]);
    assert!(
        unused
            .stdout
            .contains("[Warning] One or more build-args [NOBODY] were not consumed"),
        "{}",
        unused.stdout
    );
}

#[test]
fn dockerignored_files_neither_bust_the_cache_nor_get_copied() {
    let (agent, docker) = setup();
    let dir = agent.temp_dir().join("ignore");
    write(
        &dir,
        "Dockerfile",
        "FROM busybox\nCOPY . /ctx/\nCMD [\"find\", \"/ctx\", \"-type\", \"f\"]\n",
    );
    write(
        &dir,
        ".dockerignore",
        "*.log\nsecrets/\n!secrets/public.txt\n**/tmp\n",
    );
    write(&dir, "keep.txt", "keep\n");
    write(&dir, "build.log", "noise\n");
    write(&dir, "secrets/key", "hunter2\n");
    write(&dir, "secrets/public.txt", "fine\n");
    write(&dir, "a/b/tmp/x", "tmp\n");
    build(&docker, &dir, &[]);
    let files = run(&docker, &["run", "--rm", "cached:1"]).ok().unwrap();
    let mut listed: Vec<&str> = files.stdout.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/keep.txt",
            "/ctx/secrets/public.txt"
        ]
    );
    write(&dir, "build.log", "more noise\n");
    write(&dir, "secrets/key", "hunter3\n");
    let again = build(&docker, &dir, &[]);
    assert_eq!(cached_steps(&again.stdout), vec![2, 3], "{}", again.stdout);
}

#[test]
fn removed_images_and_a_pruned_cache_are_rebuilt() {
    let (agent, docker) = setup();
    let dir = ten_step_context(&agent, "ten");
    build(&docker, &dir, &[]);
    let images = run(&docker, &["images", "-aq"]).ok().unwrap().stdout;
    // rmi takes the intermediate images with it (Docker's rmi without --no-prune).
    let removed = run(&docker, &["rmi", "cached:1"]).ok().unwrap();
    let deleted = removed.stdout.matches("Deleted:").count();
    assert!(deleted >= 9, "{}", removed.stdout);
    let left = run(&docker, &["images", "-aq"]).ok().unwrap().stdout;
    assert_eq!(
        left.lines().count(),
        1,
        "only busybox is left: {left} (before: {images})"
    );
    let rebuilt = build(&docker, &dir, &[]);
    assert!(
        cached_steps(&rebuilt.stdout).is_empty(),
        "{}",
        rebuilt.stdout
    );

    let again = build(&docker, &dir, &[]);
    assert_eq!(cached_steps(&again.stdout).len(), 9);
    let pruned = run(&docker, &["builder", "prune", "-f"]).ok().unwrap();
    assert!(pruned.stdout.contains("Total"), "{}", pruned.stdout);
    let after_prune = build(&docker, &dir, &[]);
    assert!(
        cached_steps(&after_prune.stdout).is_empty(),
        "{}",
        after_prune.stdout
    );
}
