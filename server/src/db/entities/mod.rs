//! sea-orm entities, one module per table.

pub mod accounts;
pub mod imports;
pub mod jobs;
pub mod order_events;
pub mod orders;
pub mod positions;
pub mod trade_executions;
pub mod trades;
