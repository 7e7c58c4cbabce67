//! Migration 11: what the ledger writer keeps so reads and re-syncs stay cheap.
//!
//! - `trades.fills_count` and `trades.commission_total`: the count and commission sum of a
//!   trade's canonical fills, kept by every write of the ledger (a list reads one row per
//!   trade, no correlated aggregates). Existing trades are filled in here.
//! - `trade_executions.gateway_hash` / `statement_hash`: a 64-bit digest of the last gateway
//!   record and the last statement record merged into the fill. A record that arrives again
//!   with the same digest changes nothing, so a re-sync compares digests and reads no raw
//!   record back. Rows written before this migration have none (they are compared in full
//!   until their next change).

use crate::dialect;

const UP: &str = r#"
ALTER TABLE trades ADD COLUMN fills_count {i64} NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN commission_total {f64};
UPDATE trades SET
    fills_count = (SELECT COUNT(*) FROM trade_executions e
        WHERE e.trade_id = trades.id AND e.is_canonical),
    commission_total = (SELECT SUM(e.commission) FROM trade_executions e
        WHERE e.trade_id = trades.id AND e.is_canonical);
ALTER TABLE trade_executions ADD COLUMN gateway_hash {i64};
ALTER TABLE trade_executions ADD COLUMN statement_hash {i64}
"#;

const DOWN: &str = r#"
ALTER TABLE trade_executions DROP COLUMN statement_hash;
ALTER TABLE trade_executions DROP COLUMN gateway_hash;
ALTER TABLE trades DROP COLUMN commission_total;
ALTER TABLE trades DROP COLUMN fills_count
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0011_trade_totals",
    up: UP,
    down: DOWN,
};
