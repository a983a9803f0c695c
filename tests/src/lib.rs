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
pub mod peers;
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

/// Loads `image` into the agent as `tag` through `docker load` (the offline way in).
pub fn load_image(
    agent: &TestAgent,
    docker: &DockerCli,
    image: &TestImage,
    tag: &str,
) -> anyhow::Result<()> {
    let tar = agent
        .temp_dir()
        .join(format!("load-{}.tar", tag.replace([':', '/'], "_")));
    image.write_docker_save(&tar, tag)?;
    let path = tar
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 temp path"))?;
    docker.run(&["load", "-i", path])?.ok()?;
    Ok(())
}

/// An agent (started with `extra_args`) with the busybox test image loaded as
/// `busybox:latest`, and a docker CLI for it: what every container test starts from.
pub fn agent_with_busybox(extra_args: &[&str]) -> anyhow::Result<(TestAgent, DockerCli)> {
    require_root()?;
    let agent = TestAgent::start_with_args(extra_args)?;
    let docker = DockerCli::for_agent(&agent)?;
    load_image(&agent, &docker, &TestImage::busybox()?, "busybox:latest")?;
    Ok((agent, docker))
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
