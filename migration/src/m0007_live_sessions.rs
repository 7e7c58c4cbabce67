//! Migration 7: the live fill subscription of each gateway: who holds it (a lease, so one
//! worker process across many follows a gateway) and its state for operators.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE live_sessions (
    gateway TEXT PRIMARY KEY,
    holder TEXT,
    lease_expires_at {ts},
    client_id INTEGER,
    connected_since {ts},
    last_fill_at {ts},
    fills_count BIGINT NOT NULL DEFAULT 0,
    reconnects INTEGER NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at {ts} NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE live_sessions";

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0007_live_sessions",
    up: UP,
    down: DOWN,
};
