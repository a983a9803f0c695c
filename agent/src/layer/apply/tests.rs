//! End-to-end tests of `apply_layer`: tars built in the test, applied into real directories
//! under /tmp, as root. Hostile cases check a canary beside the destination as well as the
//! error.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::test_support::{H, Tar, TempDir, pax_record};
use crate::layer::{ApplyOptions, ApplyStats, LayerError, apply_layer};

/// A destination beside a canary file, inside one temp dir.
struct Scene {
    base: TempDir,
}

const CANARY: &[u8] = b"canary: must not change";

impl Scene {
    fn new(tag: &str) -> Self {
        let base = TempDir::new(tag);
        fs::create_dir(base.root().join("dest")).unwrap();
        fs::write(base.root().join("canary"), CANARY).unwrap();
        fs::create_dir(base.root().join("victim")).unwrap();
        fs::write(base.root().join("victim/file"), CANARY).unwrap();
        Self { base }
    }

    fn dest(&self) -> PathBuf {
        self.base.root().join("dest")
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.dest().join(rel)
    }

    fn apply(&self, tar: &[u8]) -> Result<ApplyStats, LayerError> {
        apply_layer(tar, &self.dest(), &ApplyOptions::default())
    }

    fn apply_with(&self, tar: &[u8], options: &ApplyOptions) -> Result<ApplyStats, LayerError> {
        apply_layer(tar, &self.dest(), options)
    }

    /// Nothing beside `dest` changed: same names, same canary bytes and modes.
    fn assert_outside_untouched(&self) {
        let mut names: Vec<_> = fs::read_dir(self.base.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["canary", "dest", "victim"]);
        assert_eq!(fs::read(self.base.root().join("canary")).unwrap(), CANARY);
        let victim: Vec<_> = fs::read_dir(self.base.root().join("victim"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(victim, ["file"]);
        assert_eq!(
            fs::read(self.base.root().join("victim/file")).unwrap(),
            CANARY
        );
        let meta = fs::metadata(self.base.root().join("victim")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o755, "victim dir mode changed");
        let meta = fs::metadata(self.base.root().join("canary")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644, "canary mode changed");
        assert_eq!(meta.nlink(), 1, "canary got hardlinked");
    }

    fn victim(&self) -> String {
        self.base
            .root()
            .join("victim")
            .to_str()
            .unwrap()
            .to_string()
    }

    fn canary(&self) -> String {
        self.base
            .root()
            .join("canary")
            .to_str()
            .unwrap()
            .to_string()
    }
}

fn lstat(path: &Path) -> fs::Metadata {
    fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Ordinary layers
// ---------------------------------------------------------------------------------------------

#[test]
fn files_dirs_symlinks_hardlinks_with_owners_modes_and_times() {
    let s = Scene::new("normal");
    let tar = Tar::new()
        .dir_with("./", |h| h.mode = 0o755)
        .dir_with("./etc/", |h| h.mtime = 1_111_111_111)
        .file_with("./etc/passwd", b"root:x:0:0::/root:/bin/sh\n", |h| {
            h.mtime = 1_222_222_222
        })
        .hardlink("./etc/passwd-", "./etc/passwd")
        .dir("./bin/")
        .file_with("./bin/su", b"#!/bin/sh\n", |h| {
            h.mode = 0o4755;
            h.uid = 0;
            h.gid = 0;
        })
        .file_with("./bin/sg", b"x", |h| {
            h.mode = 0o2755;
            h.uid = 0;
            h.gid = 42;
        })
        .dir_with("./home/", |h| h.mode = 0o755)
        .dir_with("./home/user/", |h| {
            h.mode = 0o700;
            h.uid = 1000;
            h.gid = 1000;
            h.mtime = 1_333_333_333;
        })
        .file_with("./home/user/notes", b"hello", |h| {
            h.mode = 0o600;
            h.uid = 1000;
            h.gid = 1000;
        })
        .dir_with("./tmp/", |h| h.mode = 0o1777)
        .dir_with("./shared/", |h| {
            h.mode = 0o2775;
            h.gid = 50;
        })
        .file("./shared/file", b"group?")
        .symlink("./lib", "usr/lib")
        .entry(
            &{
                let mut h = H::new("./home/user/link", b'2');
                h.link = b"/etc/passwd".to_vec();
                h.uid = 1000;
                h.gid = 1001;
                h.mtime = 1_444_444_444;
                h
            },
            b"",
        )
        .finish();
    let stats = s.apply(&tar).unwrap();
    assert_eq!(
        stats,
        ApplyStats {
            entries: 15,
            files: 5,
            bytes: 26 + 10 + 1 + 5 + 6,
            whiteouts: 0,
            dirs: 7,
            symlinks: 2,
            hardlinks: 1,
            skipped_devices: 0,
            skipped_xattrs: 0,
        }
    );

    assert_eq!(
        fs::read(s.at("etc/passwd")).unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    let passwd = lstat(&s.at("etc/passwd"));
    assert_eq!(passwd.mode() & 0o7777, 0o644);
    assert_eq!(passwd.mtime(), 1_222_222_222);
    assert_eq!(passwd.nlink(), 2);
    assert_eq!(lstat(&s.at("etc/passwd-")).ino(), passwd.ino());
    assert_eq!(
        lstat(&s.at("etc")).mtime(),
        1_111_111_111,
        "dir mtime after content"
    );

    let su = lstat(&s.at("bin/su"));
    assert_eq!(su.mode() & 0o7777, 0o4755, "setuid kept");
    let sg = lstat(&s.at("bin/sg"));
    assert_eq!(
        (sg.mode() & 0o7777, sg.gid()),
        (0o2755, 42),
        "setgid kept after chown"
    );

    let home = lstat(&s.at("home/user"));
    assert_eq!(
        (home.mode() & 0o7777, home.uid(), home.gid(), home.mtime()),
        (0o700, 1000, 1000, 1_333_333_333)
    );
    let notes = lstat(&s.at("home/user/notes"));
    assert_eq!(
        (notes.uid(), notes.gid(), notes.mode() & 0o7777),
        (1000, 1000, 0o600)
    );
    assert_eq!(lstat(&s.at("tmp")).mode() & 0o7777, 0o1777);

    // In a setgid directory new files take its group; the header says 0, so 0 it is.
    assert_eq!(lstat(&s.at("shared")).mode() & 0o7777, 0o2775);
    assert_eq!(lstat(&s.at("shared/file")).gid(), 0);

    let lib = lstat(&s.at("lib"));
    assert!(lib.file_type().is_symlink());
    assert_eq!(fs::read_link(s.at("lib")).unwrap(), Path::new("usr/lib"));
    let link = lstat(&s.at("home/user/link"));
    assert_eq!(
        (link.uid(), link.gid(), link.mtime()),
        (1000, 1001, 1_444_444_444)
    );
    assert_eq!(
        fs::read_link(s.at("home/user/link")).unwrap(),
        Path::new("/etc/passwd")
    );

    let root = lstat(&s.dest());
    assert_eq!(root.mode() & 0o7777, 0o755);
    assert_eq!(root.mtime(), 1_600_000_000);
    s.assert_outside_untouched();
}

#[test]
fn read_only_and_no_access_directories_are_filled_anyway() {
    let s = Scene::new("readonly-dirs");
    let tar = Tar::new()
        .dir_with("ro/", |h| h.mode = 0o555)
        .file("ro/file", b"x")
        .dir_with("none/", |h| h.mode = 0o000)
        .file("none/sub/file", b"y")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("ro/file")).unwrap(), b"x");
    assert_eq!(fs::read(s.at("none/sub/file")).unwrap(), b"y");
    assert_eq!(lstat(&s.at("ro")).mode() & 0o7777, 0o555);
    assert_eq!(lstat(&s.at("none")).mode() & 0o7777, 0o000);
}

#[test]
fn implied_parent_directories_are_created() {
    let s = Scene::new("implied");
    let tar = Tar::new().file("a/b/c/file", b"x").finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("a/b/c/file")).unwrap(), b"x");
    assert_eq!(lstat(&s.at("a/b")).mode() & 0o7777, 0o755);
}

#[test]
fn fifo_is_created_with_its_mode() {
    let s = Scene::new("fifo");
    let tar = Tar::new()
        .entry(
            &{
                let mut h = H::new("run/pipe", b'6');
                h.mode = 0o620;
                h.uid = 7;
                h
            },
            b"",
        )
        .finish();
    s.apply(&tar).unwrap();
    let meta = lstat(&s.at("run/pipe"));
    assert!(meta.file_type().is_fifo());
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o620, 7));
}

#[test]
fn xattrs_allowed_and_refused() {
    let s = Scene::new("xattrs");
    // A capability blob containing a newline byte: the PAX parser must not split on it.
    let cap = [
        1u8, 0, 0, 2, 0x0a, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let tar = Tar::new()
        .dir("d/")
        .pax(&[
            ("SCHILY.xattr.user.mime", b"text/plain"),
            ("SCHILY.xattr.security.capability", &cap),
            ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            (
                "SCHILY.xattr.security.selinux",
                b"system_u:object_r:shadow_t:s0",
            ),
        ])
        .file_with("d/ping", b"elf", |h| {
            h.mode = 0o755;
            h.uid = 1;
        })
        .pax(&[("SCHILY.xattr.trusted.overlay.opaque", b"y")])
        .dir("e/")
        .pax(&[("SCHILY.xattr.user.dir", b"1")])
        .dir("f/")
        .finish();
    let stats = s.apply(&tar).unwrap();
    assert_eq!(stats.skipped_xattrs, 3);
    let ping = s.at("d/ping");
    assert_eq!(
        xattr(&ping, "user.mime").as_deref(),
        Some(&b"text/plain"[..])
    );
    assert_eq!(
        xattr(&ping, "security.capability").as_deref(),
        Some(&cap[..])
    );
    assert_eq!(xattr(&ping, "trusted.overlay.redirect"), None);
    assert_eq!(xattr(&ping, "security.selinux"), None);
    assert_eq!(lstat(&ping).uid(), 1, "capability survived the chown");
    assert_eq!(xattr(&s.at("e"), "trusted.overlay.opaque"), None);
    assert_eq!(xattr(&s.at("f"), "user.dir").as_deref(), Some(&b"1"[..]));
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let s = Scene::new("whiteout");
    let tar = Tar::new()
        .dir("usr/")
        .file("usr/.wh.removed", b"")
        .file("usr/.wh..wh..opq", b"")
        .file("var/lib/.wh..wh..opq", b"") // opaque directory not otherwise in the layer
        .file(".wh..wh.plnk", b"") // AUFS metadata: skipped
        .file("replaced", b"first")
        .file(".wh.replaced", b"") // replaces this layer's own file
        .symlink("outside", &s.canary())
        .file(".wh.outside", b"") // removes the link, never its target
        .finish();
    let stats = s.apply(&tar).unwrap();
    assert_eq!(stats.whiteouts, 5);

    for path in ["usr/removed", "replaced", "outside"] {
        let meta = lstat(&s.at(path));
        assert!(meta.file_type().is_char_device(), "{path}");
        assert_eq!(meta.rdev(), 0, "{path}");
        assert_eq!(meta.mode() & 0o7777, 0, "{path}");
    }
    assert!(lstat(&s.at("usr")).is_dir());
    assert!(!s.at("usr/.wh.removed").exists());
    assert!(!s.at(".wh..wh.plnk").exists());
    assert_eq!(
        xattr(&s.at("usr"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        xattr(&s.at("var/lib"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(xattr(&s.at("var"), "trusted.overlay.opaque"), None);
    s.assert_outside_untouched();
}

#[test]
fn whiteout_corner_cases() {
    let s = Scene::new("whiteout-corners");
    let tar = Tar::new()
        .file(".wh..wh..opq", b"") // the layer root itself becomes opaque
        .file(".wh.etc/somefile", b"x") // a whiteout prefix on a directory is just a name
        .file(".wh.later", b"")
        .file("later", b"a later entry replaces the whiteout")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(
        xattr(&s.dest(), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(lstat(&s.at(".wh.etc")).is_dir());
    assert_eq!(fs::read(s.at(".wh.etc/somefile")).unwrap(), b"x");
    assert!(fs::symlink_metadata(s.at("etc")).is_err());
    assert!(lstat(&s.at("later")).is_file());
}

#[test]
fn invalid_whiteout_names_are_errors() {
    for name in ["etc/.wh..", ".wh...", ".wh."] {
        let s = Scene::new("bad-whiteout");
        let tar = Tar::new().dir("etc/").file(name, b"").finish();
        let err = s.apply(&tar).unwrap_err();
        assert!(
            matches!(err, LayerError::InvalidEntry { .. }),
            "{name}: {err}"
        );
        s.assert_outside_untouched();
    }
}

#[test]
fn later_entries_replace_earlier_ones() {
    let s = Scene::new("replace");
    let tar = Tar::new()
        .file("a", b"file first")
        .dir("a/") // a directory replaces a file
        .file("a/inner", b"x")
        .dir("b/")
        .file("b/deep/er/file", b"x")
        .file("b", b"now a file") // a file replaces a whole tree
        .dir_with("c/", |h| h.mode = 0o700)
        .file("c/kept", b"x")
        .dir_with("c/", |h| h.mode = 0o750) // a dir over a dir keeps its content
        .file("d", b"one")
        .file("d", b"two")
        .finish();
    s.apply(&tar).unwrap();
    assert!(lstat(&s.at("a")).is_dir());
    assert_eq!(fs::read(s.at("b")).unwrap(), b"now a file");
    assert_eq!(fs::read(s.at("c/kept")).unwrap(), b"x");
    assert_eq!(lstat(&s.at("c")).mode() & 0o7777, 0o750);
    assert_eq!(fs::read(s.at("d")).unwrap(), b"two");
}

#[test]
fn long_names_and_pax_records() {
    let s = Scene::new("long");
    let long_dir = "d".repeat(150);
    let long_file = format!("{long_dir}/{}", "f".repeat(200));
    let long_target = format!("/{}", "t".repeat(300));
    let tar = Tar::new()
        .long_name(format!("{long_dir}/").as_bytes())
        .dir("ignored-short-name/")
        .pax(&[
            ("path", long_file.as_bytes()),
            ("uid", b"123456"),
            ("gid", b"654321"),
            ("mtime", b"1500000000.5"),
        ])
        .file("short", b"data")
        .pax(&[("linkpath", long_target.as_bytes())])
        .symlink("sym", "short-target")
        .finish();
    s.apply(&tar).unwrap();
    assert!(s.at(&long_dir).is_dir());
    assert!(!s.at("ignored-short-name").exists());
    let file = lstat(&s.at(&long_file));
    assert_eq!((file.uid(), file.gid()), (123_456, 654_321));
    assert_eq!(
        (file.mtime(), file.mtime_nsec()),
        (1_500_000_000, 500_000_000)
    );
    assert_eq!(fs::read_link(s.at("sym")).unwrap(), Path::new(&long_target));
}

#[test]
fn a_tar_from_tar_builder_round_trips() {
    let s = Scene::new("builder");
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o640);
    h.set_entry_type(tar::EntryType::Regular);
    let name = format!("{}/file", "n".repeat(120));
    builder.append_data(&mut h, &name, &b"abc"[..]).unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    builder
        .append_link(&mut l, "link", "t".repeat(180))
        .unwrap();
    let tar = builder.into_inner().unwrap();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at(&name)).unwrap(), b"abc");
    assert_eq!(
        fs::read_link(s.at("link")).unwrap(),
        Path::new(&"t".repeat(180))
    );
}

/// CVE-2026-33055: the PAX size is the size, whatever the ustar field says; both parsers (ours
/// and Go's) then agree on where the next header is.
#[test]
fn pax_size_overrides_the_ustar_size() {
    let s = Scene::new("pax-size");
    let mut tar = Tar::new();
    tar.pax(&[("size", b"5")]);
    let mut h = H::new("a", b'0');
    h.size = Some(0);
    tar.bytes.extend_from_slice(&h.block(0));
    tar.data(b"hello");
    tar.file("b", b"after");
    // The other direction: the ustar field claims 2048 bytes, PAX says 3.
    tar.pax(&[("size", b"3")]);
    let mut h = H::new("c", b'0');
    h.size = Some(2048);
    tar.bytes.extend_from_slice(&h.block(0));
    tar.data(b"abc");
    tar.file("d", b"seen");
    let tar = tar.finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("a")).unwrap(), b"hello");
    assert_eq!(fs::read(s.at("b")).unwrap(), b"after");
    assert_eq!(fs::read(s.at("c")).unwrap(), b"abc");
    assert_eq!(fs::read(s.at("d")).unwrap(), b"seen");
}

/// Link, symlink, directory, device and FIFO headers carry no data, whatever their size field
/// says (Go's archive/tar, hence Docker and containerd, read them so).
#[test]
fn header_only_types_have_no_data() {
    let s = Scene::new("header-only");
    let mut tar = Tar::new();
    let mut h = H::new("sym", b'2');
    h.link = b"target".to_vec();
    h.size = Some(1024);
    tar.bytes.extend_from_slice(&h.block(0));
    tar.file("next", b"read");
    s.apply(&tar.finish()).unwrap();
    assert_eq!(fs::read(s.at("next")).unwrap(), b"read");
}

#[test]
fn pax_global_headers_are_skipped() {
    let s = Scene::new("global");
    let mut tar = Tar::new();
    let data = pax_record("path", b"should-not-apply");
    tar.entry(&H::new("pax_global_header", b'g'), &data);
    tar.file("real", b"x");
    let stats = s.apply(&tar.finish()).unwrap();
    assert_eq!(stats.entries, 1);
    assert!(s.at("real").exists());
    assert!(!s.at("pax_global_header").exists());
    assert!(!s.at("should-not-apply").exists());
}

#[test]
fn missing_end_marker_is_accepted_and_trailing_bytes_are_read() {
    let s = Scene::new("eof");
    let mut tar = Tar::new();
    tar.file("a", b"x");
    let bytes = tar.bytes.clone();
    s.apply(&bytes).unwrap();

    // Everything after the end marker is read too (the caller's digest covers it).
    let mut with_tail = Tar::new().file("b", b"y").finish();
    with_tail.extend_from_slice(&[0u8; 10_000]);
    let total = with_tail.len();
    let mut reader = Counting(&with_tail[..], 0);
    apply_layer(&mut reader, &s.dest(), &ApplyOptions::default()).unwrap();
    assert_eq!(reader.1, total);
}

struct Counting<'a>(&'a [u8], usize);

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1 += n;
        Ok(n)
    }
}

#[test]
fn device_nodes_only_when_allowed() {
    let tar = Tar::new()
        .entry(
            &{
                let mut h = H::new("dev/null", b'3');
                h.dev = (1, 3);
                h.mode = 0o666;
                h
            },
            b"",
        )
        .entry(
            &{
                let mut h = H::new("dev/sda", b'4');
                h.dev = (8, 0);
                h.mode = 0o660;
                h
            },
            b"",
        )
        .hardlink("dev/null2", "dev/null")
        .finish();

    let s = Scene::new("devices-off");
    let stats = s.apply(&tar).unwrap();
    assert_eq!(stats.skipped_devices, 3);
    assert!(fs::symlink_metadata(s.at("dev/null")).is_err());
    assert!(fs::symlink_metadata(s.at("dev/sda")).is_err());
    assert!(fs::symlink_metadata(s.at("dev/null2")).is_err());

    let s = Scene::new("devices-on");
    let options = ApplyOptions {
        allow_device_nodes: true,
        ..ApplyOptions::default()
    };
    let stats = s.apply_with(&tar, &options).unwrap();
    assert_eq!(stats.skipped_devices, 0);
    let null = lstat(&s.at("dev/null"));
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (null.rdev(), null.mode() & 0o7777),
        (rustix::fs::makedev(1, 3), 0o666)
    );
    let sda = lstat(&s.at("dev/sda"));
    assert!(sda.file_type().is_block_device());
    assert_eq!(sda.rdev(), rustix::fs::makedev(8, 0));
    assert_eq!(lstat(&s.at("dev/null2")).ino(), null.ino());
}

#[test]
fn sparse_files_from_gnu_tar_keep_their_holes() {
    let src = TempDir::new("sparse-src");
    let file = src.root().join("sparse");
    {
        use std::os::unix::fs::FileExt;
        let f = fs::File::create(&file).unwrap();
        f.write_all_at(b"start", 0).unwrap();
        f.write_all_at(&[7u8; 5000], 3 * 1024 * 1024).unwrap();
        f.write_all_at(b"end", 9 * 1024 * 1024).unwrap();
        f.set_len(16 * 1024 * 1024).unwrap(); // ends with a hole
    }
    let original = fs::read(&file).unwrap();
    for format in [
        &["--format=gnu"][..],
        &["--format=pax"],
        &["--format=pax", "--sparse-version=0.0"],
        &["--format=pax", "--sparse-version=0.1"],
    ] {
        let out = Command::new("tar")
            .args(["--sparse", "-c", "-f", "-", "-C"])
            .arg(src.root())
            .args(format)
            .arg("sparse")
            .output()
            .unwrap();
        assert!(out.status.success(), "{format:?}");
        assert!(out.stdout.len() < 1024 * 1024, "{format:?}: tar not sparse");
        let s = Scene::new("sparse");
        let stats = s.apply(&out.stdout).unwrap();
        assert_eq!(stats.files, 1, "{format:?}");
        let extracted = s.at("sparse");
        let meta = lstat(&extracted);
        assert_eq!(meta.len(), 16 * 1024 * 1024, "{format:?}");
        assert!(
            meta.blocks() * 512 < 1024 * 1024,
            "{format:?}: {} bytes allocated, holes were filled",
            meta.blocks() * 512
        );
        assert!(
            fs::read(&extracted).unwrap() == original,
            "{format:?}: content differs"
        );
        assert!(stats.bytes < 64 * 1024, "{format:?}: {}", stats.bytes);
    }
}

/// The same layer applied twice gives the same tree: names, types, modes, owners, times,
/// content, link targets, device numbers and xattrs.
#[test]
fn applying_twice_gives_identical_trees() {
    let tar = Tar::new()
        .dir("./")
        .dir_with("etc/", |h| h.mtime = 1_000)
        .file_with("etc/a", b"aaa", |h| {
            h.uid = 5;
            h.mode = 0o4711;
        })
        .hardlink("etc/b", "etc/a")
        .symlink("etc/c", "../nowhere")
        .pax(&[("SCHILY.xattr.user.k", b"v"), ("mtime", b"12.000000123")])
        .file("etc/d", b"dd")
        .file("deep/implied/file", b"x")
        .file("etc/.wh.gone", b"")
        .file("opq/.wh..wh..opq", b"")
        .entry(&H::new("fifo", b'6'), b"")
        .finish();
    let one = Scene::new("twice-1");
    let two = Scene::new("twice-2");
    one.apply(&tar).unwrap();
    two.apply(&tar).unwrap();
    let a = snapshot(&one.dest());
    assert!(a.len() >= 12, "{a:#?}");
    assert_eq!(a, snapshot(&two.dest()));
}

fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = lstat(&path);
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let implied = meta.is_dir() && (rel.starts_with("deep") || rel == "opq");
            let content = if meta.is_file() {
                format!("{:?}", fs::read(&path).unwrap())
            } else if meta.file_type().is_symlink() {
                fs::read_link(&path).unwrap().display().to_string()
            } else {
                String::new()
            };
            let xattrs = ["user.k", "trusted.overlay.opaque"]
                .map(|n| format!("{:?}", xattr(&path, n)))
                .join(",");
            out.insert(
                rel,
                format!(
                    "mode={:o} uid={} gid={} mtime={} rdev={} nlink={} {content} {xattrs}",
                    meta.mode(),
                    meta.uid(),
                    meta.gid(),
                    // Implied directories get the time of extraction.
                    if implied {
                        "now".to_string()
                    } else {
                        format!("{}.{}", meta.mtime(), meta.mtime_nsec())
                    },
                    meta.rdev(),
                    meta.nlink(),
                ),
            );
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    let meta = lstat(root);
    out.insert(
        ".".into(),
        format!("mode={:o} mtime={}", meta.mode(), meta.mtime()),
    );
    walk(root, root, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Hostile layers
// ---------------------------------------------------------------------------------------------

#[test]
fn dotdot_names_escape_and_fail() {
    for name in [
        "../../x",
        "../canary",
        "a/../../x",
        "/../canary",
        "./a/b/../../../victim/file",
    ] {
        let s = Scene::new("dotdot");
        let tar = Tar::new().file(name, b"owned").finish();
        let err = s.apply(&tar).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("layer entry {name:?} escapes the layer root")
        );
        s.assert_outside_untouched();
    }
}

#[test]
fn absolute_names_land_inside() {
    let s = Scene::new("absolute");
    let tar = Tar::new().file("/etc/x", b"inside").finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("etc/x")).unwrap(), b"inside");
    s.assert_outside_untouched();
}

/// CVE-2014-9356: an absolute symlink, then a write through it.
#[test]
fn write_through_absolute_symlink_stays_inside() {
    let s = Scene::new("abs-symlink");
    let host_probe = format!("/tmp/berth-owned-{}", std::process::id());
    let victim_inside = s.victim().trim_start_matches('/').to_string();
    let tar = Tar::new()
        .symlink("evil", "/")
        .file("evil/etc/passwd_owned", b"owned")
        .file(&format!("evil{host_probe}"), b"owned")
        // The victim's absolute path exists in the layer too: the link resolves to that.
        .file(&format!("{victim_inside}/placeholder"), b"")
        .symlink("victimlink", &s.victim())
        .file("victimlink/file", b"owned")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("etc/passwd_owned")).unwrap(), b"owned");
    assert!(!Path::new("/etc/passwd_owned").exists());
    assert!(!Path::new(&host_probe).exists());
    assert_eq!(
        fs::read(s.at(&format!("{victim_inside}/file"))).unwrap(),
        b"owned"
    );
    s.assert_outside_untouched();

    // Where the layer does not have the link's target, the write fails (as in Docker): the
    // link is dangling inside the root, whatever exists on the host.
    let s = Scene::new("abs-symlink-dangling");
    let tar = Tar::new()
        .symlink("victimlink", &s.victim())
        .file("victimlink/file", b"owned")
        .finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("\"victimlink/file\""), "{err}");
    s.assert_outside_untouched();
}

#[test]
fn write_through_relative_symlink_climbing_out_stays_inside() {
    let s = Scene::new("rel-symlink");
    let tar = Tar::new()
        .symlink("d", "../..")
        .file("d/x", b"clamped")
        .dir("inner/")
        .symlink("inner/go_up", "..")
        .symlink("inner/go_up/escape", "../victim") // lands in the root: escape -> ../victim
        .dir("victim/")
        .file("inner/go_up/escape/file", b"owned") // ../victim is the layer's own victim/
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.at("x")).unwrap(), b"clamped");
    assert!(lstat(&s.at("escape")).file_type().is_symlink());
    assert_eq!(fs::read(s.at("victim/file")).unwrap(), b"owned");
    s.assert_outside_untouched();
}

#[test]
fn hardlinks_outside_the_root_fail() {
    for (target, expect) in [
        ("../../etc/passwd", "outside the layer root"),
        ("../canary", "outside the layer root"),
        ("/etc/shadow", "does not exist in this layer"),
        ("/etc/passwd", "does not exist in this layer"),
    ] {
        let s = Scene::new("hardlink-out");
        let tar = Tar::new().hardlink("link", target).finish();
        let err = s.apply(&tar).unwrap_err();
        assert!(err.to_string().contains(expect), "{target}: {err}");
        s.assert_outside_untouched();
    }
}

#[test]
fn hardlink_through_a_symlinked_directory_stays_inside() {
    let s = Scene::new("hardlink-dir-symlink");
    let tar = Tar::new()
        .symlink("d1", "../../..")
        .hardlink("l1", "d1/canary") // d1 is the layer root: no canary here
        .finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(matches!(err, LayerError::HardlinkTarget { .. }), "{err}");
    s.assert_outside_untouched();

    let s = Scene::new("hardlink-dir-symlink-ok");
    let tar = Tar::new()
        .file("etc/passwd", b"layer's own")
        .symlink("d1", "/etc")
        .hardlink("l1", "d1/passwd")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(lstat(&s.at("l1")).ino(), lstat(&s.at("etc/passwd")).ino());
}

/// containerd `HardlinkSymlink*`: a hardlink to a symlink links the symlink, never the file it
/// points to, and nothing is chmod'ed through it.
#[test]
fn hardlink_to_a_symlink_pointing_outside_links_the_symlink() {
    let s = Scene::new("hardlink-symlink");
    let mut tar = Tar::new();
    tar.symlink("sym", &s.canary());
    let mut h = H::new("hl", b'1');
    h.link = b"sym".to_vec();
    h.mode = 0o777;
    tar.entry(&h, b"");
    s.apply(&tar.finish()).unwrap();
    let sym = lstat(&s.at("sym"));
    let hl = lstat(&s.at("hl"));
    assert!(hl.file_type().is_symlink());
    assert_eq!(hl.ino(), sym.ino());
    s.assert_outside_untouched(); // canary nlink 1, mode 0644
}

#[test]
fn hardlink_to_a_directory_fails() {
    let s = Scene::new("hardlink-dir");
    let tar = Tar::new().dir("d/").hardlink("l", "d").finish();
    let err = s.apply(&tar).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hardlink \"l\": its target \"d\" is a directory"
    );
}

/// A directory, then a symlink of the same name, then entries under the name: the symlink
/// replaced the directory, and writes through it are resolved inside the root; a directory
/// entry over the symlink replaces it rather than chmod'ing its target (CVE-2026-33056).
#[test]
fn dir_then_symlink_then_file_under_it() {
    let s = Scene::new("dir-symlink");
    let tar = Tar::new()
        .dir("d/")
        .file("d/old", b"x")
        .symlink("d", "/")
        .file("d/file", b"through")
        .finish();
    s.apply(&tar).unwrap();
    assert!(lstat(&s.at("d")).file_type().is_symlink());
    assert_eq!(fs::read(s.at("file")).unwrap(), b"through");
    s.assert_outside_untouched();

    let s = Scene::new("dir-symlink-out");
    let tar = Tar::new()
        .dir("d/")
        .symlink("d", &s.victim())
        .file("d/file", b"owned")
        .finish();
    // The victim's path does not exist inside the layer: refused, never the host's victim.
    s.apply(&tar).unwrap_err();
    assert!(lstat(&s.at("d")).file_type().is_symlink());
    s.assert_outside_untouched();

    let s = Scene::new("dir-symlink-chmod");
    let tar = Tar::new()
        .symlink("d", &s.victim())
        .dir_with("d/", |h| h.mode = 0o777)
        .finish();
    s.apply(&tar).unwrap();
    assert!(lstat(&s.at("d")).is_dir());
    assert_eq!(lstat(&s.at("d")).mode() & 0o7777, 0o777);
    s.assert_outside_untouched(); // victim still 0755
}

#[test]
fn whiteout_through_a_symlinked_parent_stays_inside() {
    let s = Scene::new("whiteout-symlink");
    let tar = Tar::new()
        .dir("etc/")
        .file("etc/passwd", b"x")
        .symlink("localetc", "/etc")
        .file("localetc/.wh.passwd", b"")
        .symlink("vict", &s.victim())
        .file("vict/.wh.file", b"")
        .finish();
    let result = s.apply(&tar);
    assert!(lstat(&s.at("etc/passwd")).file_type().is_char_device());
    // vict resolves to <root>/<victim path>, absent from the layer: created there or refused,
    // never the host's victim.
    let _ = result;
    s.assert_outside_untouched();
}

#[test]
fn symlink_into_the_host_file_then_file_of_the_same_name() {
    let s = Scene::new("symlink-replace");
    let tar = Tar::new()
        .symlink("f", &s.canary())
        .file("f", b"replaces the link, not the canary")
        .finish();
    s.apply(&tar).unwrap();
    assert!(lstat(&s.at("f")).is_file());
    s.assert_outside_untouched();
}

#[test]
fn a_dangling_symlink_as_a_parent_is_an_error() {
    let s = Scene::new("dangling-parent");
    let tar = Tar::new()
        .symlink("d", "/nonexistent/dir")
        .file("d/x", b"x")
        .finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("resolving its directory"), "{err}");
    s.assert_outside_untouched();
}

#[test]
fn non_directory_root_entry_fails() {
    let s = Scene::new("root-file");
    let tar = Tar::new().file("./", b"").finish();
    // A `\0`-typed "./" would be a directory; '0' is a file.
    let err = s.apply(&tar).unwrap_err();
    assert!(matches!(err, LayerError::InvalidEntry { .. }), "{err}");
}

#[test]
fn enormous_long_name_fails_fast_without_allocating() {
    let s = Scene::new("huge-name");
    let mut h = H::new("././@LongLink", b'L');
    h.gnu = true;
    h.size = Some(1 << 30); // 1 GiB declared, nothing follows
    let mut tar = Tar::new();
    tar.bytes.extend_from_slice(&h.block(0));
    let mut reader = Counting(&tar.bytes, 0);
    let err = apply_layer(&mut reader, &s.dest(), &ApplyOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer entry \"././@LongLink\": GNU long name of 1073741824 bytes exceeds the limit of \
         1048576 bytes"
    );
    assert_eq!(reader.1, 512, "refused on the header alone");

    let mut h = H::new("./PaxHeaders/big", b'x');
    h.size = Some(u64::MAX / 2);
    let mut tar = Tar::new();
    tar.bytes.extend_from_slice(&h.block(0));
    let err = s.apply(&tar.bytes).unwrap_err();
    assert!(
        matches!(
            err,
            LayerError::HeaderTooLarge {
                what: "PAX header",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn long_name_within_the_limit_but_pax_pushing_over_fails() {
    let s = Scene::new("header-budget");
    let options = ApplyOptions {
        max_header_bytes: 1000,
        ..ApplyOptions::default()
    };
    let tar = Tar::new()
        .long_name(&[b'a'; 600])
        .pax(&[("path", &[b'b'; 600])])
        .file("x", b"")
        .finish();
    let err = s.apply_with(&tar, &options).unwrap_err();
    assert!(matches!(err, LayerError::HeaderTooLarge { .. }), "{err}");
    // The budget is per entry: many entries of 600 bytes each are fine.
    let s = Scene::new("header-budget-ok");
    let mut tar = Tar::new();
    for i in 0..5 {
        let path = format!("{}/{}/{i}", "c".repeat(250), "d".repeat(250));
        tar.pax(&[("path", path.as_bytes())]);
        tar.file("x", b"");
    }
    s.apply_with(&tar.finish(), &options).unwrap();
}

#[test]
fn truncated_tars_fail() {
    let tar = Tar::new().file("a", &[1u8; 3000]).file("b", b"x").finish();
    for cut in [100, 512 + 1000, 512 + 3072 + 10] {
        let s = Scene::new("truncated");
        let err = s.apply(&tar[..cut]).unwrap_err();
        assert!(
            matches!(err, LayerError::Malformed { .. }),
            "cut {cut}: {err}"
        );
    }
    // Cut in the last entry's padding, with no end blocks: complete, as Go's reader (and
    // so Docker) has it — the docker CLI sends such tars.
    let s = Scene::new("unpadded");
    let stats = s.apply(&tar[..512 + 3072 + 512 + 1]).unwrap();
    assert_eq!(stats.files, 2);
    // An extension header with nothing after it.
    let mut t = Tar::new();
    t.pax(&[("path", b"x")]);
    let s = Scene::new("truncated-ext");
    let err = s.apply(&t.bytes).unwrap_err();
    assert!(matches!(err, LayerError::Malformed { .. }), "{err}");
}

#[test]
fn too_many_entries_fail() {
    let s = Scene::new("many");
    let mut tar = Tar::new();
    for i in 0..5 {
        tar.file(&format!("f{i}"), b"");
    }
    let options = ApplyOptions {
        max_entries: 3,
        ..ApplyOptions::default()
    };
    let err = s.apply_with(&tar.finish(), &options).unwrap_err();
    assert_eq!(err.to_string(), "layer has more than 3 entries");
}

#[test]
fn too_many_bytes_fail_before_writing() {
    let s = Scene::new("bytes");
    let tar = Tar::new()
        .file("a", &[0u8; 100])
        .file("b", &[0u8; 100])
        .finish();
    let options = ApplyOptions {
        max_total_bytes: 150,
        ..ApplyOptions::default()
    };
    let err = s.apply_with(&tar, &options).unwrap_err();
    assert!(
        matches!(err, LayerError::TooLarge { limit: 150, .. }),
        "{err}"
    );
    assert!(!s.at("b").exists());
}

#[test]
fn bad_checksum_and_bad_numbers_fail() {
    let s = Scene::new("checksum");
    let mut tar = Tar::new().file("a", b"x").finish();
    tar[0] ^= 1; // the name changes, the checksum does not
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");

    let tar = Tar::new()
        .pax(&[("size", b"12abc")])
        .file("a", b"x")
        .finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(matches!(err, LayerError::Malformed { .. }), "{err}");

    let tar = Tar::new()
        .pax(&[("uid", b"4294967295")])
        .file("a", b"x")
        .finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(
        err.to_string().contains("uid 4294967295 is out of range"),
        "{err}"
    );
}

#[test]
fn empty_and_nul_names_fail() {
    let s = Scene::new("names");
    let tar = Tar::new().file("", b"").finish();
    // An all-zero name field with a valid header: the name is empty.
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("empty name"), "{err}");

    let tar = Tar::new().pax(&[("path", b"a\0b")]).file("x", b"").finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn a_zero_block_followed_by_a_header_fails() {
    let s = Scene::new("lone-zero");
    let mut tar = Tar::new();
    tar.file("a", b"x");
    tar.bytes.extend_from_slice(&[0u8; 512]);
    tar.file("smuggled", b"x");
    let err = s.apply(&tar.finish()).unwrap_err();
    assert!(matches!(err, LayerError::Malformed { .. }), "{err}");
}

#[test]
fn unsupported_entry_types_fail() {
    let s = Scene::new("types");
    let tar = Tar::new().entry(&H::new("vol", b'V'), b"").finish();
    let err = s.apply(&tar).unwrap_err();
    assert!(err.to_string().contains("unsupported entry type"), "{err}");
}

#[test]
fn destination_must_exist() {
    let t = TempDir::new("nodest");
    let err =
        apply_layer(&[][..], &t.root().join("missing"), &ApplyOptions::default()).unwrap_err();
    assert!(matches!(err, LayerError::Dest { .. }), "{err}");
}

/// Random corruption of a valid layer: errors are fine, panics and writes outside are not.
#[test]
fn corrupted_tars_never_panic_or_escape() {
    let base = Tar::new()
        .dir("./")
        .dir("etc/")
        .pax(&[("path", b"etc/long-name"), ("SCHILY.xattr.user.a", b"1")])
        .file("etc/x", b"hello")
        .long_name(b"usr/lib/a-long-gnu-name")
        .file("ignored", b"data data data")
        .symlink("lnk", "/")
        .hardlink("etc/hl", "etc/long-name")
        .file("lnk/through", b"z")
        .file("usr/.wh.gone", b"")
        .file("usr/.wh..wh..opq", b"")
        .finish();
    // Where the headers are: the blocks whose checksum is valid.
    let headers: Vec<usize> = (0..base.len() / 512)
        .map(|i| i * 512)
        .filter(|&at| {
            let h = tar::Header::from_byte_slice(&base[at..at + 512]);
            base[at..at + 512].iter().any(|&b| b != 0) && {
                let mut copy = h.clone();
                copy.set_cksum();
                copy.as_bytes() == h.as_bytes()
            }
        })
        .collect();
    assert_eq!(headers.len(), 11);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..400 {
        let mut tar = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % tar.len() as u64) as usize;
            tar[at] = match next() % 4 {
                0 => 0,
                1 => b'/',
                2 => b'.',
                _ => next() as u8,
            };
        }
        // Mostly keep the checksums right, so the corruption reaches past the header check.
        if next() % 4 != 0 {
            for &block in &headers {
                let mut h = tar::Header::new_old();
                h.as_mut_bytes().copy_from_slice(&tar[block..block + 512]);
                h.set_cksum();
                tar[block..block + 512].copy_from_slice(h.as_bytes());
            }
        }
        if next() % 5 == 0 {
            tar.truncate((next() % tar.len() as u64) as usize);
        }
        let s = Scene::new("fuzz");
        match s.apply(&tar) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        s.assert_outside_untouched();
    }
    // Both outcomes are exercised.
    assert!(ok > 20 && failed > 20, "ok {ok}, failed {failed}");
}
