//! The command line of statements and accounts: `fillbook import flex FILE…` and
//! `fillbook accounts …` (the Flex time zone and the order limits an administrator sets per
//! account), audited as the local user.

use super::cli_actor;
use crate::auth::audit;
use crate::config::AccountsCommand;
use crate::db::entities::{accounts, imports};
use crate::error::{Error, Result};
use crate::flex::statement::{ImportMetrics, DEFAULT_FLEX_ZONE};
use crate::sync::statement::import_flex;
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::path::PathBuf;

/// Imports each file in its own transaction, prints its metrics, and records it in the
/// import history. Stops at the first file that cannot be imported (earlier ones stay).
pub async fn import_files(db: &DatabaseConnection, files: &[PathBuf], json: bool) -> Result<()> {
    crate::db::migrate(db).await?;
    for path in files {
        let name = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::invalid("file", format!("cannot open {name}: {e}")))?;
        let input = std::io::BufReader::with_capacity(256 * 1024, file);
        let result = import_flex(db, input, Some(format!("file:{name}"))).await;
        record_import(db, "cli", &name, &result).await?;
        let metrics = result.map_err(|e| match e {
            Error::Invalid { message, .. } => Error::invalid("file", format!("{name}: {message}")),
            other => other,
        })?;
        if json {
            let text = serde_json::to_string_pretty(&metrics)
                .map_err(|e| Error::Internal(format!("cannot print metrics: {e}")))?;
            println!("{text}");
        } else {
            println!("{}", summary(&name, &metrics));
        }
    }
    Ok(())
}

/// One line per import, then one line per skipped record or unmatched cancellation.
pub fn summary(name: &str, m: &ImportMetrics) -> String {
    let mut out = format!(
        "{name}: {} rows read, {} executions ({} new, {} updated, {} busted), {} cancellations \
         ({} unmatched), {} summary rows skipped, {} records skipped, {} canonical changes, \
         {} trades touched",
        m.rows_read,
        m.executions_read,
        m.executions_inserted,
        m.executions_updated,
        m.executions_busted,
        m.cancellations_read,
        m.unmatched_cancellations.len(),
        m.summary_rows_skipped.values().sum::<usize>(),
        m.skipped_count,
        m.canonical_changes,
        m.touched_trades
    );
    for s in &m.statements {
        out.push_str(&format!(
            "\n  statement {} {} → {}",
            s.account,
            s.from_date.as_deref().unwrap_or("?"),
            s.to_date.as_deref().unwrap_or("?")
        ));
    }
    for s in &m.skipped {
        out.push_str(&format!("\n  skipped: {} {}", s.reason, s.raw));
    }
    for key in &m.unmatched_cancellations {
        out.push_str(&format!(
            "\n  cancellation {key}: the fill it cancels is not in the ledger yet"
        ));
    }
    out
}

/// Appends a finished import to the history (`imports`).
pub async fn record_import(
    db: &impl ConnectionTrait,
    created_by: &str,
    file_name: &str,
    result: &Result<ImportMetrics>,
) -> Result<()> {
    let (status, metrics, error) = match result {
        Ok(m) => ("completed", serde_json::to_value(m).ok(), None::<String>),
        Err(e) => ("failed", None, Some(e.to_string())),
    };
    let now = Utc::now();
    imports::Entity::insert(imports::ActiveModel {
        source: Set("flex".into()),
        file_name: Set(Some(file_name.into())),
        status: Set(status.into()),
        metrics: Set(metrics),
        error: Set(error),
        created_by: Set(Some(created_by.into())),
        created_at: Set(now),
        finished_at: Set(Some(now)),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// `fillbook accounts list|set-flex-zone`.
pub async fn accounts(db: &DatabaseConnection, cmd: AccountsCommand) -> Result<()> {
    crate::db::migrate(db).await?;
    match cmd {
        AccountsCommand::List => {
            let rows = accounts::Entity::find()
                .order_by_asc(accounts::Column::Code)
                .all(db)
                .await?;
            for r in rows {
                let zone = r
                    .flex_time_zone
                    .unwrap_or_else(|| format!("{} (default)", DEFAULT_FLEX_ZONE.name()));
                println!("{}\tflex time zone: {zone}", r.code);
            }
            Ok(())
        }
        AccountsCommand::SetLimits {
            account,
            max_quantity,
            max_notional,
            symbols,
            sec_types,
            fractional,
        } => {
            let limits = crate::orders::limits::Limits {
                max_quantity: Some(max_quantity),
                max_notional,
                allowed_symbols: symbols,
                allowed_sec_types: sec_types,
                allow_fractional: fractional,
            };
            let id = account_id(db, &account).await?;
            crate::orders::limits::set(db, id, &limits).await?;
            audit::record(
                db,
                &cli_actor(),
                "account.limits_set",
                Some(account.clone()),
                serde_json::to_value(&limits).ok(),
            )
            .await?;
            println!(
                "{account}: order limits {}",
                serde_json::to_string(&limits).unwrap_or_default()
            );
            Ok(())
        }
        AccountsCommand::SetFlexZone { account, zone } => {
            let id = account_id(db, &account).await?;
            let zone = Some(zone).filter(|z| !z.eq_ignore_ascii_case("default"));
            let stored =
                crate::audited::set_flex_time_zone(db, &crate::auth::Caller::local(), id, zone)
                    .await?;
            println!(
                "{account}: Flex times without a zone are read in {}",
                stored.as_deref().unwrap_or(DEFAULT_FLEX_ZONE.name())
            );
            Ok(())
        }
    }
}

/// The id of an account code (422 naming `account` when unknown).
async fn account_id(db: &impl ConnectionTrait, code: &str) -> Result<i32> {
    accounts::Entity::find()
        .filter(accounts::Column::Code.eq(code))
        .one(db)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| {
            Error::invalid(
                "account",
                format!("no account `{code}`: sync or import it first"),
            )
        })
}
