//! One Flex statement import: stream the XML, normalise each row, and write every fill,
//! cancellation and statement period in batches of one transaction (a malformed document
//! writes nothing). Zoneless times are read in each account's Flex time zone
//! (`accounts.flex_time_zone`, default [`DEFAULT_FLEX_ZONE`]).

use super::row::{normalize_row, RowOutcome};
use super::time::parse_flex_time;
use super::xml::{FlexItem, FlexReader, FlexXmlError, StatementInfo};
use crate::error::{Error, Result};
use crate::normalize::{resolve_zone, FlexCancellation, NormalizedExecution, SkippedExecution};
use crate::sync::trades::{settle, write_batch, CoveragePeriod, LedgerBatch, LedgerOutcome};
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// Rows a statement import writes per batch (all batches share the import's transaction).
pub const IMPORT_BATCH: usize = 5_000;

/// A batch of rows read from a document.
#[derive(Debug, Default)]
pub struct Chunk {
    pub executions: Vec<NormalizedExecution>,
    pub cancellations: Vec<FlexCancellation>,
}

/// What the reader learned of the whole document besides its rows.
#[derive(Debug, Default)]
pub struct ReadSummary {
    pub coverage: Vec<CoveragePeriod>,
    pub metrics: ImportMetrics,
}

/// Everything read from one document (the parse-only benchmark holds it all).
#[derive(Debug, Default)]
pub struct ParsedStatement {
    pub executions: Vec<NormalizedExecution>,
    pub cancellations: Vec<FlexCancellation>,
    pub summary: ReadSummary,
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

/// Reads a document, handing `sink` a chunk of at most `batch` rows at a time (blocking
/// I/O: run it off the async workers). `sink` answers `false` to stop early.
pub fn read_statement(
    input: impl BufRead,
    zones: &HashMap<String, Tz>,
    reference: Option<&str>,
    batch: usize,
    mut sink: impl FnMut(Chunk) -> bool,
) -> std::result::Result<ReadSummary, FlexXmlError> {
    let mut reader = FlexReader::new(input);
    let mut out = ReadSummary::default();
    let mut chunk = Chunk::default();
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
                        chunk.executions.push(*e);
                    }
                    RowOutcome::Cancellation(c) => {
                        out.metrics.cancellations_read += 1;
                        chunk.cancellations.push(*c);
                    }
                    RowOutcome::Skipped(s) => out.metrics.skipped.push(s),
                }
                if chunk.executions.len() + chunk.cancellations.len() >= batch
                    && !sink(std::mem::take(&mut chunk))
                {
                    return Ok(out);
                }
            }
        }
    }
    if !(chunk.executions.is_empty() && chunk.cancellations.is_empty()) {
        sink(chunk);
    }
    out.metrics.summary_rows_skipped = reader.counts.summary_rows_skipped;
    out.metrics.sections_ignored = reader.counts.sections_ignored;
    out.metrics.skipped_count = out.metrics.skipped.len();
    Ok(out)
}

/// Reads a whole document into memory.
pub fn parse_statement(
    input: impl BufRead,
    zones: &HashMap<String, Tz>,
    reference: Option<&str>,
) -> std::result::Result<ParsedStatement, FlexXmlError> {
    let mut executions = Vec::new();
    let mut cancellations = Vec::new();
    let summary = read_statement(input, zones, reference, IMPORT_BATCH, |c| {
        executions.extend(c.executions);
        cancellations.extend(c.cancellations);
        true
    })?;
    Ok(ParsedStatement {
        executions,
        cancellations,
        summary,
    })
}

/// A document the reader refused, as the API reports it (422 naming the statement).
pub fn refused(e: FlexXmlError) -> Error {
    Error::invalid("statement", e.to_string())
}

/// Imports one statement document in one transaction, streaming: the reader runs on a
/// blocking thread and hands over batches of [`IMPORT_BATCH`] rows, each written as it
/// arrives, so memory holds a batch or two, not the document. A malformed document (even
/// near its end) rolls everything back.
pub async fn import_flex<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    input: R,
    reference: Option<String>,
) -> Result<ImportMetrics> {
    import_flex_in_batches(db, input, reference, IMPORT_BATCH).await
}

/// [`import_flex`] with batches of `batch` rows (tests use tiny batches).
pub async fn import_flex_in_batches<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    input: R,
    reference: Option<String>,
    batch: usize,
) -> Result<ImportMetrics> {
    let zones = account_zones(db).await?;
    let source = reference.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(1);
    let reader = tokio::task::spawn_blocking(move || {
        read_statement(input, &zones, reference.as_deref(), batch.max(1), |chunk| {
            tx.blocking_send(chunk).is_ok()
        })
    });
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut run = LedgerOutcome::default();
    while let Some(chunk) = rx.recv().await {
        let batch = LedgerBatch {
            rows: chunk.executions,
            cancellations: chunk.cancellations,
            skip_statistics: run.skip_statistics(),
            source: source.clone(),
            ..LedgerBatch::default()
        };
        run.absorb(write_batch(&txn, batch, now).await?);
    }
    let summary = reader
        .await
        .map_err(|e| Error::Internal(format!("statement reader stopped: {e}")))?
        .map_err(refused)?;
    // The statements' accounts (also those without fills) and periods.
    let last = LedgerBatch {
        accounts: summary
            .metrics
            .statements
            .iter()
            .map(|s| s.account.clone())
            .filter(|a| !a.is_empty())
            .collect(),
        coverage: summary.coverage,
        ..LedgerBatch::default()
    };
    let accounts: Vec<String> = last.accounts.clone();
    run.absorb(write_batch(&txn, last, now).await?);
    // A statement knows no order states: a trade keeps its status unless Fillbook's own
    // orders decide it.
    settle(&txn, &mut run, &[], false, now).await?;
    txn.commit().await?;
    crate::sync::trades::announce_fills(db, accounts, &run.metrics).await;
    let metrics = ImportMetrics {
        executions_inserted: run.metrics.inserted_executions_count,
        executions_updated: run.metrics.updated_executions_count,
        canonical_changes: run.metrics.canonical_changes_count,
        executions_busted: run.busted_executions_count,
        cancellations_recorded: run.cancellations_recorded,
        ..ImportMetrics::default()
    };
    let applied: HashSet<String> = run.applied_cancellations.into_iter().collect();
    let read = summary.metrics;
    for s in &read.skipped {
        tracing::warn!(reason = %s.reason, raw = %s.raw, "skipped a malformed statement row");
    }
    Ok(ImportMetrics {
        touched_trades: run.touched_trade_ids.len(),
        unmatched_cancellations: run
            .unmatched_cancellations
            .into_iter()
            .filter(|k| !applied.contains(k))
            .collect(),
        ..read
    }
    .with_writes(&metrics))
}

impl ImportMetrics {
    /// These read counts with the write counts of `w`.
    fn with_writes(self, w: &ImportMetrics) -> ImportMetrics {
        ImportMetrics {
            executions_inserted: w.executions_inserted,
            executions_updated: w.executions_updated,
            executions_busted: w.executions_busted,
            canonical_changes: w.canonical_changes,
            cancellations_recorded: w.cancellations_recorded,
            ..self
        }
    }
}
