//! Test harness for Berth: runs the real `berth` agent as root in a throw-away data root, and
//! builds the fixtures the integration tests need (an offline busybox image, a local registry,
//! the stock `docker` CLI pointed at the agent, a headless Chromium).
//!
//! Every resource a harness type creates (temp dirs, ports, processes, mounts, cgroups) is
//! unique to it and is removed when the value is dropped, so tests may run in parallel.

pub mod agent;
pub mod browser;
pub mod cleanup;
pub mod docker_cli;
pub mod image;
pub mod ports;
pub mod process;
pub mod registry;
pub mod registry_proxy;
pub mod tiny_http;
pub mod token_issuer;
pub mod unix_http;

pub use agent::TestAgent;
pub use browser::Browser;
pub use docker_cli::{CliOutput, DockerCli};
pub use image::{GenSpec, ManifestFormat, TestImage};
pub use registry::{RegistryOptions, TestRegistry, TokenAuth};
pub use registry_proxy::{ProxyOptions, RegistryProxy};
pub use token_issuer::TokenIssuer;

/// Fails with a clear message unless the test runs as root (the agent mounts, creates
/// namespaces and cgroups, and refuses to start otherwise).
pub fn require_root() -> anyhow::Result<()> {
    if rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        anyhow::bail!(
            "these tests must run as root (the agent mounts filesystems and creates cgroups); \
             run them with `sudo tests/run`"
        )
    }
}

/// An agent, an anonymous registry and the docker CLI pointed at the agent: what most
/// image tests start from.
pub fn agent_with_registry() -> anyhow::Result<(TestAgent, TestRegistry, DockerCli)> {
    require_root()?;
    let agent = TestAgent::start()?;
    let registry = TestRegistry::start()?;
    let docker = DockerCli::for_agent(&agent)?;
    Ok((agent, registry, docker))
}

/// Prints a uniform skip line, so a skipped test is visible in `cargo test` output.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIP {test}: {reason}");
}

/// True when the environment asks for end-to-end prerequisites to be present (CI sets
/// `E2E_REQUIRED=1`): a missing browser is then a failure rather than a skip.
pub fn e2e_required() -> bool {
    std::env::var("E2E_REQUIRED").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}
