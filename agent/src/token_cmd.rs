//! `berth token …`: works on the token files directly, with or without a running
//! agent (the agent notices the change).

use crate::auth::{TicketStore, TokenStore, tickets::Grant};
use crate::cli::TokenCommand;
use anyhow::{Context, Result};
use shared::auth::Role;

pub fn run(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create { root, role, name } => {
            let store = open(&root.root)?;
            let made = store.create(role, &name).context("create token")?;
            println!("{}", made.token);
            eprintln!(
                "created {} token {} ({}); the secret above is shown only once",
                made.info.role, made.info.id, made.info.name
            );
        }
        TokenCommand::List { root } => {
            let store = open(&root.root)?;
            println!("{:<14}{:<10}{:<22}NAME", "ID", "ROLE", "CREATED");
            for t in store.list().context("list tokens")? {
                let created = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(u64::try_from(t.created).unwrap_or(0));
                println!(
                    "{:<14}{:<10}{:<22}{}",
                    t.id,
                    t.role,
                    humantime::format_rfc3339_seconds(created).to_string(),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { root, id } => {
            let store = open(&root.root)?;
            let gone = store.revoke(&id).context("revoke token")?;
            println!("revoked {} ({})", gone.id, gone.name);
        }
        TokenCommand::LoginUrl { root, listen } => {
            let auth = root.root.join("auth");
            let tokens = open(&root.root)?;
            let tickets = TicketStore::open(&auth).context("open login tickets")?;
            let grant = Grant {
                role: Role::Admin,
                token_id: first_admin(&tokens)?,
            };
            let (ticket, _) = tickets.issue(grant).context("issue login link")?;
            println!("http://{listen}/login?ticket={ticket}");
        }
    }
    Ok(())
}

fn open(root: &std::path::Path) -> Result<TokenStore> {
    TokenStore::open(&root.join("auth"))
        .with_context(|| format!("open the tokens of data root {}", root.display()))
}

/// The token a login link's session stands on: the oldest admin token.
pub fn first_admin(tokens: &TokenStore) -> Result<Option<String>> {
    Ok(tokens
        .list()
        .context("list tokens")?
        .into_iter()
        .find(|t| t.role == Role::Admin)
        .map(|t| t.id))
}
