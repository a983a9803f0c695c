//! `berth`: the Berth node agent.
#![recursion_limit = "256"]

mod api;
mod auth;
mod cli;
mod container;
mod engine;
mod events;
mod image;
mod layer;
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
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(command) => token_cmd::run(command),
        Command::Shim { bundle } => std::process::exit(runtime::shim::run(&bundle)),
    }
}
