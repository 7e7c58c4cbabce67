//! Syncs from the gateway into the ledger: trades (executions) and positions; and the
//! rebuild of the stored fills from their raw records.

mod bind;
mod cancellations;
pub mod intake;
mod merge;
pub mod positions;
pub mod rebuild;
mod records;
pub mod statement;
mod status;
mod totals;
pub mod trades;
