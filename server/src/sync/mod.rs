//! Syncs from the gateway into the ledger: trades (executions) and positions.

pub mod positions;
pub mod trades;
