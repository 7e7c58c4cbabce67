//! One Flex statement import: stream the XML, normalise each row, and write every fill,
//! cancellation and statement period in one transaction (a malformed document writes
//! nothing). Zoneless times are read in each account's Flex time zone
//! (`accounts.flex_time_zone`, default [`DEFAULT_FLEX_ZONE`]).

use super::row::{normalize_row, RowOutcome};
use super::time::parse_flex_time;
use super::xml::{FlexItem, FlexReader, FlexXmlError, StatementInfo};
use crate::error::{Error, Result};
use crate::normalize::{resolve_zone, FlexCancellation, NormalizedExecution, SkippedExecution};
use crate::sync::trades::{apply_batch, CoveragePeriod, LedgerBatch};
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

/// The zone of an account whose Flex time zone nobody set.
pub const DEFAULT_FLEX_ZONE: Tz = Tz::America__New_York;

/// One statement in the document: whose and which period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StatementPeriod {
    pub account: String,
    pub from_date: Option<String>,
    pub to_date: Option<String>,
}

/// What one import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportMetrics {
    /// Execution and cancellation rows read from the trade sections.
    pub rows_read: usize,
    pub executions_read: usize,
    pub executions_inserted: usize,
    pub executions_updated: usize,
    pub executions_busted: usize,
    pub canonical_changes: usize,
    pub touched_trades: usize,
    pub cancellations_read: usize,
    pub cancellations_recorded: usize,
    /// Cancellations whose original fill is not in the ledger (yet), by key.
    pub unmatched_cancellations: Vec<String>,
    /// Summary rows skipped, by level of detail.
    pub summary_rows_skipped: BTreeMap<String, usize>,
    /// Other statement sections ignored, by name.
    pub sections_ignored: BTreeMap<String, usize>,
    pub skipped_count: usize,
    /// Each malformed row with its raw record and the reason.
    pub skipped: Vec<SkippedExecution>,
    pub statements: Vec<StatementPeriod>,
}

/// Everything read from one document, before it is written.
#[derive(Debug, Default)]
pub struct ParsedStatement {
    pub executions: Vec<NormalizedExecution>,
    pub cancellations: Vec<FlexCancellation>,
    pub coverage: Vec<CoveragePeriod>,
    pub metrics: ImportMetrics,
}

#[derive(FromQueryResult)]
struct AccountZone {
    code: String,
    flex_time_zone: Option<String>,
}

/// Each account's Flex time zone as set by an administrator.
pub async fn account_zones(db: &DatabaseConnection) -> Result<HashMap<String, Tz>> {
    let rows = AccountZone::find_by_statement(crate::db::statement(
        db.get_database_backend(),
        "SELECT code, flex_time_zone FROM accounts WHERE flex_time_zone IS NOT NULL",
        Vec::<sea_orm::Value>::new(),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.code, resolve_zone(r.flex_time_zone.as_deref()?).ok()?)))
        .collect())
}

/// Reads a whole document (blocking I/O: run it off the async workers).
pub fn parse_statement(
    input: impl BufRead,
    zones: &HashMap<String, Tz>,
    reference: Option<&str>,
) -> std::result::Result<ParsedStatement, FlexXmlError> {
    let mut reader = FlexReader::new(input);
    let mut out = ParsedStatement::default();
    let mut current = StatementInfo::default();
    let zone_of = |code: &str| zones.get(code).copied().unwrap_or(DEFAULT_FLEX_ZONE);
    while let Some(item) = reader.next_item()? {
        match item {
            FlexItem::Statement(info) => {
                let zone = zone_of(&info.account);
                if let (false, Some(from), Some(to)) =
                    (info.account.is_empty(), &info.from_date, &info.to_date)
                {
                    let day = |d: &str| parse_flex_time(Some(d), None, None, zone).ok();
                    if let (Some(start), Some(end)) = (day(from), day(to)) {
                        out.coverage.push(CoveragePeriod {
                            account_code: info.account.clone(),
                            source: "flex",
                            start: start.instant(),
                            end: end.instant() + Duration::days(1),
                            reference: reference.map(str::to_string),
                        });
                    }
                }
                out.metrics.statements.push(StatementPeriod {
                    account: info.account.clone(),
                    from_date: info.from_date.clone(),
                    to_date: info.to_date.clone(),
                });
                current = info;
            }
            FlexItem::Row(row) => {
                out.metrics.rows_read += 1;
                let account = row.get("accountId").unwrap_or(&current.account).to_string();
                match normalize_row(&row, &current.account, zone_of(&account)) {
                    RowOutcome::Execution(e) => {
                        out.metrics.executions_read += 1;
                        out.executions.push(*e);
                    }
                    RowOutcome::Cancellation(c) => {
                        out.metrics.cancellations_read += 1;
                        out.cancellations.push(*c);
                    }
                    RowOutcome::Skipped(s) => out.metrics.skipped.push(s),
                }
            }
        }
    }
    out.metrics.summary_rows_skipped = reader.counts.summary_rows_skipped;
    out.metrics.sections_ignored = reader.counts.sections_ignored;
    out.metrics.skipped_count = out.metrics.skipped.len();
    Ok(out)
}

/// A document the reader refused, as the API reports it (422 naming the statement).
pub fn refused(e: FlexXmlError) -> Error {
    Error::invalid("statement", e.to_string())
}

/// Imports one statement document: parses it, then writes it in one transaction.
pub async fn import_flex<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    input: R,
    reference: Option<String>,
) -> Result<ImportMetrics> {
    let zones = account_zones(db).await?;
    let parsed = tokio::task::spawn_blocking(move || {
        parse_statement(input, &zones, reference.as_deref())
    })
    .await
    .map_err(|e| Error::Internal(format!("statement reader stopped: {e}")))?
    .map_err(refused)?;
    write_statement(db, parsed).await
}

/// Writes a parsed statement in one transaction.
pub async fn write_statement(
    db: &DatabaseConnection,
    parsed: ParsedStatement,
) -> Result<ImportMetrics> {
    let mut metrics = parsed.metrics;
    for s in &metrics.skipped {
        tracing::warn!(reason = %s.reason, raw = %s.raw, "skipped a malformed statement row");
    }
    let outcome = apply_batch(
        db,
        LedgerBatch {
            accounts: metrics
                .statements
                .iter()
                .map(|s| s.account.clone())
                .filter(|a| !a.is_empty())
                .collect(),
            rows: parsed.executions,
            cancellations: parsed.cancellations,
            orders: &[],
            knows_orders: false,
            coverage: parsed.coverage,
        },
        Utc::now(),
    )
    .await?;
    metrics.executions_inserted = outcome.metrics.inserted_executions_count;
    metrics.executions_updated = outcome.metrics.updated_executions_count;
    metrics.canonical_changes = outcome.metrics.canonical_changes_count;
    metrics.touched_trades = outcome.metrics.touched_trades_count;
    metrics.executions_busted = outcome.busted_executions_count;
    metrics.cancellations_recorded = outcome.cancellations_recorded;
    metrics.unmatched_cancellations = outcome.unmatched_cancellations;
    Ok(metrics)
}
