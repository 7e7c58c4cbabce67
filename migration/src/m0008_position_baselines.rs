//! Migration 8: position baselines for reconciliation: an account's quantities per symbol as
//! of a time, from which its fills are added up.

use crate::dialect;

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

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0008_position_baselines",
    up: UP,
    down: DOWN,
};
