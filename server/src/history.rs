//! The history of every stored fill: each change a sync, a statement import, the live
//! stream or a rebuild makes to a stored execution is one `execution_events` row, written in
//! the same transaction as the change and never updated or deleted.
//!
//! A fill's first recording is not an event: its row's `created_at` says when it arrived,
//! and the history starts there. Event kinds and their `before`/`after` fields are listed
//! on [`app::models::FillEventDto`].

use crate::error::{Error, Result};
use app::models::{FillEventDto, RecordedFillDto, TradeHistoryDto};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value as SqlValue};
use serde_json::Value;

/// Events per multi-row insert (8 values each).
const CHUNK: usize = 500;

/// One change to one stored fill, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct FillEvent {
    pub execution_id: i32,
    /// The trade the fill belongs to after the change (for `moved`: the trade it left).
    pub trade_id: i32,
    pub account_id: i32,
    pub kind: &'static str,
    pub before: Value,
    pub after: Value,
}

/// Appends `events`, all made by `source` at `now`.
pub async fn record(
    db: &impl ConnectionTrait,
    events: &[FillEvent],
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let backend = db.get_database_backend();
    for chunk in events.chunks(CHUNK) {
        let mut values: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 8);
        let mut tuples = Vec::with_capacity(chunk.len());
        for e in chunk {
            let n = values.len();
            tuples.push(format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8
            ));
            values.extend([
                e.execution_id.into(),
                e.trade_id.into(),
                e.account_id.into(),
                e.kind.into(),
                e.before.clone().into(),
                e.after.clone().into(),
                source.map(str::to_string).into(),
                now.into(),
            ]);
        }
        db.execute_raw(crate::db::statement(
            backend,
            format!(
                "INSERT INTO execution_events (execution_id, trade_id, account_id, kind, \
                 before_values, after_values, source, created_at) VALUES {}",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct EventRow {
    id: i32,
    execution_id: i32,
    ib_exec_id: String,
    kind: String,
    before_values: Value,
    after_values: Value,
    source: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct RecordedRow {
    id: i32,
    ib_exec_id: String,
    created_at: DateTime<Utc>,
}

/// The history of trade `trade_id`: when each of its executions was first recorded, and
/// every event of those executions (and of fills a rebuild moved out of it), oldest first.
pub async fn trade_history(db: &impl ConnectionTrait, trade_id: i32) -> Result<TradeHistoryDto> {
    let backend = db.get_database_backend();
    let exists = db
        .query_one_raw(crate::db::statement(
            backend,
            "SELECT id FROM trades WHERE id = $1",
            [trade_id.into()],
        ))
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound(format!("trade {trade_id}")));
    }
    let recorded = RecordedRow::find_by_statement(crate::db::statement(
        backend,
        "SELECT id, ib_exec_id, created_at FROM trade_executions WHERE trade_id = $1 \
         ORDER BY created_at, id",
        [trade_id.into()],
    ))
    .all(db)
    .await?;
    let events = EventRow::find_by_statement(crate::db::statement(
        backend,
        "SELECT v.id, v.execution_id, e.ib_exec_id, v.kind, v.before_values, v.after_values, \
         v.source, v.created_at FROM execution_events v \
         JOIN trade_executions e ON e.id = v.execution_id \
         WHERE v.trade_id = $1 OR e.trade_id = $1 ORDER BY v.id",
        [trade_id.into()],
    ))
    .all(db)
    .await?;
    Ok(TradeHistoryDto {
        trade_id,
        recorded: recorded
            .into_iter()
            .map(|r| RecordedFillDto {
                execution_id: r.id,
                ib_exec_id: r.ib_exec_id,
                recorded_at: r.created_at,
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| FillEventDto {
                id: e.id,
                execution_id: e.execution_id,
                ib_exec_id: e.ib_exec_id,
                kind: e.kind,
                before: e.before_values,
                after: e.after_values,
                source: e.source,
                at: e.created_at,
            })
            .collect(),
    })
}
