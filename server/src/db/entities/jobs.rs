//! `jobs`: the job queue.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    pub queue: String,
    pub state: app::models::JobState,
    pub payload: Json,
    pub result: Option<Json>,
    pub error: Option<String>,
    pub errors: Option<Json>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub priority: i32,
    pub unique_key: Option<String>,
    pub scheduled_at: DateTimeUtc,
    pub attempted_by: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
