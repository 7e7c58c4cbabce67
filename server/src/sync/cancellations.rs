//! Statement cancellations: each is recorded once, and busts the fill it names once that
//! fill is in the ledger (a cancellation may arrive before or after its original).

use super::trades::placeholders;
use crate::error::Result;
use crate::normalize::FlexCancellation;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value as SqlValue};
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
        recorded += txn
            .execute_raw(crate::db::statement(
                txn.get_database_backend(),
                "INSERT INTO flex_cancellations (account_id, cancel_key, orig_trade_id, \
                 orig_transaction_id, orig_order_id, symbol, quantity, price, executed_at, raw, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                 ON CONFLICT (account_id, cancel_key) DO NOTHING",
                [
                    account_ids[&c.account_code].into(),
                    c.cancel_key.clone().into(),
                    c.orig_trade_id.clone().into(),
                    c.orig_transaction_id.clone().into(),
                    c.orig_order_id.clone().into(),
                    c.symbol.clone().into(),
                    c.quantity.into(),
                    c.price.into(),
                    c.executed_at.into(),
                    c.raw.clone().into(),
                    now.into(),
                ],
            ))
            .await?
            .rows_affected() as usize;
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
struct OpenCancellation {
    id: i32,
    account_id: i32,
    cancel_key: String,
    orig_trade_id: Option<String>,
    orig_transaction_id: Option<String>,
    quantity: Option<f64>,
    price: Option<f64>,
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
    let backend = txn.get_database_backend();
    let mut out = Vec::new();
    if account_ids.is_empty() {
        return Ok(out);
    }
    let open = OpenCancellation::find_by_statement(crate::db::statement(
        backend,
        format!(
            "SELECT id, account_id, cancel_key, orig_trade_id, orig_transaction_id, quantity, \
             price FROM flex_cancellations WHERE execution_id IS NULL AND account_id IN ({}) \
             ORDER BY id",
            placeholders(1, account_ids.len())
        ),
        account_ids
            .iter()
            .map(|i| SqlValue::from(*i))
            .collect::<Vec<_>>(),
    ))
    .all(txn)
    .await?;
    for c in open {
        let (column, value) = match (&c.orig_transaction_id, &c.orig_trade_id) {
            (Some(t), _) => ("flex_transaction_id", t),
            (None, Some(t)) => ("flex_trade_id", t),
            (None, None) => {
                out.push(Bust::Unmatched(c.cancel_key));
                continue;
            }
        };
        let mut candidates = Candidate::find_by_statement(crate::db::statement(
            backend,
            format!(
                "SELECT id, trade_id, exec_id_base, quantity, price, busted_by \
                 FROM trade_executions WHERE account_id = $1 AND {column} = $2 \
                 ORDER BY exec_revision, id"
            ),
            [c.account_id.into(), value.clone().into()],
        ))
        .all(txn)
        .await?;
        candidates.retain(|e| e.busted_by.is_none());
        if column == "flex_trade_id" {
            let same = |a: Option<f64>, b: f64| a.is_none_or(|a| (a - b).abs() < 1e-9);
            candidates.retain(|e| same(c.quantity, e.quantity) && same(c.price, e.price));
        }
        let Some(target) = candidates.into_iter().next() else {
            out.push(Bust::Unmatched(c.cancel_key));
            continue;
        };
        for (sql, values) in [
            (
                "UPDATE trade_executions SET busted_by = $1, updated_at = $2 WHERE id = $3",
                [c.cancel_key.clone().into(), now.into(), target.id.into()],
            ),
            (
                "UPDATE flex_cancellations SET execution_id = $1, updated_at = $2 WHERE id = $3",
                [target.id.into(), now.into(), c.id.into()],
            ),
        ] {
            txn.execute_raw(crate::db::statement(backend, sql, values))
                .await?;
        }
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
