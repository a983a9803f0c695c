//! The container runtime through the stock docker CLI: run, exit codes, isolation, limits,
//! the lifecycle verbs, logs, attach with stdin, restart policies, live restore and cleanup.
//! Everything here runs real namespaces, overlay mounts and cgroups as root.

use berth_tests::{CliOutput, DockerCli, TestAgent};
use serde_json::Value;
use std::time::Duration;

struct Setup {
    agent: TestAgent,
    docker: DockerCli,
}

/// An agent with the busybox test image loaded as `busybox:latest`.
fn setup() -> Setup {
    let (agent, docker) = berth_tests::agent_with_busybox(&[]).expect("agent with busybox");
    Setup { agent, docker }
}

fn run(docker: &DockerCli, args: &[&str]) -> CliOutput {
    docker.run(args).expect("docker ran")
}

fn inspect(docker: &DockerCli, name: &str) -> Value {
    let out = run(docker, &["inspect", name]).ok().expect("inspect");
    let list: Value = serde_json::from_str(&out.stdout).expect("inspect JSON");
    list[0].clone()
}

/// Polls `check` for up to 30 s (the suite never asserts on elapsed time; this only
/// bounds how long a broken build takes to fail).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn run_rm_prints_pid_one_and_leaves_nothing() {
    let s = setup();
    let out = run(
        &s.docker,
        &["run", "--rm", "busybox", "sh", "-c", "echo $$"],
    )
    .ok()
    .unwrap();
    assert_eq!(out.stdout, "1\n");
    let ps = run(&s.docker, &["ps", "-aq"]).ok().unwrap();
    assert_eq!(ps.stdout.trim(), "", "--rm left a container");
}

#[test]
fn exit_codes_propagate() {
    let s = setup();
    let three = run(&s.docker, &["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(three.code(), Some(3), "{three:?}");
    let missing = run(&s.docker, &["run", "--rm", "busybox", "/no/such/binary"]);
    assert_eq!(missing.code(), Some(127), "{missing:?}");
    assert!(
        missing.stderr.contains("no such file or directory")
            || missing.stderr.contains("not found"),
        "{missing:?}"
    );
    let not_in_path = run(&s.docker, &["run", "--rm", "busybox", "nosuchcommand"]);
    assert_eq!(not_in_path.code(), Some(127), "{not_in_path:?}");
    assert!(
        not_in_path
            .stderr
            .contains("executable file not found in $PATH"),
        "{not_in_path:?}"
    );
    let not_executable = run(&s.docker, &["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(not_executable.code(), Some(126), "{not_executable:?}");
}

#[test]
fn isolation_hostname_processes_and_privileges() {
    let s = setup();
    let host = run(
        &s.docker,
        &["run", "--rm", "--hostname", "box1", "busybox", "hostname"],
    )
    .ok()
    .unwrap();
    assert_eq!(host.stdout.trim(), "box1");
    // Only the container's own processes: PID 1 (sh) and the ls it runs.
    let procs = run(
        &s.docker,
        &["run", "--rm", "busybox", "sh", "-c", "ls -d /proc/[0-9]*"],
    )
    .ok()
    .unwrap();
    assert!(procs.stdout.lines().count() <= 2, "{}", procs.stdout);
    assert!(procs.stdout.contains("/proc/1\n"), "{}", procs.stdout);
    // No mounting (no CAP_SYS_ADMIN), no writes to /proc/sys, no host disks in /dev.
    let mount = run(
        &s.docker,
        &[
            "run", "--rm", "busybox", "mount", "-t", "tmpfs", "none", "/mnt",
        ],
    );
    assert!(
        !mount.success(),
        "mount worked inside a container: {mount:?}"
    );
    let sysctl = run(
        &s.docker,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo 1 > /proc/sys/vm/drop_caches",
        ],
    );
    assert!(!sysctl.success(), "wrote /proc/sys: {sysctl:?}");
    let modules = run(
        &s.docker,
        &["run", "--rm", "busybox", "insmod", "/nonexistent.ko"],
    );
    assert!(!modules.success());
    let dev = run(&s.docker, &["run", "--rm", "busybox", "ls", "/dev"])
        .ok()
        .unwrap();
    for host_only in ["sda", "vda", "nvme0", "kmsg", "mem"] {
        assert!(
            !dev.stdout.lines().any(|l| l == host_only),
            "/dev shows {host_only}: {}",
            dev.stdout
        );
    }
    assert!(dev.stdout.lines().any(|l| l == "null"), "{}", dev.stdout);
    // Only stdio is open: `ls` itself holds one more (its directory handle).
    let fds = run(
        &s.docker,
        &["run", "--rm", "busybox", "sh", "-c", "ls /proc/$$/fd; true"],
    )
    .ok()
    .unwrap();
    assert_eq!(
        fds.stdout.split_whitespace().collect::<Vec<_>>(),
        vec!["0", "1", "2"],
        "the container's PID 1 holds more than stdio"
    );
    let user = run(
        &s.docker,
        &["run", "--rm", "--user", "nobody", "busybox", "id", "-u"],
    )
    .ok()
    .unwrap();
    assert_eq!(user.stdout.trim(), "65534");
}

#[test]
fn stdin_attach_and_tty_free_streams() {
    let s = setup();
    let out = s
        .docker
        .run_with_stdin(
            &["run", "-i", "--rm", "busybox", "cat"],
            b"hello through stdin\n",
        )
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "hello through stdin\n");
    let both = run(
        &s.docker,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
    )
    .ok()
    .unwrap();
    assert_eq!(both.stdout, "out\n");
    assert_eq!(both.stderr, "err\n");
}

#[test]
fn detached_lifecycle_logs_stop_rename_rm() {
    let s = setup();
    let d = &s.docker;
    let id = run(
        d,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo started; echo oops >&2; trap '' TERM; while true; do sleep 1; done",
        ],
    )
    .ok()
    .unwrap()
    .stdout
    .trim()
    .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let clash = run(d, &["create", "--name", "web", "busybox", "true"]);
    assert!(
        !clash.success() && clash.stderr.contains("already in use"),
        "{clash:?}"
    );
    let ps = run(d, &["ps", "--format", "{{.Names}} {{.Status}}"])
        .ok()
        .unwrap();
    assert!(ps.stdout.starts_with("web Up"), "{}", ps.stdout);
    let state = inspect(d, "web");
    assert_eq!(state["State"]["Running"], true);
    assert!(state["State"]["Pid"].as_i64().unwrap() > 0);
    eventually("logs", || {
        run(d, &["logs", "web"]).stdout.contains("started")
    });
    let logs = run(d, &["logs", "web"]).ok().unwrap();
    assert_eq!(logs.stdout, "started\n");
    assert_eq!(logs.stderr, "oops\n");
    let stamped = run(d, &["logs", "-t", "--tail", "1", "web"]).ok().unwrap();
    assert!(stamped.stdout.is_empty() || stamped.stdout.contains('T'));
    // PID 1 ignores SIGTERM: stop must fall back to SIGKILL after the timeout.
    run(d, &["stop", "-t", "1", "web"]).ok().unwrap();
    let stopped = inspect(d, "web");
    assert_eq!(stopped["State"]["Running"], false);
    assert_eq!(stopped["State"]["ExitCode"], 137);
    run(d, &["rename", "web", "web2"]).ok().unwrap();
    assert_eq!(inspect(d, "web2")["Name"], "/web2");
    run(d, &["start", "web2"]).ok().unwrap();
    let running_rm = run(d, &["rm", "web2"]);
    assert!(!running_rm.success(), "removed a running container");
    run(d, &["rm", "-f", "web2"]).ok().unwrap();
    assert!(!run(d, &["inspect", "web2"]).success());
}

#[test]
fn wait_kill_and_restart_policy() {
    let s = setup();
    let d = &s.docker;
    run(
        d,
        // With --init, `sleep` is not PID 1, so it does get SIGUSR1 (a namespace's init
        // ignores signals it has no handler for).
        &[
            "run", "-d", "--init", "--name", "sleeper", "busybox", "sleep", "1000",
        ],
    )
    .ok()
    .unwrap();
    run(d, &["kill", "-s", "USR1", "sleeper"]).ok().unwrap();
    let waited = run(d, &["wait", "sleeper"]).ok().unwrap();
    assert_eq!(waited.stdout.trim(), "138");
    run(
        d,
        &[
            "run",
            "-d",
            "--name",
            "flaky",
            "--restart",
            "on-failure:2",
            "busybox",
            "sh",
            "-c",
            "exit 1",
        ],
    )
    .ok()
    .unwrap();
    eventually("two restarts", || {
        let state = inspect(d, "flaky");
        state["RestartCount"] == 2 && state["State"]["Running"] == false
    });
}

#[test]
fn memory_limit_oom_kills_with_137() {
    let s = setup();
    let out = run(
        &s.docker,
        &[
            "run",
            "--name",
            "hog",
            "-m",
            "32m",
            "--memory-swap",
            "32m",
            "busybox",
            "sh",
            "-c",
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    assert_eq!(out.code(), Some(137), "{out:?}");
    assert_eq!(inspect(&s.docker, "hog")["State"]["OOMKilled"], true);
}

#[test]
fn pids_limit_holds() {
    let s = setup();
    let out = run(
        &s.docker,
        &[
            "run",
            "--rm",
            "--pids-limit",
            "4",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6; do sleep 2 & done; wait",
        ],
    );
    assert!(
        out.stderr.contains("fork") || out.stderr.contains("Resource temporarily unavailable"),
        "{out:?}"
    );
}

#[test]
fn pause_freezes_the_container() {
    let s = setup();
    let d = &s.docker;
    run(
        d,
        &[
            "run",
            "-d",
            "--name",
            "counter",
            "busybox",
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done",
        ],
    )
    .ok()
    .unwrap();
    eventually("output", || {
        run(d, &["logs", "counter"]).stdout.lines().count() > 2
    });
    run(d, &["pause", "counter"]).ok().unwrap();
    assert_eq!(inspect(d, "counter")["State"]["Status"], "paused");
    let before = run(d, &["logs", "counter"]).stdout.lines().count();
    std::thread::sleep(Duration::from_millis(500));
    let after = run(d, &["logs", "counter"]).stdout.lines().count();
    assert_eq!(before, after, "the counter advanced while paused");
    run(d, &["unpause", "counter"]).ok().unwrap();
    eventually("counter resumes", || {
        run(d, &["logs", "counter"]).stdout.lines().count() > after
    });
    run(d, &["rm", "-f", "counter"]).ok().unwrap();
}

#[test]
fn live_restore_after_agent_sigkill() {
    let mut s = setup();
    let d = &s.docker;
    run(
        d,
        &[
            "run",
            "-d",
            "--name",
            "survivor",
            "busybox",
            "sh",
            "-c",
            "echo hello; sleep 1000",
        ],
    )
    .ok()
    .unwrap();
    let pid = inspect(d, "survivor")["State"]["Pid"].as_i64().unwrap() as i32;
    s.agent.kill_hard().unwrap();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the container died with the agent"
    );
    s.agent.restart().unwrap();
    let ps = run(d, &["ps", "--format", "{{.Names}}"]).ok().unwrap();
    assert_eq!(ps.stdout.trim(), "survivor");
    assert_eq!(
        run(d, &["logs", "survivor"]).ok().unwrap().stdout,
        "hello\n"
    );
    run(d, &["stop", "-t", "1", "survivor"]).ok().unwrap();
    assert_eq!(inspect(d, "survivor")["State"]["Running"], false);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn force_removing_many_containers_leaves_no_mounts_cgroups_or_supervisors() {
    let s = setup();
    let d = &s.docker;
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = run(d, &["run", "-d", "busybox", "sleep", "1000"])
            .ok()
            .unwrap()
            .stdout;
        ids.push(id.trim().to_string());
    }
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    run(d, &args).ok().unwrap();
    let root = s.agent.root().to_string_lossy().to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.lines().any(|l| l.contains(&root)),
        "mounts left under the data root"
    );
    let parent = format!("/sys/fs/cgroup/memory/{}", s.agent.name());
    let left: Vec<_> = std::fs::read_dir(&parent)
        .map(|dir| dir.flatten().filter(|e| e.path().is_dir()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "cgroups left: {left:?}");
    assert_eq!(
        processes_with(&["shim\0--bundle", &root]),
        Vec::<i32>::new(),
        "supervisors left running"
    );
}

/// PIDs of the processes whose command line contains every one of `parts`.
fn processes_with(parts: &[&str]) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            parts.iter().all(|p| cmdline.contains(p)).then_some(pid)
        })
        .collect()
}

fn is_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The agent forks supervisors from one `berth shim-server`: SIGKILL the agent and the
/// server goes with it, the supervisors and containers stay; a new agent takes them over
/// and starts new containers through a new server.
#[test]
fn agent_sigkill_ends_the_shim_server_but_not_the_supervisors() {
    let mut s = setup();
    let root = s.agent.root().to_string_lossy().to_string();
    let server_of = |root: &str| processes_with(&["shim-server\0", root]);
    assert_eq!(
        server_of(&root),
        Vec::<i32>::new(),
        "started before any container"
    );
    let mut pids = Vec::new();
    for name in ["first", "second"] {
        let args = ["run", "-d", "--name", name, "busybox", "sh", "-c"];
        let script = format!("echo {name}; sleep 1000");
        let mut args = args.to_vec();
        args.push(&script);
        run(&s.docker, &args).ok().unwrap();
        pids.push(inspect(&s.docker, name)["State"]["Pid"].as_i64().unwrap() as i32);
    }
    let servers = server_of(&root);
    assert_eq!(servers.len(), 1, "one server per agent: {servers:?}");
    let supervisors = processes_with(&["shim\0--bundle", &root]);
    assert_eq!(supervisors.len(), 2, "{supervisors:?}");
    s.agent.kill_hard().unwrap();
    eventually("the shim server exits with its agent", || {
        !is_alive(servers[0])
    });
    for pid in supervisors.iter().chain(&pids) {
        assert!(is_alive(*pid), "{pid} died with the agent");
    }
    s.agent.restart().unwrap();
    let d = &s.docker;
    let ps = run(d, &["ps", "--format", "{{.Names}}"]).ok().unwrap();
    let mut names: Vec<_> = ps.stdout.lines().collect();
    names.sort();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(run(d, &["logs", "first"]).ok().unwrap().stdout, "first\n");
    let out = run(d, &["run", "--rm", "busybox", "echo", "new"])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "new\n");
    let new_servers = server_of(&root);
    assert_eq!(new_servers.len(), 1, "{new_servers:?}");
    assert_ne!(new_servers, servers);
    run(d, &["stop", "-t", "1", "first", "second"])
        .ok()
        .unwrap();
    for pid in supervisors.iter().chain(&pids) {
        eventually("the old supervisors and containers end", || !is_alive(*pid));
    }
    run(d, &["rm", "first", "second"]).ok().unwrap();
}

/// A shim server that died is replaced at the next start; its supervisors are not harmed.
#[test]
fn a_dead_shim_server_is_replaced_at_the_next_start() {
    let s = setup();
    let d = &s.docker;
    let root = s.agent.root().to_string_lossy().to_string();
    let server_of = |root: &str| processes_with(&["shim-server\0", root]);
    run(
        d,
        &["run", "-d", "--name", "kept", "busybox", "sleep", "1000"],
    )
    .ok()
    .unwrap();
    let pid = inspect(d, "kept")["State"]["Pid"].as_i64().unwrap() as i32;
    let servers = server_of(&root);
    assert_eq!(servers.len(), 1, "{servers:?}");
    let server = rustix::process::Pid::from_raw(servers[0]).unwrap();
    rustix::process::kill_process(server, rustix::process::Signal::KILL).unwrap();
    eventually("the killed server is gone", || !is_alive(servers[0]));
    let out = run(d, &["run", "--rm", "busybox", "echo", "again"])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "again\n");
    let new_servers = server_of(&root);
    assert_eq!(new_servers.len(), 1, "{new_servers:?}");
    assert_ne!(new_servers, servers);
    assert!(is_alive(pid));
    assert_eq!(inspect(d, "kept")["State"]["Running"], true);
    run(d, &["rm", "-f", "kept"]).ok().unwrap();
}

/// `docker run -it` needs a terminal on the client side: `script` gives the CLI one.
#[test]
fn tty_run_gets_a_terminal_and_its_exit_code() {
    let s = setup();
    let inner = format!(
        "docker -H {} run -it --rm busybox sh -c 'test -t 0 && echo tty:$TERM; exit 4'",
        s.docker.host()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env("DOCKER_CONFIG", s.docker.config_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tty:xterm"), "{text}");
    assert_eq!(out.status.code(), Some(4), "{text}");
}

#[test]
fn logs_follow_streams_until_the_container_exits() {
    let s = setup();
    let d = &s.docker;
    run(
        d,
        &[
            "run",
            "-d",
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3; do echo line$i; sleep 0.2; done",
        ],
    )
    .ok()
    .unwrap();
    let followed = run(d, &["logs", "-f", "talker"]).ok().unwrap();
    assert_eq!(followed.stdout, "line1\nline2\nline3\n");
    let tail = run(d, &["logs", "--tail", "1", "talker"]).ok().unwrap();
    assert_eq!(tail.stdout, "line3\n");
}

#[test]
fn capabilities_follow_cap_add_and_privileged() {
    let s = setup();
    let d = &s.docker;
    let with_admin = run(
        d,
        &[
            "run",
            "--rm",
            "--cap-add",
            "SYS_ADMIN",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /m && mount -t tmpfs none /m && echo mounted",
        ],
    );
    assert_eq!(with_admin.stdout.trim(), "mounted", "{with_admin:?}");
    let dropped = run(
        d,
        &[
            "run",
            "--rm",
            "--cap-drop",
            "CHOWN",
            "busybox",
            "chown",
            "nobody",
            "/bin",
        ],
    );
    assert!(!dropped.success(), "chown worked without CAP_CHOWN");
    let privileged = run(
        d,
        &[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "grep CapEff /proc/self/status",
        ],
    )
    .ok()
    .unwrap();
    assert!(
        !privileged.stdout.contains("00000000a80425fb"),
        "{}",
        privileged.stdout
    );
}

#[test]
fn restart_always_comes_back_after_the_agent_restarts() {
    let mut s = setup();
    run(
        &s.docker,
        &[
            "run",
            "-d",
            "--name",
            "phoenix",
            "--restart",
            "always",
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .ok()
    .unwrap();
    let pid = inspect(&s.docker, "phoenix")["State"]["Pid"]
        .as_i64()
        .unwrap();
    s.agent.kill_hard().unwrap();
    // The container dies while no agent watches (as on a host reboot).
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    s.agent.restart().unwrap();
    let d = &s.docker;
    eventually("phoenix restarted", || {
        let state = inspect(d, "phoenix");
        state["State"]["Running"] == true && state["State"]["Pid"].as_i64() != Some(pid)
    });
    run(d, &["rm", "-f", "phoenix"]).ok().unwrap();
}
