//! Migration 12: an index for the trade list filtered by account and status.
//!
//! With only `(account_id, last_executed_at, id)` and `(last_executed_at, id)` to choose
//! from, PostgreSQL answers `account_id = ? AND status = ?` by walking the newest trades of
//! every account and filtering (measured on 100,000 trades in 10 accounts: 909 rows read
//! for 51 returned). With the status in the key the page is one index range of 51 rows.

use crate::dialect;

const UP: &str = r#"
CREATE INDEX trades_account_status_last_exec_idx
    ON trades (account_id, status, last_executed_at DESC, id DESC)
"#;

const DOWN: &str = r#"
DROP INDEX trades_account_status_last_exec_idx
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0012_trades_account_status_index",
    up: UP,
    down: DOWN,
};
