//! Migration 1: the base tables the specification treats as existing —
//! `accounts`, `orders`, `order_events`, `positions` and `jobs`.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE accounts (
    id {pk},
    code TEXT NOT NULL UNIQUE,
    alias TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE TABLE orders (
    id {pk},
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    symbol TEXT NOT NULL,
    sec_type TEXT NOT NULL,
    exchange TEXT NOT NULL,
    currency TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    quantity {f64} NOT NULL,
    limit_price {f64},
    tif TEXT NOT NULL,
    order_ref TEXT,
    ib_order_id {i64},
    ib_perm_id {i64},
    client_id INTEGER,
    status TEXT NOT NULL,
    filled_quantity {f64} NOT NULL DEFAULT 0,
    avg_fill_price {f64},
    last_error TEXT,
    confirmation_token_hash TEXT,
    confirmation_expires_at {ts},
    confirmed_at {ts},
    submitted_at {ts},
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE INDEX orders_account_created_idx ON orders (account_id, created_at);
CREATE INDEX orders_status_idx ON orders (status, id);
CREATE INDEX orders_perm_idx ON orders (account_id, ib_perm_id);
CREATE TABLE order_events (
    id {pk},
    order_id INTEGER NOT NULL REFERENCES orders(id),
    status TEXT NOT NULL,
    message TEXT,
    payload {json},
    created_at {ts} NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);
CREATE TABLE positions (
    id {pk},
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    con_id {i64} NOT NULL,
    symbol TEXT NOT NULL,
    sec_type TEXT NOT NULL,
    exchange TEXT,
    currency TEXT NOT NULL,
    quantity {f64} NOT NULL,
    avg_cost {f64},
    fetched_at {ts} NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    UNIQUE (account_id, con_id)
);
CREATE TABLE jobs (
    id {pk},
    kind TEXT NOT NULL,
    queue TEXT NOT NULL DEFAULT 'default',
    state TEXT NOT NULL,
    payload {json} NOT NULL,
    result {json},
    error TEXT,
    errors {json},
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    priority INTEGER NOT NULL DEFAULT 0,
    unique_key TEXT,
    scheduled_at {ts} NOT NULL,
    attempted_by TEXT,
    lease_expires_at {ts},
    created_at {ts} NOT NULL,
    started_at {ts},
    finished_at {ts},
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX jobs_unique_waiting_idx ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'scheduled', 'retryable');
CREATE INDEX jobs_fetch_idx ON jobs (queue, state, priority, scheduled_at, id);
CREATE INDEX jobs_lease_idx ON jobs (state, lease_expires_at);
CREATE INDEX jobs_kind_idx ON jobs (kind, id);
CREATE INDEX jobs_finished_idx ON jobs (finished_at)
"#;

const DOWN: &str = r#"
DROP TABLE jobs;
DROP TABLE positions;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE accounts
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0001_base_tables",
    up: UP,
    down: DOWN,
};
