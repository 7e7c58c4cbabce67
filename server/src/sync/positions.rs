//! `positions.sync`: positions of every managed account from the gateway, upserted per
//! (account, contract). A position the gateway no longer reports is set to quantity 0
//! with its fetch time, never deleted. One transaction per run.

use crate::db::accounts::upsert_accounts;
use crate::error::Result;
use crate::ib::{Gateway, IbConnectOptions};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::collections::BTreeSet;

/// What one positions sync did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PositionsMetrics {
    pub accounts_count: usize,
    pub fetched_positions_count: usize,
    pub zeroed_positions_count: u64,
    pub fetched_at: DateTime<Utc>,
}

/// Reads positions from the gateway and stores them.
pub async fn sync_positions_once(
    db: &DatabaseConnection,
    ib: &IbConnectOptions,
) -> Result<PositionsMetrics> {
    let gateway = Gateway::connect_read_only(ib).await?;
    let managed = gateway.managed_accounts().await?;
    let rows = gateway.positions().await?;
    gateway.disconnect().await;

    let now = Utc::now();
    let codes: BTreeSet<String> = managed
        .iter()
        .cloned()
        .chain(rows.iter().map(|r| r.account.clone()))
        .filter(|c| !c.is_empty())
        .collect();
    let txn = crate::db::begin_write(db).await?;
    let ids = upsert_accounts(&txn, &codes, now).await?;
    let backend = txn.get_database_backend();
    for row in &rows {
        let Some(account_id) = ids.get(&row.account) else {
            continue;
        };
        txn.execute_raw(crate::db::statement(
            backend,
            "INSERT INTO positions (account_id, con_id, symbol, sec_type, exchange, currency, \
             quantity, avg_cost, fetched_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) \
             ON CONFLICT (account_id, con_id) DO UPDATE SET symbol = excluded.symbol, \
             sec_type = excluded.sec_type, exchange = excluded.exchange, \
             currency = excluded.currency, quantity = excluded.quantity, \
             avg_cost = excluded.avg_cost, fetched_at = excluded.fetched_at, \
             updated_at = excluded.updated_at",
            [
                (*account_id).into(),
                i64::from(row.contract.con_id).into(),
                row.contract.symbol.clone().into(),
                row.contract.sec_type.clone().into(),
                Some(row.contract.exchange.clone())
                    .filter(|e| !e.is_empty())
                    .into(),
                row.contract.currency.clone().into(),
                row.position.into(),
                Some(row.avg_cost).filter(|c| c.is_finite()).into(),
                now.into(),
            ],
        ))
        .await?;
    }
    // Whatever the gateway did not report for a managed account is flat now.
    let mut zeroed = 0;
    for code in &managed {
        if let Some(account_id) = ids.get(code) {
            zeroed += txn
                .execute_raw(crate::db::statement(
                    backend,
                    "UPDATE positions SET quantity = 0, fetched_at = $1, updated_at = $1 \
                     WHERE account_id = $2 AND fetched_at < $1",
                    [now.into(), (*account_id).into()],
                ))
                .await?
                .rows_affected();
        }
    }
    txn.commit().await?;
    Ok(PositionsMetrics {
        accounts_count: codes.len(),
        fetched_positions_count: rows.len(),
        zeroed_positions_count: zeroed,
        fetched_at: now,
    })
}
