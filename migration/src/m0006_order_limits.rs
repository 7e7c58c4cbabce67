//! Migration 6: per-account order limits, set by administrators and enforced when an order
//! is prepared and again when it is submitted.

use crate::dialect;

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

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0006_order_limits",
    up: UP,
    down: DOWN,
};
