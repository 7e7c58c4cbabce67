//! Reading one Flex statement: stream the XML and normalise each row into ledger records,
//! handed over in batches (the ledger write is `crate::sync::statement`). Zoneless times are
//! read in each account's Flex time zone (`accounts.flex_time_zone`, default
//! [`DEFAULT_FLEX_ZONE`]).

use super::row::{normalize_row, RowOutcome};
use super::time::parse_flex_time;
use super::xml::{FlexItem, FlexReader, FlexXmlError, StatementInfo};
use crate::error::{Error, Result};
use crate::normalize::{
    resolve_zone, CoveragePeriod, FlexCancellation, NormalizedExecution, SkippedExecution,
};
use chrono::Duration;
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
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

/// Each account's Flex time zone as set by an administrator.
pub async fn account_zones(db: &DatabaseConnection) -> Result<HashMap<String, Tz>> {
    use crate::db::entities::accounts;
    let rows = accounts::Entity::find()
        .filter(accounts::Column::FlexTimeZone.is_not_null())
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
