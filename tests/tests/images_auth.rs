//! Registry credentials as the docker CLI sends them (`X-Registry-Auth` from the
//! `auths` of its config.json): Basic auth (htpasswd) and Bearer tokens from a token
//! issuer the registry trusts, for pull and push; wrong or missing credentials fail
//! with the registry's refusal and store nothing.

use berth_tests::{DockerCli, RegistryOptions, TestAgent, TestImage, TestRegistry, TokenIssuer};

/// Adds `auths` for `registry` to the CLI's config.json (what `docker login` writes).
fn login(docker: &DockerCli, registry: &str, user: &str, password: &str) {
    use base64::Engine;
    let path = docker.config_dir().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|_| b"{}".to_vec())).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    config["auths"] = serde_json::json!({ registry: { "auth": auth } });
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

fn no_images(docker: &DockerCli) {
    let out = docker.run(&["images", "-q"]).unwrap().ok().unwrap();
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
}

#[tokio::test]
async fn basic_auth_pull_with_and_without_credentials() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().unwrap();
    let registry = TestRegistry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..RegistryOptions::default()
    })
    .unwrap();
    let image = TestImage::busybox().unwrap();
    image
        .push(&registry.host(), "private", "v1", Some(("alice", "s3cret")))
        .await
        .unwrap();
    let name = format!("{}/private:v1", registry.host());

    let anonymous = DockerCli::for_agent(&agent).unwrap();
    let out = anonymous.run(&["pull", &name]).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr.contains("pull access denied") && out.stderr.contains("requires a login"),
        "{}",
        out.stderr
    );
    no_images(&anonymous);

    let wrong = DockerCli::for_agent(&agent).unwrap();
    login(&wrong, &registry.host(), "alice", "guess");
    let out = wrong.run(&["pull", &name]).unwrap();
    assert!(!out.success());
    assert!(
        !out.stderr.contains("guess"),
        "the password is never echoed: {}",
        out.stderr
    );
    no_images(&wrong);

    let right = DockerCli::for_agent(&agent).unwrap();
    login(&right, &registry.host(), "alice", "s3cret");
    let out = right.run(&["pull", &name]).unwrap().ok().unwrap();
    assert!(out.stdout.contains("Pull complete"), "{}", out.stdout);
}

#[tokio::test]
async fn bearer_token_push_and_pull() {
    berth_tests::require_root().expect("root");
    let agent = TestAgent::start().unwrap();
    let issuer = TokenIssuer::start("bob", "t0ken-pw").unwrap();
    let registry = TestRegistry::start_with(RegistryOptions {
        token_auth: Some(issuer.token_auth()),
        ..RegistryOptions::default()
    })
    .unwrap();
    let docker = DockerCli::for_agent(&agent).unwrap();
    login(&docker, &registry.host(), "bob", "t0ken-pw");

    // An image made locally (import), pushed through the token flow…
    let rootfs = agent.temp_dir().join("rootfs.tar");
    std::fs::write(
        &rootfs,
        TestImage::busybox().unwrap().layers[0].tar().unwrap(),
    )
    .unwrap();
    let name = format!("{}/team/tool:v1", registry.host());
    docker
        .run(&["import", rootfs.to_str().unwrap(), &name])
        .unwrap()
        .ok()
        .unwrap();
    let pushed = docker.run(&["push", &name]).unwrap().ok().unwrap();
    assert!(
        pushed.stdout.contains("v1: digest: sha256:"),
        "{}",
        pushed.stdout
    );
    assert!(
        issuer.requests() >= 1,
        "the push went through the token issuer"
    );

    // …then removed and pulled back through it.
    docker.run(&["rmi", &name]).unwrap().ok().unwrap();
    no_images(&docker);
    let pulled = docker.run(&["pull", &name]).unwrap().ok().unwrap();
    assert!(pulled.stdout.contains("Pull complete"), "{}", pulled.stdout);

    // A wrong password gets no token: the pull fails and names no secret.
    docker.run(&["rmi", &name]).unwrap().ok().unwrap();
    let stranger = DockerCli::for_agent(&agent).unwrap();
    login(&stranger, &registry.host(), "bob", "not-it");
    let refused = stranger.run(&["pull", &name]).unwrap();
    assert!(!refused.success());
    assert!(!refused.stderr.contains("not-it"), "{}", refused.stderr);
    no_images(&stranger);
}
