//! Command line of the `berth` binary.

use clap::{Args, Parser, Subcommand};
use shared::auth::Role;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "Berth: a container engine with a web dashboard"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the node agent: the engine, its API and the dashboard (as root).
    Serve(ServeArgs),
    /// Manage API and dashboard tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage peers: other Berth agents this one shows and proxies to.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// The per-container supervisor the agent spawns (internal).
    #[command(hide = true)]
    Shim {
        /// The container directory, holding spec.json.
        #[arg(long)]
        bundle: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RootArg {
    /// Data root: images, layers, containers, tokens.
    #[arg(long, env = "BERTH_ROOT", default_value = "/var/lib/berth")]
    pub root: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub root: RootArg,
    /// Root-only unix socket (no token needed, like docker.sock).
    #[arg(long, env = "BERTH_SOCKET", default_value = "/run/berth/berth.sock")]
    pub socket: PathBuf,
    /// HTTP address of the API and dashboard; every request needs a token.
    #[arg(long, env = "BERTH_LISTEN", default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// Allow --listen on an address other than loopback without TLS. Tokens then
    /// cross the network in clear text.
    #[arg(long, env = "BERTH_INSECURE_LISTEN")]
    pub insecure_listen: bool,
    /// Serve HTTPS on --listen. Without --tls-cert/--tls-key, a self-signed certificate is
    /// made on first start and kept in <root>/auth/tls/; its SHA-256 fingerprint is printed
    /// at every start, for peers to pin.
    #[arg(long, env = "BERTH_TLS")]
    pub tls: bool,
    /// PEM certificate (chain) to serve instead of the self-signed one (implies --tls).
    #[arg(long, env = "BERTH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "BERTH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The URL peers reach this agent at (image copies hand it to them), when it is not
    /// the --listen address (e.g. listening on 0.0.0.0, or behind a forwarded port).
    #[arg(long, env = "BERTH_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// A registry (`host[:port]`) to reach over plain HTTP. Loopback registries always
    /// are, as with Docker. Repeat the flag, or give a comma-separated list.
    #[arg(
        long = "insecure-registry",
        env = "BERTH_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// How container root filesystems are made: `overlay2` (default where the data
    /// root allows it) or `vfs` (copies; for a data root that is itself on overlayfs).
    #[arg(long, env = "BERTH_STORAGE_DRIVER")]
    pub storage_driver: Option<String>,
    /// Interface name of the default bridge network.
    #[arg(long, env = "BERTH_BRIDGE", default_value = "berth0")]
    pub bridge: String,
    /// Subnet of the default bridge (CIDR). Without it, a free one is picked at first
    /// start (none of the host's routes or addresses overlap it) and kept.
    #[arg(long, env = "BERTH_BRIDGE_SUBNET")]
    pub bridge_subnet: Option<String>,
    /// Where containers' network namespaces are bind-mounted (tests point it into
    /// their temp dir).
    #[arg(
        long,
        env = "BERTH_NETNS_DIR",
        default_value = "/run/berth/netns",
        hide = true
    )]
    pub netns_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only this once).
    Create {
        #[command(flatten)]
        root: RootArg,
        /// viewer (read-only), operator (acts on containers and images) or admin.
        #[arg(long)]
        role: Role,
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        root: RootArg,
    },
    /// Revoke a token by id; its dashboard sessions end too.
    Revoke {
        #[command(flatten)]
        root: RootArg,
        id: String,
    },
    /// Print a fresh one-time dashboard login link (admin).
    LoginUrl {
        #[command(flatten)]
        root: RootArg,
        /// The address the agent listens on.
        #[arg(long, env = "BERTH_LISTEN", default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
    },
}

#[derive(Subcommand, Debug)]
pub enum HostsCommand {
    /// Add a peer. Over https, the first attempt prints the certificate's fingerprint to
    /// confirm (asked on a terminal; otherwise pass it with --fingerprint).
    Add {
        #[command(flatten)]
        root: RootArg,
        /// The name to show it under (lowercase letters, digits, '-', '_', '.').
        name: String,
        /// `https://host:port` (or `http://127.0.0.1:port` on loopback).
        url: String,
        /// A token of the peer (`berth token create` there). Prefer --token-file or the
        /// environment: arguments show in `ps`.
        #[arg(long, env = "BERTH_PEER_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A file holding the peer's token.
        #[arg(long, conflicts_with = "token")]
        token_file: Option<PathBuf>,
        /// The SHA-256 fingerprint of the peer's certificate (`AB:CD:…`), as it printed
        /// at start.
        #[arg(long, conflicts_with = "ca")]
        fingerprint: Option<String>,
        /// A CA certificate (PEM file) to trust for the peer instead of pinning.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// List the hosts: this one and its peers, with their state when the agent runs.
    Ls {
        #[command(flatten)]
        root: RootArg,
        /// The running agent's unix socket, asked for the peers' state.
        #[arg(long, env = "BERTH_SOCKET", default_value = "/run/berth/berth.sock")]
        socket: PathBuf,
    },
    /// Remove a peer.
    Rm {
        #[command(flatten)]
        root: RootArg,
        name: String,
    },
}
