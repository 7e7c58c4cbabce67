//! Syncs from the gateway into the ledger: trades (executions) and positions; and the
//! rebuild of the stored fills from their raw records.

pub mod intake;
pub mod positions;
pub mod rebuild;
mod records;
pub mod trades;
