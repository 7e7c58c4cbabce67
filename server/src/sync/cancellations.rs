//! Statement cancellations: each is recorded once, and busts the fill it names once that
//! fill is in the ledger (a cancellation may arrive before or after its original).

use crate::db::entities::flex_cancellations::{self, Column as fc};
use crate::db::entities::trade_executions as te;
use crate::error::Result;
use crate::normalize::FlexCancellation;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::HashMap;

/// Records statement cancellations (a cancellation seen again is not recorded twice);
/// returns how many are new.
pub(super) async fn record_cancellations(
    txn: &impl ConnectionTrait,
    cancellations: &[FlexCancellation],
    account_ids: &HashMap<String, i32>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut recorded = 0;
    for c in cancellations {
        let row = flex_cancellations::ActiveModel {
            account_id: Set(account_ids[&c.account_code]),
            cancel_key: Set(c.cancel_key.clone()),
            orig_trade_id: Set(c.orig_trade_id.clone()),
            orig_transaction_id: Set(c.orig_transaction_id.clone()),
            orig_order_id: Set(c.orig_order_id.clone()),
            symbol: Set(c.symbol.clone()),
            quantity: Set(c.quantity),
            price: Set(c.price),
            executed_at: Set(c.executed_at),
            raw: Set(c.raw.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        recorded += flex_cancellations::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([fc::AccountId, fc::CancelKey])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await? as usize;
    }
    Ok(recorded)
}

/// What became of one open cancellation.
pub(super) enum Bust {
    Done {
        account_id: i32,
        trade_id: i32,
        execution_id: i32,
        exec_id_base: String,
        cancel_key: String,
    },
    Unmatched(String),
}

#[derive(FromQueryResult)]
struct Candidate {
    id: i32,
    trade_id: i32,
    exec_id_base: String,
    quantity: f64,
    price: f64,
    busted_by: Option<String>,
}

/// Busts the fill named by every open cancellation of these accounts. The link is the
/// original's transaction id; only a cancellation without one is matched by trade id, and
/// then only to a fill of the same size and price that is not busted yet (a rebooking keeps
/// the original's trade id, so the earliest revision is the one cancelled).
pub(super) async fn bust_cancelled(
    txn: &impl ConnectionTrait,
    account_ids: &[i32],
    now: DateTime<Utc>,
) -> Result<Vec<Bust>> {
    let mut out = Vec::new();
    if account_ids.is_empty() {
        return Ok(out);
    }
    let open = flex_cancellations::Entity::find()
        .filter(fc::ExecutionId.is_null())
        .filter(fc::AccountId.is_in(account_ids.iter().copied()))
        .order_by_asc(fc::Id)
        .all(txn)
        .await?;
    for c in open {
        let (column, value) = match (&c.orig_transaction_id, &c.orig_trade_id) {
            (Some(t), _) => (te::Column::FlexTransactionId, t),
            (None, Some(t)) => (te::Column::FlexTradeId, t),
            (None, None) => {
                out.push(Bust::Unmatched(c.cancel_key));
                continue;
            }
        };
        let mut candidates = te::Entity::find()
            .select_only()
            .columns([
                te::Column::Id,
                te::Column::TradeId,
                te::Column::ExecIdBase,
                te::Column::Quantity,
                te::Column::Price,
                te::Column::BustedBy,
            ])
            .filter(te::Column::AccountId.eq(c.account_id))
            .filter(column.eq(value.as_str()))
            .order_by_asc(te::Column::ExecRevision)
            .order_by_asc(te::Column::Id)
            .into_model::<Candidate>()
            .all(txn)
            .await?;
        candidates.retain(|e| e.busted_by.is_none());
        if matches!(column, te::Column::FlexTradeId) {
            let same = |a: Option<f64>, b: f64| a.is_none_or(|a| (a - b).abs() < 1e-9);
            candidates.retain(|e| same(c.quantity, e.quantity) && same(c.price, e.price));
        }
        let Some(target) = candidates.into_iter().next() else {
            out.push(Bust::Unmatched(c.cancel_key));
            continue;
        };
        te::Entity::update_many()
            .col_expr(te::Column::BustedBy, Expr::value(c.cancel_key.clone()))
            .col_expr(te::Column::UpdatedAt, Expr::value(now))
            .filter(te::Column::Id.eq(target.id))
            .exec(txn)
            .await?;
        flex_cancellations::Entity::update_many()
            .col_expr(fc::ExecutionId, Expr::value(target.id))
            .col_expr(fc::UpdatedAt, Expr::value(now))
            .filter(fc::Id.eq(c.id))
            .exec(txn)
            .await?;
        out.push(Bust::Done {
            account_id: c.account_id,
            trade_id: target.trade_id,
            execution_id: target.id,
            exec_id_base: target.exec_id_base,
            cancel_key: c.cancel_key,
        });
    }
    Ok(out)
}
