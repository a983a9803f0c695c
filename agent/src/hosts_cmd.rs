//! `berth hosts …`: works on the peers file directly, with or without a running agent (the
//! agent notices within a second). `ls` asks the running agent over its unix socket for the
//! peers' state, and lists the file alone when no agent answers.

use crate::cli::HostsCommand;
use crate::peers::PeerError;
use crate::peers::admit::admit;
use crate::peers::registry::PeerRegistry;
use anyhow::{Context, Result, bail};
use shared::hosts::{AddHostRequest, HostStatus};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

pub fn run(command: HostsCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        match command {
            HostsCommand::Add {
                root,
                name,
                url,
                token,
                token_file,
                fingerprint,
                ca,
            } => {
                let token = match (token, token_file) {
                    (Some(t), _) => t,
                    (None, Some(file)) => std::fs::read_to_string(&file)
                        .with_context(|| format!("read token file {}", file.display()))?
                        .trim()
                        .to_string(),
                    (None, None) => bail!("give the peer's token with --token or --token-file"),
                };
                let ca = ca
                    .map(|path| {
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("read CA file {}", path.display()))
                    })
                    .transpose()?;
                let request = AddHostRequest {
                    name,
                    url,
                    token,
                    fingerprint,
                    ca,
                };
                add(&root.root, request).await
            }
            HostsCommand::Ls { root, socket } => list(&root.root, &socket).await,
            HostsCommand::Rm { root, name } => {
                let gone = registry(&root.root).remove(&name)?;
                println!("removed {} ({})", gone.name, gone.url);
                Ok(())
            }
        }
    })
}

fn registry(root: &Path) -> PeerRegistry {
    PeerRegistry::open(&root.join("auth"))
}

fn local_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

async fn add(root: &Path, mut request: AddHostRequest) -> Result<()> {
    let registry = registry(root);
    if registry.get(request.name.trim())?.is_some() {
        bail!(PeerError::NameTaken(request.name.trim().to_string()));
    }
    let admitted = match admit(&request, &local_name()).await {
        Err(PeerError::ConfirmFingerprint { url, fingerprint }) => {
            println!("{url} presents a certificate with SHA-256 fingerprint\n  {fingerprint}");
            if !std::io::stdin().is_terminal() {
                bail!(
                    "compare it with the fingerprint the peer printed at start, then run again \
                     with --fingerprint {fingerprint}"
                );
            }
            print!(
                "Is this the peer's certificate (compare with what it printed at start)? [y/N] "
            );
            std::io::stdout().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                bail!("not added");
            }
            request.fingerprint = Some(fingerprint.to_string());
            admit(&request, &local_name()).await?
        }
        other => other?,
    };
    registry.add(admitted.record.clone())?;
    println!(
        "added {} ({}): berth {} on {}, this token is {} there",
        admitted.record.name,
        admitted.record.url,
        admitted.facts.agent_version,
        admitted.facts.name,
        admitted.role
    );
    Ok(())
}

async fn list(root: &Path, socket: &Path) -> Result<()> {
    let hosts = match ask_agent(socket).await {
        Ok(hosts) => hosts,
        Err(e) => {
            eprintln!(
                "(no running agent answered on {}: {e:#}; states unknown)",
                socket.display()
            );
            registry(root)
                .list()?
                .iter()
                .map(|r| HostStatus {
                    name: r.name.clone(),
                    local: false,
                    url: r.url.clone(),
                    state: shared::hosts::HostState::Connecting,
                    since: r.added,
                    error: None,
                    fingerprint: r.fingerprint.map(|f| f.to_string()),
                    facts: None,
                })
                .collect()
        }
    };
    println!(
        "{:<16}{:<13}{:<32}{:<10}{:<12}DETAIL",
        "NAME", "STATE", "URL", "VERSION", "CONTAINERS"
    );
    for h in hosts {
        let state = if h.local { "local" } else { h.state.as_str() };
        let (version, containers) = match &h.facts {
            Some(f) => (
                f.agent_version.clone(),
                format!("{}/{}", f.containers_running, f.containers),
            ),
            None => ("-".into(), "-".into()),
        };
        let detail = h.error.clone().unwrap_or_default();
        println!(
            "{:<16}{:<13}{:<32}{:<10}{:<12}{detail}",
            h.name, state, h.url, version, containers
        );
    }
    Ok(())
}

/// `GET /berth/v1/hosts` on the agent's unix socket.
async fn ask_agent(socket: &Path) -> Result<Vec<HostStatus>> {
    use http_body_util::BodyExt;
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| format!("connect to {}", socket.display()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
    tokio::spawn(connection);
    let request = hyper::Request::get("/berth/v1/hosts")
        .header(hyper::header::HOST, "berth")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .context("build request")?;
    let response = sender.send_request(request).await.context("send request")?;
    let status = response.status();
    let body = http_body_util::Limited::new(response.into_body(), 16 * 1024 * 1024)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("read answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        bail!("the agent answered {status}");
    }
    serde_json::from_slice(&body).context("read the host list")
}
