//! `imports`: the history of statement imports, with the stored document until it ran.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub source: String,
    pub file_name: Option<String>,
    pub status: String,
    pub job_id: Option<i32>,
    pub body: Option<String>,
    pub metrics: Option<Json>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
