//! Builds the dashboard (`web/`, Leptos CSR) to wasm32 and leaves it in `$OUT_DIR/dist`, where
//! `src/api/assets.rs` embeds it with rust-embed.
//!
//! The arrangement (see `research/web-pipeline.md`): a nested `cargo build -p web` for
//! wasm32-unknown-unknown into its own target dir, then wasm-bindgen run as a library, so that
//! `cargo build -p agent` is the only command anyone needs. Switches:
//! - `BERTH_SKIP_WASM=1`: write a placeholder `index.html` only (fast test builds).
//! - `BERTH_WASM_PROFILE=wasm-dev|wasm-release`: override the profile picked from `PROFILE`.
//!
//! `cargo:rustc-env=BERTH_WASM_BUILT` tells the agent whether the real UI is embedded.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        // A panic would bury the message under a backtrace; print it plainly and fail.
        eprintln!("error: building the Berth dashboard failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("agent crate has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let dist = out_dir.join("dist");

    for p in [
        "web/src",
        "web/Cargo.toml",
        "web/index.html",
        "web/style.css",
        "shared/src",
        "shared/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=BERTH_SKIP_WASM");
    println!("cargo:rerun-if-env-changed=BERTH_WASM_PROFILE");

    // Start from an empty dist so a skip build never ships stale wasm and vice versa.
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::create_dir_all(&dist)?;

    if env::var("BERTH_SKIP_WASM").is_ok_and(|v| !v.is_empty() && v != "0") {
        fs::write(dist.join("index.html"), PLACEHOLDER)?;
        println!("cargo:rustc-env=BERTH_WASM_BUILT=0");
        return Ok(());
    }

    ensure_target()?;

    let profile = match env::var("BERTH_WASM_PROFILE") {
        Ok(p) if !p.is_empty() => p,
        _ => match env::var("PROFILE").as_deref() {
            Ok("release") => "wasm-release".to_string(),
            _ => "wasm-dev".to_string(),
        },
    };
    let release = profile != "wasm-dev";

    // Its own target dir: the outer cargo holds the lock on target/. One stable directory is
    // shared by debug, release and test builds of the agent, so repeat runs are cheap.
    let outer_target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let wasm_target_dir = outer_target.join("wasm");

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "web",
            "--lib",
            "--target",
            TARGET,
            "--profile",
        ])
        .arg(&profile)
        .arg("--target-dir")
        .arg(&wasm_target_dir)
        // The outer build's settings must not leak into the wasm build: cargo sets an empty
        // CARGO_ENCODED_RUSTFLAGS for build scripts, and it outranks every other rustflags source.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .map_err(|e| format!("cannot run cargo for the wasm build: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo build -p web --target {TARGET}` failed ({status})").into());
    }

    let wasm = wasm_target_dir.join(TARGET).join(&profile).join("web.wasm");
    if !wasm.is_file() {
        return Err(format!("{} was not produced", wasm.display()).into());
    }

    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name("web")
        .web(true)?
        .typescript(false)
        .remove_name_section(release)
        .remove_producers_section(release)
        .generate(&dist)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;

    for f in ["index.html", "style.css"] {
        let src = root.join("web").join(f);
        if src.is_file() {
            fs::copy(&src, dist.join(f))?;
        }
    }
    println!("cargo:rustc-env=BERTH_WASM_BUILT=1");
    Ok(())
}

/// Installs the wasm32 standard library for the toolchain in use when it is missing.
/// Deliberately not a rust-toolchain.toml: with rustup auto-install on, that can upgrade the
/// whole toolchain; with it off (as on these machines), it installs nothing.
fn ensure_target() -> Result<()> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && has_libcore(&libdir) {
        return Ok(());
    }

    println!("cargo:warning=installing the {TARGET} target with rustup (needed for the dashboard)");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", TARGET]);
    if let Some(tc) = env::var_os("RUSTUP_TOOLCHAIN") {
        cmd.arg("--toolchain").arg(tc);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run rustup to add {TARGET}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`rustup target add {TARGET}` failed ({status}); install it by hand or set BERTH_SKIP_WASM=1"
        )
        .into());
    }
    Ok(())
}

fn has_libcore(libdir: &Path) -> bool {
    fs::read_dir(libdir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("libcore-"))
        })
    })
}

const PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>Berth</title></head>
<body>
<p>The Berth dashboard was not built into this agent (BERTH_SKIP_WASM was set at build time).
The HTTP API and the WebSocket work as usual.</p>
</body>
</html>
";
