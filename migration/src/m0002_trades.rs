//! Migration 2 (the specification's single trades migration): `trades` and
//! `trade_executions` with every column, index and constraint of the specification, plus
//! `trades.match_key` (unique per account) and the partial `order_ref` index.
//! No change to the base tables.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE trades (
    id {pk},
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    match_key TEXT NOT NULL,
    ib_perm_id {i64},
    order_ref TEXT,
    ib_order_id {i64},
    client_id INTEGER,
    symbol TEXT,
    sec_type TEXT,
    side TEXT,
    exchange TEXT,
    currency TEXT,
    status TEXT NOT NULL,
    total_quantity {f64} NOT NULL DEFAULT 0,
    avg_price {f64},
    first_executed_at {ts},
    last_executed_at {ts},
    fetched_at {ts} NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX trades_account_match_key_uq ON trades (account_id, match_key);
CREATE UNIQUE INDEX trades_account_perm_uq ON trades (account_id, ib_perm_id)
    WHERE ib_perm_id > 0;
CREATE UNIQUE INDEX trades_account_order_ref_uq ON trades (account_id, order_ref)
    WHERE order_ref IS NOT NULL AND (ib_perm_id IS NULL OR ib_perm_id <= 0);
CREATE INDEX trades_account_last_exec_idx ON trades (account_id, last_executed_at DESC, id DESC);
CREATE INDEX trades_last_exec_idx ON trades (last_executed_at DESC, id DESC);
CREATE TABLE trade_executions (
    id {pk},
    trade_id INTEGER NOT NULL REFERENCES trades(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    ib_exec_id TEXT NOT NULL,
    exec_id_base TEXT NOT NULL,
    exec_revision INTEGER NOT NULL DEFAULT 0,
    ib_perm_id {i64},
    ib_order_id {i64},
    order_ref TEXT,
    client_id INTEGER,
    executed_at {ts} NOT NULL,
    quantity {f64} NOT NULL,
    price {f64} NOT NULL,
    side TEXT,
    symbol TEXT,
    exchange TEXT,
    currency TEXT,
    liquidity TEXT,
    commission {f64},
    is_canonical {bool} NOT NULL DEFAULT TRUE,
    raw {json} NOT NULL,
    fetched_at {ts} NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX trade_executions_account_exec_uq ON trade_executions (account_id, ib_exec_id);
CREATE INDEX trade_executions_base_rev_idx ON trade_executions (account_id, exec_id_base, exec_revision DESC);
CREATE INDEX trade_executions_trade_time_idx ON trade_executions (trade_id, executed_at)
"#;

const DOWN: &str = r#"
DROP TABLE trade_executions;
DROP TABLE trades
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0002_trades",
    up: UP,
    down: DOWN,
};
