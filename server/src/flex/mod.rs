//! Flex statements (IB's Activity and Trade Confirmation Flex queries, XML) merged into the
//! same ledger as the gateway's executions: one row per fill, whichever source saw it first.
//!
//! `xml` streams the document, `time` reads IB's time shapes, `row` turns a statement row
//! into a ledger record, `import` runs one import in one transaction, `commands` is its
//! command line. `web` is the Flex Web Service client, `credentials` the stored tokens and
//! query ids, `fetch` one download and import (the `flex.fetch` job and `fillbook flex fetch`).

pub mod commands;
pub mod credentials;
pub mod fetch;
pub mod import;
pub mod row;
pub mod time;
pub mod web;
pub mod xml;

pub use import::{import_flex, ImportMetrics};
