//! `trade_executions`: every fill and every correction revision; the source of truth.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trade_executions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub trade_id: i32,
    pub account_id: i32,
    pub ib_exec_id: String,
    pub exec_id_base: String,
    pub exec_revision: i32,
    pub ib_perm_id: Option<i64>,
    pub ib_order_id: Option<i64>,
    pub order_ref: Option<String>,
    pub client_id: Option<i32>,
    pub executed_at: DateTimeUtc,
    pub quantity: f64,
    pub price: f64,
    pub side: Option<String>,
    pub symbol: Option<String>,
    pub exchange: Option<String>,
    pub currency: Option<String>,
    pub liquidity: Option<String>,
    pub commission: Option<f64>,
    pub commission_currency: Option<String>,
    pub time_unknown: bool,
    pub busted_by: Option<String>,
    pub flex_trade_id: Option<String>,
    pub flex_transaction_id: Option<String>,
    pub flex_ib_order_id: Option<String>,
    pub flex_brokerage_order_id: Option<String>,
    pub flex_order_reference: Option<String>,
    pub flex_raw: Option<Json>,
    pub is_canonical: bool,
    pub raw: Json,
    /// Digest of the last gateway record merged into this fill (none before it had one).
    pub gateway_hash: Option<i64>,
    /// Digest of the last statement record merged into this fill.
    pub statement_hash: Option<i64>,
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
    #[sea_orm(
        belongs_to = "super::trades::Entity",
        from = "Column::TradeId",
        to = "super::trades::Column::Id"
    )]
    Trade,
    #[sea_orm(has_many = "super::execution_events::Entity")]
    ExecutionEvents,
    #[sea_orm(has_many = "super::flex_cancellations::Entity")]
    FlexCancellations,
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::trades::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Trade.def()
    }
}

impl Related<super::execution_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ExecutionEvents.def()
    }
}

impl Related<super::flex_cancellations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FlexCancellations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
