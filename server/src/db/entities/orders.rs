//! `orders`: orders placed through Fillbook, behind the confirmation guard.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub currency: String,
    pub side: String,
    pub order_type: String,
    pub quantity: f64,
    pub limit_price: Option<f64>,
    pub tif: String,
    pub order_ref: Option<String>,
    pub ib_order_id: Option<i64>,
    pub ib_perm_id: Option<i64>,
    pub client_id: Option<i32>,
    pub status: String,
    pub filled_quantity: f64,
    pub avg_fill_price: Option<f64>,
    pub last_error: Option<String>,
    pub confirmation_token_hash: Option<String>,
    pub confirmation_expires_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::order_events::Entity")]
    OrderEvents,
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::order_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OrderEvents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
