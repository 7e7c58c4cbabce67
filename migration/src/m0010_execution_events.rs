//! Migration 10: the history of every stored fill. Each change a sync, a statement import,
//! the live stream or a rebuild makes to a stored execution is one row, append-only.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE execution_events (
    id {pk},
    execution_id INTEGER NOT NULL REFERENCES trade_executions(id),
    trade_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    before_values {json} NOT NULL,
    after_values {json} NOT NULL,
    source TEXT,
    created_at {ts} NOT NULL
);
CREATE INDEX execution_events_trade ON execution_events (trade_id, id);
CREATE INDEX execution_events_execution ON execution_events (execution_id, id)
"#;

const DOWN: &str = "DROP TABLE execution_events";

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0010_execution_events",
    up: UP,
    down: DOWN,
};
