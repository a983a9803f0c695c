//! `berth serve`: checks, the data root lock, the listeners, and the run loop.

mod lock;
pub mod tls;
mod unix_socket;

use crate::api::{self, state::Transport};
use crate::auth::tickets::Grant;
use crate::cli::ServeArgs;
use crate::engine::{Engine, Reachable};
use crate::network::NetworkOptions;
use crate::network::subnet::Subnet;
use crate::token_cmd::first_admin;
use anyhow::{Context, Result, bail};
use shared::auth::Role;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long open streams (events, WebSockets) may delay a shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Held while an agent picks a subnet and makes its bridge, so agents never pick alike.
const NETWORK_LOCK: &str = "/run/berth/networks.lock";

pub fn run(args: ServeArgs) -> Result<()> {
    init_logging();
    if !rustix::process::geteuid().is_root() {
        bail!(
            "berth serve must run as root: it mounts filesystems, creates namespaces and cgroups (try: sudo berth serve)"
        );
    }
    if !args.listen.ip().is_loopback() && !args.insecure_listen && !wants_tls(&args) {
        bail!(
            "refusing to listen on {} without TLS: tokens would cross the network in clear text; \
             pass --tls (a self-signed certificate is made) or --tls-cert/--tls-key, listen on \
             loopback, or pass --insecure-listen if you understand the risk",
            args.listen
        );
    }
    if let Some(url) = &args.advertise_url {
        check_advertise_url(url)?;
    }
    let root = &args.root.root;
    std::fs::create_dir_all(root)
        .with_context(|| format!("create data root {}", root.display()))?;
    let _lock = lock::acquire(root)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let root = args.root.root.clone();
    let tcp = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listen on {}", args.listen))?;
    let listen = tcp.local_addr().context("read the listening address")?;
    let tls = if wants_tls(&args) {
        let given = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
        let hostname = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let names = tls::certificate_names(&hostname, listen);
        Some(tls::load_or_create(&root, given, &names)?)
    } else {
        None
    };
    let reachable = Reachable::new(
        listen,
        args.advertise_url.clone(),
        tls.as_ref().map(|t| t.fingerprint),
    );
    let bridge_subnet = args
        .bridge_subnet
        .as_deref()
        .map(|s| s.parse::<Subnet>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--bridge-subnet: {e}"))?;
    let network = NetworkOptions {
        bridge_name: args.bridge.clone(),
        bridge_subnet,
        netns_dir: args.netns_dir.clone(),
        lock_path: PathBuf::from(NETWORK_LOCK),
    };
    // Opening blocks (files, netlink for the default bridge): off the async workers' duty.
    let engine = Arc::new(
        tokio::task::block_in_place(|| {
            Engine::open(
                &root,
                reachable,
                args.insecure_registries.clone(),
                args.storage_driver.as_deref(),
                network,
            )
        })
        .context("open the engine")?,
    );
    if engine.tokens.ensure_first_admin()? {
        say(&format!(
            "admin token written to {} (mode 0600)",
            engine.tokens.admin_token_path().display()
        ));
    }
    engine.peers.start();
    let unix = unix_socket::bind(&args.socket)?;
    let login = engine.login_url(Grant {
        role: Role::Admin,
        token_id: first_admin(&engine.tokens)?,
    })?;

    say(&format!("listening on {}", engine.public_url()));
    if let Some(tls) = &tls {
        if tls.created {
            say(&format!(
                "self-signed TLS certificate written to {}",
                tls.cert_path.display()
            ));
        }
        say(&format!(
            "TLS certificate SHA-256 fingerprint: {}",
            tls.fingerprint
        ));
    }
    say(&format!("unix socket {}", args.socket.display()));
    say(&format!("dashboard login (one-time): {}", login.url));
    engine.events.publish(
        "daemon",
        "start",
        engine.engine_id(),
        BTreeMap::from([("name".to_string(), engine.host.name.clone())]),
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let tcp_service = api::service(engine.clone(), Transport::Tcp);
    let unix_service = api::service(engine.clone(), Transport::UnixSocket);
    let tcp_server = match &tls {
        Some(tls) => tokio::spawn(
            axum::serve(
                tls::TlsListener::new(tcp, tls.config.clone())?,
                axum::ServiceExt::into_make_service(tcp_service),
            )
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
        ),
        None => tokio::spawn(
            axum::serve(tcp, axum::ServiceExt::into_make_service(tcp_service))
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future(),
        ),
    };
    let unix_server = tokio::spawn(
        axum::serve(unix, axum::ServiceExt::into_make_service(unix_service))
            .with_graceful_shutdown(stopped(stop_rx))
            .into_future(),
    );

    let signal = shutdown_signal().await;
    tracing::info!("{signal}: shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        let _ = tcp_server.await;
        let _ = unix_server.await;
    })
    .await;
    let _ = std::fs::remove_file(&args.socket);
    Ok(())
}

fn wants_tls(args: &ServeArgs) -> bool {
    args.tls || args.tls_cert.is_some()
}

/// `--advertise-url` must be an http(s) URL with a host and nothing after it.
fn check_advertise_url(url: &str) -> Result<()> {
    let parsed =
        url::Url::parse(url).with_context(|| format!("--advertise-url {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        bail!("--advertise-url {url:?} must be http(s)://host[:port]");
    }
    if parsed.path() != "/" || parsed.query().is_some() || !parsed.username().is_empty() {
        bail!("--advertise-url {url:?} must be only scheme, host and port");
    }
    Ok(())
}

/// One line on stdout for the operator (and for scripts that start the agent).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "berth: {line}");
    let _ = out.flush();
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot watch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
