//! Flex statements (IB's Activity and Trade Confirmation Flex queries, XML) merged into the
//! same ledger as the gateway's executions: one row per fill, whichever source saw it first.
//!
//! `xml` streams the document, `time` reads IB's time shapes, `row` turns a statement row
//! into a ledger record, `statement` reads a whole document in batches. `web` is the Flex
//! Web Service client, `credentials` the stored tokens and query ids. Writing a statement
//! into the ledger is `crate::sync::statement`; fetching and importing one is
//! `crate::imports::fetch`.

pub mod credentials;
pub mod row;
pub mod statement;
pub mod time;
pub mod web;
pub mod xml;

pub use statement::ImportMetrics;
