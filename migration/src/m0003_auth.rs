//! Migration 3: who may use Fillbook. `operators` (argon2id password hashes), their
//! server-side `sessions` (only a hash of the cookie's id is stored), scoped `api_tokens`
//! for bots (only a hash of the token is stored) and the append-only `audit_events`.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE operators (
    id {pk},
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin {bool} NOT NULL DEFAULT FALSE,
    disabled_at {ts},
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX operators_username_uq ON operators (username);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at {ts} NOT NULL,
    last_seen_at {ts} NOT NULL,
    expires_at {ts} NOT NULL
);
CREATE INDEX sessions_operator_idx ON sessions (operator_id);
CREATE TABLE api_tokens (
    id {pk},
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {ts} NOT NULL,
    last_used_at {ts},
    revoked_at {ts}
);
CREATE UNIQUE INDEX api_tokens_hash_uq ON api_tokens (token_hash);
CREATE TABLE audit_events (
    id {pk},
    at {ts} NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_action_at_idx ON audit_events (action, at)
"#;

const DOWN: &str = r#"
DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE operators
"#;

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0003_auth",
    up: UP,
    down: DOWN,
};
