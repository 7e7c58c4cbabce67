//! `accounts`: IB account codes seen through the gateway.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub alias: Option<String>,
    pub flex_time_zone: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::account_limits::Entity")]
    Limits,
    #[sea_orm(has_many = "super::coverage::Entity")]
    Coverage,
    #[sea_orm(has_many = "super::flex_cancellations::Entity")]
    FlexCancellations,
    #[sea_orm(has_many = "super::orders::Entity")]
    Orders,
    #[sea_orm(has_one = "super::position_baselines::Entity")]
    Baseline,
    #[sea_orm(has_many = "super::positions::Entity")]
    Positions,
    #[sea_orm(has_many = "super::trade_executions::Entity")]
    TradeExecutions,
    #[sea_orm(has_many = "super::trades::Entity")]
    Trades,
}

impl Related<super::account_limits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Limits.def()
    }
}

impl Related<super::coverage::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Coverage.def()
    }
}

impl Related<super::flex_cancellations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FlexCancellations.def()
    }
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Orders.def()
    }
}

impl Related<super::position_baselines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Baseline.def()
    }
}

impl Related<super::positions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Positions.def()
    }
}

impl Related<super::trade_executions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TradeExecutions.def()
    }
}

impl Related<super::trades::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Trades.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
