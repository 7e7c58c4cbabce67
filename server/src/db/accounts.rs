//! The accounts table as the ledger writers see it: new account codes inserted, every code's id
//! returned.

use crate::db::entities::accounts::{self, Column, Entity};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::{BTreeSet, HashMap};

/// Inserts the account codes that are new (leaving known ones untouched) and returns the
/// id of every code.
pub async fn upsert_accounts(
    db: &impl ConnectionTrait,
    codes: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, i32>> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let new = codes.iter().map(|code| accounts::ActiveModel {
        code: Set(code.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    Entity::insert_many(new)
        .on_conflict(OnConflict::column(Column::Code).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    let stored = Entity::find()
        .filter(Column::Code.is_in(codes.iter().map(String::as_str)))
        .all(db)
        .await?;
    Ok(stored.into_iter().map(|a| (a.code, a.id)).collect())
}
