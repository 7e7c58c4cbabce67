//! Migration 4: Flex statements in the same ledger, and the coverage map.
//!
//! * `trade_executions` gains the statement's own ids (`flex_trade_id`, `flex_transaction_id`,
//!   `flex_ib_order_id`, `flex_brokerage_order_id`, `flex_order_reference`), the whole
//!   statement row (`flex_raw`, beside the gateway's `raw`), the commission's currency, a
//!   `time_unknown` flag (a statement row with a date and no time) and `busted_by` (the
//!   cancellation that busted the fill; a busted fill is never canonical).
//! * `flex_cancellations`: every cancellation row of a statement, with the execution it
//!   busted once that execution is in the ledger (until then it is reported as unmatched).
//! * `accounts.flex_time_zone`: the zone a statement's zoneless times are read in.
//! * `imports`: the history of statement imports with their metrics.
//! * `coverage`: the period each sync run and each statement covered, per account.
//! * `flex_credentials`: Flex Web Service token and query id per set of accounts.

use crate::dialect;

const UP: &str = r#"
ALTER TABLE accounts ADD COLUMN flex_time_zone TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_trade_id TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_transaction_id TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_ib_order_id TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_brokerage_order_id TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_order_reference TEXT;
ALTER TABLE trade_executions ADD COLUMN flex_raw {json};
ALTER TABLE trade_executions ADD COLUMN commission_currency TEXT;
ALTER TABLE trade_executions ADD COLUMN time_unknown {bool} NOT NULL DEFAULT FALSE;
ALTER TABLE trade_executions ADD COLUMN busted_by TEXT;
CREATE INDEX trade_executions_flex_txn_idx ON trade_executions (account_id, flex_transaction_id)
    WHERE flex_transaction_id IS NOT NULL;
CREATE INDEX trade_executions_flex_trade_idx ON trade_executions (account_id, flex_trade_id)
    WHERE flex_trade_id IS NOT NULL;
CREATE TABLE flex_cancellations (
    id {pk},
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    cancel_key TEXT NOT NULL,
    orig_trade_id TEXT,
    orig_transaction_id TEXT,
    orig_order_id TEXT,
    symbol TEXT,
    quantity {f64},
    price {f64},
    executed_at {ts},
    execution_id INTEGER REFERENCES trade_executions(id),
    raw {json} NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX flex_cancellations_key_uq ON flex_cancellations (account_id, cancel_key);
CREATE TABLE imports (
    id {pk},
    source TEXT NOT NULL,
    file_name TEXT,
    status TEXT NOT NULL,
    job_id INTEGER,
    body TEXT,
    metrics {json},
    error TEXT,
    created_by TEXT,
    created_at {ts} NOT NULL,
    finished_at {ts}
);
CREATE INDEX imports_created_idx ON imports (created_at DESC, id DESC);
CREATE TABLE coverage (
    id {pk},
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    source TEXT NOT NULL,
    period_start {ts} NOT NULL,
    period_end {ts} NOT NULL,
    reference TEXT,
    created_at {ts} NOT NULL
);
CREATE UNIQUE INDEX coverage_period_uq ON coverage (account_id, source, period_start, period_end);
CREATE TABLE flex_credentials (
    id {pk},
    name TEXT NOT NULL,
    token TEXT NOT NULL,
    query_id TEXT NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX flex_credentials_name_uq ON flex_credentials (name)
"#;

const DOWN: &str = r#"
DROP TABLE flex_credentials;
DROP TABLE coverage;
DROP TABLE imports;
DROP TABLE flex_cancellations;
DROP INDEX trade_executions_flex_trade_idx;
DROP INDEX trade_executions_flex_txn_idx;
ALTER TABLE trade_executions DROP COLUMN busted_by;
ALTER TABLE trade_executions DROP COLUMN time_unknown;
ALTER TABLE trade_executions DROP COLUMN commission_currency;
ALTER TABLE trade_executions DROP COLUMN flex_raw;
ALTER TABLE trade_executions DROP COLUMN flex_order_reference;
ALTER TABLE trade_executions DROP COLUMN flex_brokerage_order_id;
ALTER TABLE trade_executions DROP COLUMN flex_ib_order_id;
ALTER TABLE trade_executions DROP COLUMN flex_transaction_id;
ALTER TABLE trade_executions DROP COLUMN flex_trade_id;
ALTER TABLE accounts DROP COLUMN flex_time_zone
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0004_flex",
    up: UP,
    down: DOWN,
};
