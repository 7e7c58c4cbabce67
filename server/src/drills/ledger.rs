//! What a drill compares: the whole ledger reduced to counts and a digest, so a run after a
//! failure can be checked against a clean run of the same input.

use crate::error::Result;
use sea_orm::{DatabaseConnection, FromQueryResult};
use sha2::{Digest as _, Sha256};

/// The ledger in brief.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub executions: i64,
    pub distinct_exec_ids: i64,
    pub trades: i64,
    /// SHA-256 over every execution (id, quantity, price, commission, canonical flag) with
    /// its trade's key, aggregates and status, in exec-id order.
    pub digest: String,
}

#[derive(FromQueryResult)]
struct Row {
    ib_exec_id: String,
    quantity: f64,
    price: f64,
    commission: Option<f64>,
    is_canonical: bool,
    match_key: String,
    total_quantity: f64,
    status: String,
}

/// Reads the ledger of `db`.
pub async fn read(db: &DatabaseConnection) -> Result<Ledger> {
    let rows = Row::find_by_statement(crate::db::statement(
        db.get_database_backend(),
        "SELECT e.ib_exec_id, e.quantity, e.price, e.commission, e.is_canonical, t.match_key, \
         t.total_quantity, t.status FROM trade_executions e JOIN trades t ON t.id = e.trade_id \
         ORDER BY e.ib_exec_id",
        Vec::<sea_orm::Value>::new(),
    ))
    .all(db)
    .await?;
    let mut hash = Sha256::new();
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        ids.insert(r.ib_exec_id.as_str());
        hash.update(format!(
            "{}|{}|{}|{:?}|{}|{}|{}|{}\n",
            r.ib_exec_id,
            r.quantity,
            r.price,
            r.commission,
            r.is_canonical,
            r.match_key,
            r.total_quantity,
            r.status
        ));
    }
    let trades = super::procs::count(db, "SELECT COUNT(*) AS n FROM trades").await?;
    Ok(Ledger {
        executions: rows.len() as i64,
        distinct_exec_ids: ids.len() as i64,
        trades,
        digest: format!("{:x}", hash.finalize()),
    })
}

/// Rows lost and rows duplicated of `got` against the clean run `want`.
pub fn compare(want: &Ledger, got: &Ledger) -> (i64, i64) {
    let lost = (want.executions - got.distinct_exec_ids).max(0);
    let duplicated = (got.executions - got.distinct_exec_ids).max(0)
        + (got.distinct_exec_ids - want.executions).max(0);
    (lost, duplicated)
}
