//! Migration 9: runs of periodic jobs: one row per schedule and period, so however many
//! worker processes tick, each period's job is enqueued once.

use crate::dialect;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_schedule_runs"
    }
}

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, DOWN).await
    }
}
