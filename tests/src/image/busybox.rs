//! The busybox rootfs: Debian's static `/bin/busybox` plus one symlink per applet.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::LayerBuilder;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\n";

/// The static busybox to package: `$BUSYBOX_BIN`, else `/bin/busybox` (Debian busybox-static).
pub fn busybox_path() -> PathBuf {
    std::env::var_os("BUSYBOX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/bin/busybox"))
}

/// The rootfs of the busybox image: `bin/busybox`, `bin/<applet>` → `busybox` for every applet
/// of `busybox --list`, `etc/passwd` (root, nobody), `etc/group`, `tmp/` (1777), `root/`, and
/// the empty mount points `dev/`, `proc/`, `sys/` that real images carry.
pub fn busybox_layer() -> Result<LayerBuilder> {
    let path = busybox_path();
    let binary = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (install Debian's busybox-static; tests/run does)",
            path.display()
        )
    })?;
    let listed = Command::new(&path)
        .arg("--list")
        .output()
        .with_context(|| format!("running {} --list", path.display()))?;
    if !listed.status.success() {
        bail!("{} --list failed: {}", path.display(), listed.status);
    }
    let applets = String::from_utf8(listed.stdout).context("busybox --list is not UTF-8")?;

    let mut layer = LayerBuilder::new();
    layer
        .dir("bin", 0o755)
        .file("bin/busybox", 0o755, binary)
        .dir("dev", 0o755)
        .dir("etc", 0o755)
        .file("etc/passwd", 0o644, PASSWD)
        .file("etc/group", 0o644, GROUP)
        .dir("proc", 0o555)
        .dir("root", 0o700)
        .dir("sys", 0o555)
        .dir("tmp", 0o1777);
    let mut count = 0;
    for applet in applets.lines().map(str::trim) {
        // Applet names are plain words ("[", "[[", "sh", …); anything else is not ours to add.
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        layer.symlink(&format!("bin/{applet}"), "busybox");
        count += 1;
    }
    if count == 0 {
        bail!("{} --list named no applets", path.display());
    }
    Ok(layer)
}
