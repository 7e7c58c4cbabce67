//! Database migrations for Fillbook: one for the base tables, one for trades, one for
//! operators, sessions, API tokens and the audit log, one for Flex statements and coverage,
//! one for the configured gateways, one for per-account order limits, then live sessions,
//! position baselines, schedule runs, the history of every stored fill, the totals and
//! record digests the ledger writer keeps, and an index for the trade list by account and
//! status.
//!
//! Migrations are written as SQL with a tiny dialect layer ([`dialect::render`]) so that
//! PostgreSQL gets its native types (`timestamptz`, `jsonb`, identity keys) and SQLite
//! gets the portable equivalents, while both share one text and one set of partial indexes.

pub use sea_orm_migration::prelude::*;

mod dialect;
mod m0001_base_tables;
mod m0002_trades;
mod m0003_auth;
mod m0004_flex;
mod m0005_gateways;
mod m0006_order_limits;
mod m0007_live_sessions;
mod m0008_position_baselines;
mod m0009_schedule_runs;
mod m0010_execution_events;
mod m0011_trade_totals;
mod m0012_trades_account_status_index;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_base_tables::MIGRATION),
            Box::new(m0002_trades::MIGRATION),
            Box::new(m0003_auth::MIGRATION),
            Box::new(m0004_flex::MIGRATION),
            Box::new(m0005_gateways::MIGRATION),
            Box::new(m0006_order_limits::MIGRATION),
            Box::new(m0007_live_sessions::MIGRATION),
            Box::new(m0008_position_baselines::MIGRATION),
            Box::new(m0009_schedule_runs::MIGRATION),
            Box::new(m0010_execution_events::MIGRATION),
            Box::new(m0011_trade_totals::MIGRATION),
            Box::new(m0012_trades_account_status_index::MIGRATION),
        ]
    }
}
