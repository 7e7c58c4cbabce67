//! `live_sessions`: each gateway's live subscription: its holder's lease and counters.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "live_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub gateway: String,
    pub holder: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub client_id: Option<i32>,
    pub connected_since: Option<DateTimeUtc>,
    pub last_fill_at: Option<DateTimeUtc>,
    pub fills_count: i64,
    pub reconnects: i32,
    pub skipped_count: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
