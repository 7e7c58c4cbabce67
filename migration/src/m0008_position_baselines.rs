//! Migration 8: position baselines for reconciliation: an account's quantities per symbol as
//! of a time, from which its fills are added up.

use crate::dialect;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_position_baselines"
    }
}

const UP: &str = r#"
CREATE TABLE position_baselines (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    as_of {ts} NOT NULL,
    quantities {json} NOT NULL,
    set_by TEXT NOT NULL,
    created_at {ts} NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE position_baselines";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, DOWN).await
    }
}
