//! sea-orm entities, one module per table, each with its relations (every foreign key, both
//! ways).

pub mod account_limits;
pub mod accounts;
pub mod api_tokens;
pub mod audit_events;
pub mod coverage;
pub mod execution_events;
pub mod flex_cancellations;
pub mod flex_credentials;
pub mod gateways;
pub mod imports;
pub mod jobs;
pub mod live_sessions;
pub mod operators;
pub mod order_events;
pub mod orders;
pub mod position_baselines;
pub mod positions;
pub mod schedule_runs;
pub mod sessions;
pub mod trade_executions;
pub mod trades;
