//! Migration 9: runs of periodic jobs: one row per schedule and period, so however many
//! worker processes tick, each period's job is enqueued once.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE schedule_runs (
    schedule TEXT NOT NULL,
    period_start {ts} NOT NULL,
    job_id INTEGER,
    created_at {ts} NOT NULL,
    PRIMARY KEY (schedule, period_start)
)
"#;

const DOWN: &str = "DROP TABLE schedule_runs";

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0009_schedule_runs",
    up: UP,
    down: DOWN,
};
