//! `positions.sync`: positions of every managed account from the gateway, upserted per
//! (account, contract). A position the gateway no longer reports is set to quantity 0
//! with its fetch time, never deleted. One transaction per run.

use crate::db::accounts::upsert_accounts;
use crate::db::entities::positions;
use crate::error::Result;
use crate::ib::{Gateway, IbConnectOptions};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
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
    use positions::Column as C;
    for row in &rows {
        let Some(account_id) = ids.get(&row.account) else {
            continue;
        };
        positions::Entity::insert(positions::ActiveModel {
            account_id: Set(*account_id),
            con_id: Set(i64::from(row.contract.con_id)),
            symbol: Set(row.contract.symbol.clone()),
            sec_type: Set(row.contract.sec_type.to_string()),
            exchange: Set(Some(row.contract.exchange.to_string()).filter(|e| !e.is_empty())),
            currency: Set(row.contract.currency.to_string()),
            quantity: Set(row.position),
            avg_cost: Set(Some(row.avg_cost).filter(|c| c.is_finite())),
            fetched_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([C::AccountId, C::ConId])
                .update_columns([
                    C::Symbol,
                    C::SecType,
                    C::Exchange,
                    C::Currency,
                    C::Quantity,
                    C::AvgCost,
                    C::FetchedAt,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    // Whatever the gateway did not report for a managed account is flat now.
    let mut zeroed = 0;
    for code in &managed {
        if let Some(account_id) = ids.get(code) {
            zeroed += positions::Entity::update_many()
                .col_expr(C::Quantity, Expr::value(0.0))
                .col_expr(C::FetchedAt, Expr::value(now))
                .col_expr(C::UpdatedAt, Expr::value(now))
                .filter(C::AccountId.eq(*account_id))
                .filter(C::FetchedAt.lt(now))
                .exec(&txn)
                .await?
                .rows_affected;
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
