//! Real cgroups on this host (root required; skipped otherwise). Each test has its own
//! parent, `berth-cgtest-<pid>-<random>`, so tests run in parallel, and removes it.

use super::*;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};

struct Scratch {
    cgroups: Cgroups,
}

fn unique_parent() -> String {
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    format!("berth-cgtest-{}-{}", std::process::id(), hex::encode(r))
}

impl Scratch {
    /// `None` when not root (the test is then skipped).
    fn new() -> Option<Self> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: cgroup tests need root");
            return None;
        }
        Some(Scratch {
            cgroups: Cgroups::with_parent(&unique_parent()).unwrap(),
        })
    }

    /// The v2 code on a hybrid host's unified tree (no controllers there: only the core
    /// files — procs, freeze, events, kill, cpu.stat). `None` when there is none.
    fn unified() -> Option<Self> {
        if !rustix::process::geteuid().is_root() {
            return None;
        }
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let root = mountinfo::v2_mounts(&info).into_iter().next()?;
        Some(Scratch {
            cgroups: Cgroups::v2_at(&root, &unique_parent()),
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for id in self.cgroups.leftovers() {
            if let Some(cg) = self.cgroups.open(&id) {
                let _ = cg.destroy();
            }
        }
        let _ = self.cgroups.remove_parent();
    }
}

/// The file `name` in whichever of the container's directories has it.
fn find(cg: &ContainerCgroup, name: &str) -> PathBuf {
    cg.procs_files()
        .iter()
        .map(|p| p.parent().unwrap().join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no {name} in {:?}", cg.procs_files()))
}

fn cat(cg: &ContainerCgroup, name: &str) -> String {
    std::fs::read_to_string(find(cg, name))
        .unwrap()
        .trim()
        .to_string()
}

/// A shell that waits for a line on stdin, then runs `script`: the test moves it into the
/// cgroup first, so everything the script allocates is charged there (as the supervisor
/// joins before exec).
fn gated(script: &str) -> Child {
    Command::new("/bin/busybox")
        .args(["sh", "-c", &format!("read go; {script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn join_and_go(cg: &ContainerCgroup, child: &mut Child) {
    for f in cg.procs_files() {
        std::fs::write(&f, child.id().to_string()).unwrap_or_else(|e| panic!("join {f:?}: {e}"));
    }
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
}

fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.chars().next().unwrap()
}

const MIB: i64 = 1 << 20;

#[test]
fn create_applies_limits_update_and_destroy() {
    let Some(s) = Scratch::new() else { return };
    let res = Resources {
        memory: Some(64 * MIB),
        memory_swap: Some(128 * MIB),
        memory_reservation: Some(32 * MIB),
        cpu_shares: Some(512),
        nano_cpus: Some(500_000_000),
        pids_limit: Some(50),
        ..Default::default()
    };
    let cg = s.cgroups.create("c1", &res, false).unwrap();
    assert_eq!(s.cgroups.leftovers(), vec!["c1"]);
    assert!(s.cgroups.open("c1").is_some());
    assert!(s.cgroups.open("nope").is_none());
    match s.cgroups.mode() {
        CgroupMode::V1 => {
            assert_eq!(cat(&cg, "memory.limit_in_bytes"), (64 * MIB).to_string());
            if find_opt(&cg, "memory.memsw.limit_in_bytes") {
                assert_eq!(
                    cat(&cg, "memory.memsw.limit_in_bytes"),
                    (128 * MIB).to_string()
                );
            }
            assert_eq!(
                cat(&cg, "memory.soft_limit_in_bytes"),
                (32 * MIB).to_string()
            );
            assert_eq!(cat(&cg, "cpu.shares"), "512");
            assert_eq!(cat(&cg, "cpu.cfs_period_us"), "100000");
            assert_eq!(cat(&cg, "cpu.cfs_quota_us"), "50000");
            assert_eq!(cat(&cg, "pids.max"), "50");
            assert!(!cat(&cg, "cpuset.cpus").is_empty());
            assert!(!cat(&cg, "cpuset.mems").is_empty());
            let devices = cat(&cg, "devices.list");
            assert!(devices.contains("c 1:3 rwm"), "{devices}");
            assert!(devices.contains("c 136:* rwm"), "{devices}");
            assert!(!devices.contains("a *:* rwm"), "{devices}");
        }
        CgroupMode::V2 => {
            assert_eq!(cat(&cg, "memory.max"), (64 * MIB).to_string());
            assert_eq!(cat(&cg, "cpu.max"), "50000 100000");
            assert_eq!(cat(&cg, "pids.max"), "50");
        }
    }

    if s.cgroups.mode() == CgroupMode::V1 && find_opt(&cg, "memory.memsw.limit_in_bytes") {
        // As Docker: memory above the memory+swap limit needs memory_swap in the same update.
        let err = cg
            .update(&Resources {
                memory: Some(256 * MIB),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("memory.memsw.limit_in_bytes"), "{err}");
        assert_eq!(cat(&cg, "memory.limit_in_bytes"), (64 * MIB).to_string());
    }
    // Raising memory above the old memory+swap total needs memsw moved first.
    cg.update(&Resources {
        memory: Some(256 * MIB),
        memory_swap: Some(-1),
        pids_limit: Some(-1),
        nano_cpus: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(cat(&cg, "pids.max"), "max");
    if s.cgroups.mode() == CgroupMode::V1 {
        assert_eq!(cat(&cg, "memory.limit_in_bytes"), (256 * MIB).to_string());
        assert_eq!(cat(&cg, "cpu.cfs_quota_us"), "-1");
        // Lowering memory while swap stays unlimited; then memory alone under no memsw limit.
        cg.update(&Resources {
            memory: Some(32 * MIB),
            memory_swap: Some(48 * MIB),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cat(&cg, "memory.limit_in_bytes"), (32 * MIB).to_string());
        if find_opt(&cg, "memory.memsw.limit_in_bytes") {
            assert_eq!(
                cat(&cg, "memory.memsw.limit_in_bytes"),
                (48 * MIB).to_string()
            );
        }
        cg.update(&Resources {
            memory: Some(40 * MIB),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cat(&cg, "memory.limit_in_bytes"), (40 * MIB).to_string());
    }

    let dirs: Vec<PathBuf> = cg
        .procs_files()
        .iter()
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    cg.destroy().unwrap();
    cg.destroy().unwrap(); // already gone is fine
    for d in dirs {
        assert!(!d.exists(), "{d:?} survived destroy");
    }
    assert!(s.cgroups.leftovers().is_empty());
}

fn find_opt(cg: &ContainerCgroup, name: &str) -> bool {
    cg.procs_files()
        .iter()
        .any(|p| p.parent().unwrap().join(name).exists())
}

#[test]
fn privileged_skips_device_rules() {
    let Some(s) = Scratch::new() else { return };
    if s.cgroups.mode() != CgroupMode::V1 {
        return;
    }
    let cg = s
        .cgroups
        .create("priv", &Resources::default(), true)
        .unwrap();
    assert_eq!(cat(&cg, "devices.list"), "a *:* rwm");
    cg.destroy().unwrap();
}

#[test]
fn refused_limit_names_file_and_value() {
    let Some(s) = Scratch::new() else { return };
    let cg = s
        .cgroups
        .create("c1", &Resources::default(), false)
        .unwrap();
    let err = cg
        .update(&Resources {
            cpuset_cpus: Some("999".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cpuset.cpus") && err.contains("\"999\""),
        "{err}"
    );
    cg.destroy().unwrap();

    // A failed create leaves nothing behind.
    let res = Resources {
        cpuset_cpus: Some("999".into()),
        ..Default::default()
    };
    assert!(s.cgroups.create("c2", &res, false).is_err());
    assert!(
        s.cgroups.leftovers().is_empty(),
        "{:?}",
        s.cgroups.leftovers()
    );
}

#[test]
fn rejects_bad_names() {
    assert!(Cgroups::with_parent("../escape").is_err());
    assert!(Cgroups::with_parent("").is_err());
    let Some(s) = Scratch::new() else { return };
    assert!(
        s.cgroups
            .create("a/b", &Resources::default(), false)
            .is_err()
    );
    assert!(
        s.cgroups
            .create("..", &Resources::default(), false)
            .is_err()
    );
    assert!(s.cgroups.open("..").is_none());
}

#[test]
fn process_join_freeze_stats_kill() {
    let Some(s) = Scratch::new() else { return };
    let res = Resources {
        memory: Some(64 * MIB),
        pids_limit: Some(20),
        ..Default::default()
    };
    let cg = s.cgroups.create("run", &res, false).unwrap();
    let mut child = gated("exec sleep 30");
    join_and_go(&cg, &mut child);
    let pid = child.id() as i32;
    assert_eq!(cg.pids(), vec![pid]);
    // Wait for the exec so the sleep's pages are charged here.
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    }));

    cg.freeze().unwrap();
    assert!(cg.is_frozen());
    if s.cgroups.mode() == CgroupMode::V1 {
        assert_eq!(cat(&cg, "freezer.state"), "FROZEN");
    }
    for _ in 0..5 {
        let st = proc_state(child.id());
        assert!(st == 'S' || st == 'D', "state {st}");
        std::thread::sleep(Duration::from_millis(20));
    }
    cg.thaw().unwrap();
    assert!(!cg.is_frozen());

    let st = cg.stats();
    assert_eq!(st.pids_current, 1);
    assert_eq!(st.pids_limit, 20);
    assert!(st.memory_usage > 0, "{st:?}");
    assert_eq!(st.memory_limit, 64 << 20);
    assert!(!st.memory_stats.is_empty());
    assert!(st.cpu_total_ns > 0, "{st:?}");
    assert!(st.system_cpu_ns > 0);
    assert!(st.online_cpus >= 1);
    assert_eq!(cg.oom_kill_count(), 0);

    cg.kill_all(Signal::KILL).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(cg.pids().is_empty());
    let dirs: Vec<PathBuf> = cg
        .procs_files()
        .iter()
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    cg.destroy().unwrap();
    assert!(dirs.iter().all(|d| !d.exists()));
}

#[test]
fn destroy_kills_frozen_survivors() {
    let Some(s) = Scratch::new() else { return };
    let cg = s
        .cgroups
        .create("busy", &Resources::default(), false)
        .unwrap();
    let mut child = gated("sleep 30 & sleep 30");
    join_and_go(&cg, &mut child);
    assert!(wait_until(Duration::from_secs(5), || cg.pids().len() >= 2));
    cg.freeze().unwrap();
    // Reap the shell concurrently; its background child is reparented to init.
    let reaper = std::thread::spawn(move || child.wait());
    cg.destroy().unwrap();
    reaper.join().unwrap().unwrap();
    assert!(s.cgroups.open("busy").is_none());
}

#[test]
fn oom_kill_is_counted() {
    let Some(s) = Scratch::new() else { return };
    let res = Resources {
        memory: Some(16 * MIB),
        memory_swap: Some(16 * MIB),
        ..Default::default()
    };
    let cg = s.cgroups.create("oom", &res, false).unwrap();
    let mut child = gated("x=$(head -c 100000000 /dev/zero | tr '\\0' a)");
    join_and_go(&cg, &mut child);
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");
    assert!(
        wait_until(Duration::from_secs(2), || cg.oom_kill_count() > 0),
        "no oom_kill recorded"
    );
    cg.destroy().unwrap();
}

#[test]
fn v2_join_freeze_kill_destroy() {
    let Some(s) = Scratch::unified() else { return };
    let cg = s
        .cgroups
        .create("v2", &Resources::default(), false)
        .unwrap();
    assert_eq!(cg.procs_files().len(), 1);
    let mut child = gated("exec sleep 30");
    join_and_go(&cg, &mut child);
    let pid = child.id() as i32;
    assert_eq!(cg.pids(), vec![pid]);
    cg.freeze().unwrap();
    assert!(cg.is_frozen());
    assert_eq!(cat(&cg, "cgroup.freeze"), "1");
    cg.thaw().unwrap();
    assert!(!cg.is_frozen());
    assert!(cg.stats().system_cpu_ns > 0);
    cg.freeze().unwrap();
    // destroy thaws, kills (cgroup.kill) and removes the directory.
    let reaper = std::thread::spawn(move || child.wait());
    cg.destroy().unwrap();
    assert!(!reaper.join().unwrap().unwrap().success());
    assert!(s.cgroups.open("v2").is_none());

    // A limit whose controller is not enabled here is an error naming the file.
    let res = Resources {
        memory: Some(16 * MIB),
        ..Default::default()
    };
    let err = s
        .cgroups
        .create("v2b", &res, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("memory.max") && err.contains("16777216"),
        "{err}"
    );
    assert!(s.cgroups.leftovers().is_empty());
}

#[test]
fn cfs_and_docker_zero_values() {
    let r = Resources {
        nano_cpus: Some(1_500_000_000),
        cpu_quota: Some(1000),
        ..Default::default()
    };
    assert_eq!(r.cfs(), (Some(100_000), Some(150_000)));
    let r = Resources {
        cpu_quota: Some(25_000),
        cpu_period: Some(50_000),
        ..Default::default()
    };
    assert_eq!(r.cfs(), (Some(50_000), Some(25_000)));
    let r = Resources {
        cpu_quota: Some(0),
        ..Default::default()
    };
    assert_eq!(r.cfs(), (None, Some(-1)));
    let r = Resources {
        memory: Some(0),
        memory_swap: Some(-1),
        memory_reservation: Some(0),
        ..Default::default()
    }
    .normalized();
    assert_eq!(
        (r.memory, r.memory_swap, r.memory_reservation),
        (None, Some(-1), None)
    );
    let json = serde_json::to_string(&Resources::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<Resources>(&json).unwrap(),
        Resources::default()
    );
}
