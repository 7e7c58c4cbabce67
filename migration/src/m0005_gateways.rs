//! Migration 5: the gateways an administrator configured. A sync job chooses one of them by
//! name; it can no longer name a host and port of its own.

use crate::dialect;

const UP: &str = r#"
CREATE TABLE gateways (
    id {pk},
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    client_id_base INTEGER NOT NULL,
    time_zone TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX gateways_name_uq ON gateways (name)
"#;

const DOWN: &str = "DROP TABLE gateways";

/// This migration, for the migrator's list.
pub const MIGRATION: dialect::SqlMigration = dialect::SqlMigration {
    name: "m0005_gateways",
    up: UP,
    down: DOWN,
};
