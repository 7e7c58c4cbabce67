//! Migration 5: the gateways an administrator configured. A sync job chooses one of them by
//! name; it can no longer name a host and port of its own.

use crate::dialect;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_gateways"
    }
}

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        dialect::run(manager, DOWN).await
    }
}
