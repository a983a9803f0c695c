//! Container diff and layer tar, end to end on real overlay mounts and vfs copies (as root).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, FileType, Mode, XattrFlags, lsetxattr, makedev, mknodat};

use super::{ChangeKind, changes, layer_size, write_layer_tar};
use crate::layer::snapshot::{Driver, is_mounted};
use crate::layer::{ApplyOptions, apply_layer};

pub(crate) fn whiteout(path: &Path) {
    mknodat(
        CWD,
        path,
        FileType::CharacterDevice,
        Mode::empty(),
        makedev(0, 0),
    )
    .unwrap();
}

pub(crate) fn set_opaque(path: &Path) {
    lsetxattr(path, "trusted.overlay.opaque", b"y", XattrFlags::empty()).unwrap();
}

pub(crate) fn is_whiteout_at(path: &Path) -> bool {
    let m = fs::symlink_metadata(path).unwrap();
    use std::os::unix::fs::FileTypeExt;
    m.file_type().is_char_device() && m.rdev() == 0
}

pub(crate) fn opaque(path: &Path) -> bool {
    let mut v = [0u8; 4];
    matches!(rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut v[..]), Ok(1) if v[0] == b'y')
}

/// Two hand-made layers: the bottom one with /etc/{passwd,keep}, /data/{old,other},
/// /hl1 = /hl2, /link → /etc/passwd; the top one adds /etc/added, whites out /data/other and
/// makes /opq opaque (hiding /opq/gone of the bottom layer).
pub(crate) fn two_layers(base: &Path) -> Vec<PathBuf> {
    let l1 = base.join("l1");
    let l2 = base.join("l2");
    for d in ["etc", "data", "opq"] {
        fs::create_dir_all(l1.join(d)).unwrap();
    }
    fs::write(l1.join("etc/passwd"), "root:x:0:0\n").unwrap();
    fs::write(l1.join("etc/keep"), "keep").unwrap();
    fs::write(l1.join("data/old"), "old").unwrap();
    fs::write(l1.join("data/other"), "other").unwrap();
    fs::write(l1.join("opq/gone"), "gone").unwrap();
    fs::write(l1.join("hl1"), "linked").unwrap();
    fs::hard_link(l1.join("hl1"), l1.join("hl2")).unwrap();
    symlink("/etc/passwd", l1.join("link")).unwrap();
    for d in ["etc", "data", "opq"] {
        fs::create_dir_all(l2.join(d)).unwrap();
    }
    fs::write(l2.join("etc/added"), "added").unwrap();
    whiteout(&l2.join("data/other"));
    fs::write(l2.join("opq/new"), "new").unwrap();
    set_opaque(&l2.join("opq"));
    vec![l1, l2]
}

/// Writes, modifies and deletes through the container's rootfs.
fn mutate(rootfs: &Path) {
    fs::write(rootfs.join("new.txt"), "hello").unwrap();
    fs::remove_file(rootfs.join("etc/keep")).unwrap();
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0\nme:x:1000:1000\n").unwrap();
}

/// (path, kind, size) of what [`mutate`] did.
fn expect() -> Vec<(String, ChangeKind, u64)> {
    [
        ("/etc", ChangeKind::Modified, 0),
        ("/etc/keep", ChangeKind::Deleted, 0),
        ("/etc/passwd", ChangeKind::Modified, 26),
        ("/new.txt", ChangeKind::Added, 5),
    ]
    .into_iter()
    .map(|(p, kind, size)| (p.to_string(), kind, size))
    .collect()
}

fn mounts_under(dir: &Path) -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.canonicalize().unwrap();
    info.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|mp| Path::new(mp).starts_with(&dir))
    })
}

/// The whole cycle for one driver: prepare, mount, mutate, unmount, diff, tar, apply, stack.
fn cycle(driver: Driver) {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = two_layers(tmp.path());
    let container = tmp.path().join("containers/c1");
    driver.prepare(&container, &lowers).unwrap();
    let rootfs = driver.mount(&container, &lowers).unwrap();
    // Idempotent.
    assert_eq!(driver.mount(&container, &lowers).unwrap(), rootfs);
    assert_eq!(is_mounted(&container), driver == Driver::Overlay);
    // The merged view: whiteout and opaque dir of the top layer honoured.
    assert!(!rootfs.join("data/other").exists());
    assert!(!rootfs.join("opq/gone").exists());
    assert_eq!(fs::read_to_string(rootfs.join("opq/new")).unwrap(), "new");
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/added")).unwrap(),
        "added"
    );
    mutate(&rootfs);
    driver.unmount(&container).unwrap();
    assert!(!is_mounted(&container));
    driver.unmount(&container).unwrap(); // not mounted: fine

    let got = changes(driver, &container, &lowers).unwrap();
    let sized: Vec<(String, ChangeKind, u64)> = got
        .iter()
        .map(|c| (c.path.clone(), c.kind, c.size))
        .collect();
    assert_eq!(sized, expect(), "{driver}");
    assert_eq!(layer_size(&got), 31, "{driver}");

    let mut tar = Vec::new();
    let stats = write_layer_tar(driver, &container, &lowers, &mut tar).unwrap();
    assert_eq!(stats.bytes, tar.len() as u64);
    assert!(stats.entries >= 3);
    let l3 = tmp.path().join("l3");
    fs::create_dir(&l3).unwrap();
    apply_layer(tar.as_slice(), &l3, &ApplyOptions::default()).unwrap();
    assert!(is_whiteout_at(&l3.join("etc/keep")));
    assert_eq!(fs::read_to_string(l3.join("new.txt")).unwrap(), "hello");

    // The new layer stacked on the old ones hides the deleted file.
    let mut stacked = lowers.clone();
    stacked.push(l3);
    let c2 = tmp.path().join("containers/c2");
    driver.prepare(&c2, &stacked).unwrap();
    let root2 = driver.mount(&c2, &stacked).unwrap();
    assert!(!root2.join("etc/keep").exists());
    assert!(!root2.join("data/other").exists());
    assert_eq!(fs::read_to_string(root2.join("new.txt")).unwrap(), "hello");
    assert!(
        fs::read_to_string(root2.join("etc/passwd"))
            .unwrap()
            .contains("me:x")
    );
    assert_eq!(changes(driver, &c2, &stacked).unwrap(), vec![]);
    driver.remove(&c2).unwrap();
    driver.remove(&container).unwrap();
    assert!(!c2.exists() && !container.exists());
    assert!(!mounts_under(tmp.path()));
    // The layers were not touched by the removal.
    assert!(lowers[0].join("etc/keep").exists());
}

#[test]
fn overlay_cycle() {
    cycle(Driver::Overlay);
}

#[test]
fn vfs_cycle() {
    cycle(Driver::Vfs);
}

/// An opaque dir is reported as moby's overlay diff does: the dir as Deleted, new children
/// as Added; a dir that is only a parent of a change, unchanged itself, is not reported.
#[test]
fn overlay_opaque_and_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = two_layers(tmp.path());
    let c = tmp.path().join("c");
    Driver::Overlay.prepare(&c, &lowers).unwrap();
    let rootfs = Driver::Overlay.mount(&c, &lowers).unwrap();
    fs::remove_dir_all(rootfs.join("etc")).unwrap();
    fs::create_dir(rootfs.join("etc")).unwrap();
    fs::write(rootfs.join("etc/fresh"), "f").unwrap();
    fs::create_dir_all(rootfs.join("brand/new")).unwrap();
    Driver::Overlay.unmount(&c).unwrap();
    assert!(opaque(&c.join("upper/etc")));
    let got: Vec<(String, char)> = changes(Driver::Overlay, &c, &lowers)
        .unwrap()
        .into_iter()
        .map(|c| (c.path, c.kind.letter()))
        .collect();
    let want: Vec<(String, char)> = [
        ("/brand", 'A'),
        ("/brand/new", 'A'),
        ("/etc", 'D'),
        ("/etc/fresh", 'A'),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_string(), k))
    .collect();
    assert_eq!(got, want);
    Driver::Overlay.remove(&c).unwrap();
}

/// A hand-made upper dir with every kind of entry survives tar → `apply_layer`.
#[test]
fn upper_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("c");
    let up = c.join("upper");
    fs::create_dir_all(up.join("opq/sub")).unwrap();
    set_opaque(&up.join("opq"));
    fs::write(up.join("opq/sub/f"), "x").unwrap();
    whiteout(&up.join("gone"));
    fs::write(up.join("a"), "hardlinked").unwrap();
    fs::hard_link(up.join("a"), up.join("b")).unwrap();
    symlink("../../etc/shadow", up.join("sym")).unwrap();
    mknodat(
        CWD,
        up.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    let exe = up.join("exe");
    fs::write(&exe, "#!/bin/sh\n").unwrap();
    std::os::unix::fs::lchown(&exe, Some(1234), Some(5678)).unwrap();
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o4755)).unwrap();
    lsetxattr(&exe, "user.note", b"hi", XattrFlags::empty()).unwrap();
    let long_dir: String = "d".repeat(120);
    let long_name: String = "n".repeat(200);
    fs::create_dir_all(up.join(&long_dir)).unwrap();
    fs::write(up.join(&long_dir).join(&long_name), "long").unwrap();
    symlink("t".repeat(150), up.join("longlink")).unwrap();
    // A socket is skipped.
    let _sock = std::os::unix::net::UnixListener::bind(up.join("sock")).unwrap();

    let mut tar = Vec::new();
    write_layer_tar(Driver::Overlay, &c, &[], &mut tar).unwrap();
    // Order: parents before children, sorted.
    let names: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(pos("opq/") < pos("opq/.wh..wh..opq"));
    assert!(pos("opq/.wh..wh..opq") < pos("opq/sub/"));
    assert!(pos("a") < pos("b"));
    assert!(names.contains(&".wh.gone".to_string()));
    assert!(!names.iter().any(|n| n.contains("sock")));

    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let stats = apply_layer(tar.as_slice(), &out, &ApplyOptions::default()).unwrap();
    assert_eq!(stats.hardlinks, 1);
    assert!(is_whiteout_at(&out.join("gone")));
    assert!(opaque(&out.join("opq")));
    assert_eq!(fs::read_to_string(out.join("opq/sub/f")).unwrap(), "x");
    assert!(!out.join("opq/.wh..wh..opq").exists());
    assert_eq!(
        fs::metadata(out.join("a")).unwrap().ino(),
        fs::metadata(out.join("b")).unwrap().ino()
    );
    assert_eq!(
        fs::read_link(out.join("sym")).unwrap(),
        Path::new("../../etc/shadow")
    );
    assert_eq!(
        fs::read_link(out.join("longlink")).unwrap(),
        Path::new(&"t".repeat(150))
    );
    let m = fs::symlink_metadata(out.join("exe")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o4755);
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    let mut v = [0u8; 8];
    assert_eq!(
        rustix::fs::lgetxattr(out.join("exe"), "user.note", &mut v[..]).unwrap(),
        2
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::symlink_metadata(out.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(
        fs::read_to_string(out.join(&long_dir).join(&long_name)).unwrap(),
        "long"
    );
}

/// Nothing changed: the tar is still a valid (empty) layer.
#[test]
fn empty_upper_gives_empty_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("c");
    Driver::Overlay.prepare(&c, &[]).unwrap();
    let mut tar = Vec::new();
    let stats = write_layer_tar(Driver::Overlay, &c, &[], &mut tar).unwrap();
    assert_eq!(stats.entries, 0);
    assert_eq!(tar.len(), 1024);
    assert!(changes(Driver::Overlay, &c, &[]).unwrap().is_empty());
}
