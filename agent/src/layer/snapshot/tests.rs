//! Snapshotter tests (as root: they mount overlays in temp dirs).

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::PathBuf;

use super::{Driver, is_mounted, unescape_mountinfo};
use crate::layer::diff::tests::{is_whiteout_at, two_layers};

#[test]
fn names_and_parsing() {
    assert_eq!("overlay2".parse::<Driver>().unwrap(), Driver::Overlay);
    assert_eq!("overlay".parse::<Driver>().unwrap(), Driver::Overlay);
    assert_eq!("vfs".parse::<Driver>().unwrap(), Driver::Vfs);
    assert!("btrfs".parse::<Driver>().is_err());
    assert_eq!(Driver::Overlay.name(), "overlay2");
    assert_eq!(Driver::Vfs.name(), "vfs");
    assert_eq!(unescape_mountinfo(br"/a\040b\134c\x"), b"/a b\\c\\x");
}

#[test]
fn detect_on_ext4_is_overlay_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(Driver::detect(tmp.path()), Driver::Overlay);
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Data root on an overlay mount: vfs.
#[test]
fn detect_on_overlay_is_vfs() {
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("c");
    Driver::Overlay.prepare(&c, &[]).unwrap();
    let rootfs = Driver::Overlay.mount(&c, &[]).unwrap();
    assert!(c.join("empty").is_dir());
    assert_eq!(Driver::detect(&rootfs), Driver::Vfs);
    Driver::Overlay.remove(&c).unwrap();
    assert!(!c.exists());
}

/// 60 layers with long paths: far beyond the 4096-byte option string of mount(2).
#[test]
fn many_layers_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lowers: Vec<PathBuf> = Vec::new();
    for i in 0..60 {
        let l = tmp
            .path()
            .join(format!("layers/{}{i:02}/diff", "x".repeat(90)));
        fs::create_dir_all(&l).unwrap();
        fs::write(l.join("file"), format!("{i}")).unwrap();
        fs::write(l.join(format!("only{i}")), "").unwrap();
        lowers.push(l);
    }
    let c = tmp.path().join("c");
    Driver::Overlay.prepare(&c, &lowers).unwrap();
    let rootfs = Driver::Overlay.mount(&c, &lowers).unwrap();
    // The top-most layer wins; every layer is visible.
    assert_eq!(fs::read_to_string(rootfs.join("file")).unwrap(), "59");
    assert!(rootfs.join("only0").exists() && rootfs.join("only59").exists());
    Driver::Overlay.remove(&c).unwrap();
    assert!(!is_mounted(&c));
}

/// vfs keeps hardlinks, symlinks, owners, modes and times, and applies whiteouts/opaque dirs.
#[test]
fn vfs_copy_keeps_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = two_layers(tmp.path());
    std::os::unix::fs::lchown(lowers[0].join("etc/passwd"), Some(42), Some(43)).unwrap();
    let c = tmp.path().join("c");
    Driver::Vfs.prepare(&c, &lowers).unwrap();
    let r = c.join("rootfs");
    assert_eq!(
        fs::metadata(r.join("hl1")).unwrap().ino(),
        fs::metadata(r.join("hl2")).unwrap().ino()
    );
    assert_eq!(
        fs::read_link(r.join("link")).unwrap(),
        PathBuf::from("/etc/passwd")
    );
    let src = fs::metadata(lowers[0].join("etc/passwd")).unwrap();
    let dst = fs::metadata(r.join("etc/passwd")).unwrap();
    assert_eq!((dst.uid(), dst.gid()), (42, 43));
    assert_eq!(dst.mode(), src.mode());
    assert_eq!(
        (dst.mtime(), dst.mtime_nsec()),
        (src.mtime(), src.mtime_nsec())
    );
    assert!(!r.join("data/other").exists());
    assert!(r.join("data/old").exists());
    assert!(!r.join("opq/gone").exists() && r.join("opq/new").exists());
    // No overlay metadata copied into a vfs rootfs.
    assert!(!super::fsops::is_opaque_path(&r.join("opq")));
    Driver::Vfs.remove(&c).unwrap();
    assert!(!c.exists());
}

/// A symlink in a later layer where a lower had a directory, and a directory where a lower
/// had a symlink: replaced, never followed.
#[test]
fn vfs_replaces_without_following() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let l1 = tmp.path().join("l1");
    let l2 = tmp.path().join("l2");
    fs::create_dir_all(l1.join("d")).unwrap();
    symlink(&outside, l1.join("s")).unwrap();
    fs::create_dir_all(l2.join("s")).unwrap();
    fs::write(l2.join("s/f"), "in").unwrap();
    symlink("/nowhere", l2.join("d")).unwrap();
    let c = tmp.path().join("c");
    Driver::Vfs.prepare(&c, &[l1, l2]).unwrap();
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert!(c.join("rootfs/s").symlink_metadata().unwrap().is_dir());
    assert!(c.join("rootfs/d").symlink_metadata().unwrap().is_symlink());
    Driver::Vfs.remove(&c).unwrap();
}

/// Removal copes with overlay leftovers (work/work is mode 000) and whiteouts in upper.
#[test]
fn remove_after_overlay_use() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = two_layers(tmp.path());
    let c = tmp.path().join("c");
    Driver::Overlay.prepare(&c, &lowers).unwrap();
    let r = Driver::Overlay.mount(&c, &lowers).unwrap();
    fs::remove_file(r.join("etc/passwd")).unwrap();
    // Busy mount: a file held open inside it.
    let _held = fs::File::open(r.join("etc/added")).unwrap();
    Driver::Overlay.unmount(&c).unwrap();
    assert!(is_whiteout_at(&c.join("upper/etc/passwd")));
    Driver::Overlay.remove(&c).unwrap();
    assert!(!c.exists());
}
