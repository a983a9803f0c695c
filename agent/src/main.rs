//! `berth`: the Berth node agent.
#![recursion_limit = "256"]

mod api;
mod auth;
mod build;
mod cli;
mod container;
mod engine;
mod events;
mod hosts_cmd;
mod image;
mod layer;
mod network;
mod peers;
mod registry;
mod runtime;
mod serve;
mod store;
mod system;
mod token_cmd;
mod util;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    // The supervisor's own path skips the CLI parser: every page of code a supervisor
    // touches counts against its memory, once per container.
    let mut args = std::env::args_os();
    if let (Some(_), Some(shim), Some(flag), Some(bundle), None) = (
        args.next(),
        args.next(),
        args.next(),
        args.next(),
        args.next(),
    ) && shim == "shim"
        && flag == "--bundle"
    {
        std::process::exit(runtime::shim::run(std::path::Path::new(&bundle)));
    }
    // `berth shim-server <containers dir> [padding]`, the agent's supervisor fork server.
    let mut args = std::env::args_os().skip(1);
    if let (Some(sub), Some(containers)) = (args.next(), args.next())
        && sub == runtime::shim::server::SUBCOMMAND
    {
        std::process::exit(runtime::shim::server::serve(std::path::Path::new(
            &containers,
        )));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(command) => token_cmd::run(command),
        Command::Hosts(command) => hosts_cmd::run(command),
        Command::Shim { bundle } => std::process::exit(runtime::shim::run(&bundle)),
    }
}
