//! The history of every stored fill: each change a sync, a statement import, the live
//! stream or a rebuild makes to a stored execution is one `execution_events` row, written in
//! the same transaction as the change and never updated or deleted.
//!
//! A fill's first recording is not an event: its row's `created_at` says when it arrived,
//! and the history starts there. Event kinds and their `before`/`after` fields are listed
//! on [`app::models::FillEventDto`].

use crate::db::entities::{execution_events as events, trade_executions as te, trades};
use crate::error::{Error, Result};
use app::models::{FillEventDto, RecordedFillDto, TradeHistoryDto};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
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
    for chunk in events.chunks(CHUNK) {
        let rows = chunk.iter().map(|e| events::ActiveModel {
            execution_id: Set(e.execution_id),
            trade_id: Set(e.trade_id),
            account_id: Set(e.account_id),
            kind: Set(e.kind.to_string()),
            before_values: Set(e.before.clone()),
            after_values: Set(e.after.clone()),
            source: Set(source.map(str::to_string)),
            created_at: Set(now),
            ..Default::default()
        });
        events::Entity::insert_many(rows)
            .exec_without_returning(db)
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
    if trades::Entity::find_by_id(trade_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(Error::NotFound(format!("trade {trade_id}")));
    }
    let recorded = te::Entity::find()
        .select_only()
        .columns([te::Column::Id, te::Column::IbExecId, te::Column::CreatedAt])
        .filter(te::Column::TradeId.eq(trade_id))
        .order_by_asc(te::Column::CreatedAt)
        .order_by_asc(te::Column::Id)
        .into_model::<RecordedRow>()
        .all(db)
        .await?;
    // Events of the trade's fills, and of fills a rebuild moved out of it.
    let events = events::Entity::find()
        .select_only()
        .columns([
            events::Column::Id,
            events::Column::ExecutionId,
            events::Column::Kind,
            events::Column::BeforeValues,
            events::Column::AfterValues,
            events::Column::Source,
            events::Column::CreatedAt,
        ])
        .column(te::Column::IbExecId)
        .inner_join(te::Entity)
        .filter(
            Condition::any()
                .add(events::Column::TradeId.eq(trade_id))
                .add(te::Column::TradeId.eq(trade_id)),
        )
        .order_by_asc(events::Column::Id)
        .into_model::<EventRow>()
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
