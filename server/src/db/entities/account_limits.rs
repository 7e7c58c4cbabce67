//! `account_limits`: per-account order limits an administrator sets.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_limits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub account_id: i32,
    pub max_quantity: Option<f64>,
    pub max_notional: Option<f64>,
    pub allowed_symbols: Option<String>,
    pub allowed_sec_types: Option<String>,
    pub allow_fractional: bool,
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
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
