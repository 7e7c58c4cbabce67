//! The accounts table as the ledger writers see it: new account codes inserted, every code's id
//! returned.

use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use std::collections::{BTreeSet, HashMap};

#[derive(FromQueryResult)]
struct AccountRow {
    id: i32,
    code: String,
}

/// Inserts the account codes that are new (leaving known ones untouched) and returns the
/// id of every code.
pub async fn upsert_accounts(
    db: &impl ConnectionTrait,
    codes: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, i32>> {
    let backend = db.get_database_backend();
    let mut ids = HashMap::new();
    for code in codes {
        db.execute_raw(crate::db::statement(
            backend,
            "INSERT INTO accounts (code, created_at, updated_at) VALUES ($1, $2, $2) \
             ON CONFLICT (code) DO NOTHING",
            [code.clone().into(), now.into()],
        ))
        .await?;
        if let Some(row) = AccountRow::find_by_statement(crate::db::statement(
            backend,
            "SELECT id, code FROM accounts WHERE code = $1",
            [code.clone().into()],
        ))
        .one(db)
        .await?
        {
            ids.insert(row.code, row.id);
        }
    }
    Ok(ids)
}
