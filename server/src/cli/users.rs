//! `fillbook users …` and `fillbook tokens …`: operators and API tokens from the command
//! line, audited as the local user (`cli`).

use crate::audited;
use crate::auth::{operators, secret, tokens, Caller, Scope};
use crate::config::{TokensCommand, UsersCommand};
use crate::error::{Error, Result};
use sea_orm::DatabaseConnection;
use std::io::BufRead;

/// A password from the first line of stdin, or a generated one (printed by the caller).
fn new_password(from_stdin: bool) -> Result<(String, bool)> {
    if !from_stdin {
        // 24 hex digits: 96 random bits.
        return Ok((secret::generate("")[..24].to_string(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::Config(format!("cannot read the password from stdin: {e}")))?;
    Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
}

/// Prints a generated password, alone on the last line (the only time it is shown).
fn show_generated(password: &str, generated: bool) {
    if generated {
        println!("password (shown once):");
        println!("{password}");
    }
}

fn print(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Runs a `users` subcommand.
pub async fn users(db: &DatabaseConnection, cmd: UsersCommand) -> Result<()> {
    let caller = Caller::local();
    match cmd {
        UsersCommand::Add {
            username,
            admin,
            password_stdin,
        } => {
            let (password, generated) = new_password(password_stdin)?;
            let added = audited::add_operator(db, &caller, &username, &password, admin).await?;
            print(&operators::OperatorInfo::from(added))?;
            show_generated(&password, generated);
            Ok(())
        }
        UsersCommand::List => print(&operators::list(db).await?),
        UsersCommand::Disable { username } => set_disabled(db, &caller, &username, true).await,
        UsersCommand::Enable { username } => set_disabled(db, &caller, &username, false).await,
        UsersCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let (password, generated) = new_password(password_stdin)?;
            let info = audited::reset_password(db, &caller, &username, &password).await?;
            print(&info)?;
            show_generated(&password, generated);
            Ok(())
        }
    }
}

async fn set_disabled(
    db: &DatabaseConnection,
    caller: &Caller,
    username: &str,
    disabled: bool,
) -> Result<()> {
    let (info, offboarded) = audited::set_operator_disabled(db, caller, username, disabled).await?;
    if disabled {
        let revoked = offboarded.tokens_revoked;
        eprintln!(
            "ended the sessions of {username} and revoked the {revoked} API token(s) they made"
        );
    }
    print(&info)
}

/// Runs a `tokens` subcommand.
pub async fn tokens(db: &DatabaseConnection, cmd: TokensCommand) -> Result<()> {
    let caller = Caller::local();
    match cmd {
        TokensCommand::Create { name, scopes } => {
            let scopes = Scope::parse_list(&scopes)?;
            let (info, token) = audited::create_token(db, &caller, &name, &scopes).await?;
            print(&info)?;
            println!("{token}");
            Ok(())
        }
        TokensCommand::List => print(&tokens::list(db, None).await?),
        TokensCommand::Revoke { id } => {
            let info = audited::revoke_token(db, &caller, id).await?;
            print(&info)
        }
    }
}
