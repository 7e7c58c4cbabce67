//! `trades`: parent trades, derived aggregates over canonical executions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trades")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub match_key: String,
    pub ib_perm_id: Option<i64>,
    pub order_ref: Option<String>,
    pub ib_order_id: Option<i64>,
    pub client_id: Option<i32>,
    pub symbol: Option<String>,
    pub sec_type: Option<String>,
    pub side: Option<String>,
    pub exchange: Option<String>,
    pub currency: Option<String>,
    pub status: app::models::TradeStatus,
    pub total_quantity: f64,
    pub avg_price: Option<f64>,
    pub first_executed_at: Option<DateTimeUtc>,
    pub last_executed_at: Option<DateTimeUtc>,
    /// Canonical fills of the trade, kept by the ledger writer.
    pub fills_count: i64,
    /// Commission of the canonical fills, kept by the ledger writer.
    pub commission_total: Option<f64>,
    pub fetched_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::accounts::Entity",
        from = "Column::AccountId",
        to = "super::accounts::Column::Id"
    )]
    Account,
    #[sea_orm(has_many = "super::trade_executions::Entity")]
    TradeExecutions,
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::trade_executions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TradeExecutions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
