//! Migration 6: per-account order limits, set by administrators and enforced when an order
//! is prepared and again when it is submitted.

use crate::dialect;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_order_limits"
    }
}

const UP: &str = r#"
CREATE TABLE account_limits (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    max_quantity {f64},
    max_notional {f64},
    allowed_symbols TEXT,
    allowed_sec_types TEXT,
    allow_fractional {bool} NOT NULL DEFAULT FALSE,
    updated_at {ts} NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE account_limits";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, DOWN).await
    }
}
