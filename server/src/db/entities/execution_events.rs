//! `execution_events`: the append-only history of every fill's changes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "execution_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub execution_id: i32,
    pub trade_id: i32,
    pub account_id: i32,
    pub kind: String,
    pub before_values: Json,
    pub after_values: Json,
    pub source: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::trade_executions::Entity",
        from = "Column::ExecutionId",
        to = "super::trade_executions::Column::Id"
    )]
    Execution,
}

impl Related<super::trade_executions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Execution.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
