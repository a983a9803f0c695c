//! Tests of the harness's cleanup: what a test agent leaves behind really goes away.

use std::path::Path;
use std::process::Command;

use berth_tests::cleanup;

#[test]
fn nested_mounts_under_a_root_are_unmounted_deepest_first() {
    berth_tests::require_root().expect("root");
    let dir = tempfile::tempdir().expect("temp dir");
    let outer = dir.path().join("a b"); // a space: mountinfo escapes it as \040
    let inner = outer.join("inner");
    std::fs::create_dir_all(&outer).expect("mkdir");
    let mount = |target: &Path| {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs"])
            .arg(target)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount tmpfs on {}", target.display());
    };
    mount(&outer);
    std::fs::create_dir_all(&inner).expect("mkdir inner");
    mount(&inner);
    assert_eq!(
        cleanup::mounts_under(dir.path()),
        vec![inner.clone(), outer.clone()]
    );

    let mut notes = Vec::new();
    cleanup::unmount_all_under(dir.path(), &mut notes);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(cleanup::mounts_under(dir.path()).is_empty());
}

#[test]
fn test_cgroups_and_their_processes_are_removed() {
    berth_tests::require_root().expect("root");
    let hierarchy = Path::new("/sys/fs/cgroup/pids");
    if !hierarchy.join("cgroup.procs").exists() {
        berth_tests::skip(
            "test_cgroups_and_their_processes_are_removed",
            "no cgroup v1 pids hierarchy",
        );
        return;
    }
    let name = format!("berth-test-cleanup-{}", std::process::id());
    let group = hierarchy.join(&name).join("container-1");
    std::fs::create_dir_all(&group).expect("create the cgroups");
    let mut child = Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep");
    std::fs::write(group.join("cgroup.procs"), child.id().to_string()).expect("move into cgroup");

    let mut notes = Vec::new();
    cleanup::remove_cgroups_named(&name, &mut notes);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(!hierarchy.join(&name).exists());
    let status = child.wait().expect("reap sleep");
    assert!(!status.success(), "the process in the cgroup was killed");
}
