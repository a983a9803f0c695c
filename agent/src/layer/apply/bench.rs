//! Extraction speed against GNU `tar -x` on the same disk (DESIGN §10: on these machines small
//! files are metadata-bound, so syscalls per entry matter). Ignored by default; run with
//! `BERTH_SKIP_WASM=1 cargo test --release -p agent layer::apply::bench -- --ignored --nocapture`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::test_support::TempDir;
use crate::layer::{ApplyOptions, apply_layer};

const FILES: usize = 10_000;
const DIRS: usize = 100;
const ROUNDS: usize = 7;

/// A tree like an image layer's: 100 directories of 100 small files (50 B – 4 KiB) each.
fn make_tree(root: &Path) {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for d in 0..DIRS {
        let dir = root.join(format!("usr/share/pkg{d:03}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..FILES / DIRS {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 50 + (seed % 4000) as usize;
            fs::write(
                dir.join(format!("file{f:03}.txt")),
                vec![b'a' + (f % 26) as u8; len],
            )
            .unwrap();
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn sync() {
    rustix::fs::sync();
}

#[test]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
fn bench_10k_small_files() {
    let work = TempDir::new("bench");
    let src = work.root().join("src");
    make_tree(&src);
    let tarball = work.root().join("layer.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let entries = FILES + DIRS + 3; // files, pkg dirs, ., usr, usr/share

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 0..ROUNDS {
        let dest = work.root().join(format!("berth{round}"));
        fs::create_dir(&dest).unwrap();
        sync();
        let start = Instant::now();
        let file = fs::File::open(&tarball).unwrap();
        let stats = apply_layer(file, &dest, &ApplyOptions::default()).unwrap();
        ours.push(start.elapsed());
        assert_eq!(stats.entries as usize, entries);

        let dest = work.root().join(format!("tar{round}"));
        fs::create_dir(&dest).unwrap();
        sync();
        let start = Instant::now();
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dest)
            .status()
            .unwrap();
        theirs.push(start.elapsed());
        assert!(status.success());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let rate = |d: Duration| entries as f64 / d.as_secs_f64();
    println!(
        "{entries} entries: berth apply_layer {:.1} ms ({:.0} entries/s), tar -x {:.1} ms \
         ({:.0} entries/s), ratio berth/tar {:.2} (medians of {ROUNDS})",
        ours.as_secs_f64() * 1e3,
        rate(ours),
        theirs.as_secs_f64() * 1e3,
        rate(theirs),
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}

/// Applies the tar at `$BERTH_BENCH_TAR` into the empty directory `$BERTH_BENCH_DEST` once, for
/// profiling (`strace -f -c`, `perf`) without the rest of the benchmark in the way.
#[test]
#[ignore = "profiling helper: needs BERTH_BENCH_TAR and BERTH_BENCH_DEST"]
fn apply_tar_from_env() {
    let (Some(tar), Some(dest)) = (
        std::env::var_os("BERTH_BENCH_TAR"),
        std::env::var_os("BERTH_BENCH_DEST"),
    ) else {
        return;
    };
    let start = Instant::now();
    let stats = apply_layer(
        fs::File::open(tar).unwrap(),
        Path::new(&dest),
        &ApplyOptions::default(),
    )
    .unwrap();
    println!("{stats:?} in {:?}", start.elapsed());
}
