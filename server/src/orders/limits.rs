//! Per-account order limits. An administrator sets them (`fillbook accounts set-limits`);
//! without a setting an account has the defaults below. They are checked when an order is
//! prepared (the confirmation step shows them) and again when the orders worker submits it:
//! a refusal is a 422 naming the limit.
//!
//! * `max_quantity` — shares (contracts) per order; default [`DEFAULT_MAX_QUANTITY`].
//! * `max_notional` — quantity × price, the price being the higher of the limit price and
//!   the last price Fillbook saw for the symbol in the account's fills; with no price known
//!   a market order is refused (the notional cannot be checked).
//! * `allowed_symbols`, `allowed_sec_types` — when set, only these.
//! * `allow_fractional` — whole quantities only unless allowed.

use crate::db::entities::account_limits;
use crate::error::{Error, Result};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

/// Shares per order of an account whose limits nobody set.
pub const DEFAULT_MAX_QUANTITY: f64 = 10_000.0;

/// An account's limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    pub max_quantity: Option<f64>,
    pub max_notional: Option<f64>,
    /// Comma-separated, upper case; `None` = any.
    pub allowed_symbols: Option<String>,
    pub allowed_sec_types: Option<String>,
    pub allow_fractional: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_quantity: Some(DEFAULT_MAX_QUANTITY),
            max_notional: None,
            allowed_symbols: None,
            allowed_sec_types: None,
            allow_fractional: false,
        }
    }
}

/// What one order is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderToCheck<'a> {
    pub symbol: &'a str,
    pub sec_type: &'a str,
    pub quantity: f64,
    pub limit_price: Option<f64>,
}

fn listed(list: &Option<String>, value: &str) -> bool {
    list.as_deref().is_none_or(|l| {
        l.split(',')
            .map(str::trim)
            .any(|v| v.eq_ignore_ascii_case(value))
    })
}

impl Limits {
    /// Checks an order; `last_price` is the last price seen for its symbol. Returns the
    /// limits as the confirmation step shows them.
    pub fn check(&self, o: &OrderToCheck, last_price: Option<f64>) -> Result<Vec<String>> {
        let mut shown = Vec::new();
        if !self.allow_fractional && o.quantity.fract() != 0.0 {
            return Err(Error::invalid(
                "quantity",
                format!(
                    "the account does not allow fractional quantities (allow_fractional), got {}",
                    o.quantity
                ),
            ));
        }
        if let Some(max) = self.max_quantity {
            if o.quantity > max {
                return Err(Error::invalid(
                    "quantity",
                    format!(
                        "quantity {} exceeds the account's max_quantity of {max}",
                        o.quantity
                    ),
                ));
            }
            shown.push(format!("max_quantity {max}"));
        }
        if !listed(&self.allowed_symbols, o.symbol) {
            return Err(Error::invalid(
                "symbol",
                format!(
                    "{} is not among the account's allowed_symbols ({})",
                    o.symbol,
                    self.allowed_symbols.as_deref().unwrap_or_default()
                ),
            ));
        }
        if let Some(s) = &self.allowed_symbols {
            shown.push(format!("allowed_symbols {s}"));
        }
        if !listed(&self.allowed_sec_types, o.sec_type) {
            return Err(Error::invalid(
                "sec_type",
                format!(
                    "{} is not among the account's allowed_sec_types ({})",
                    o.sec_type,
                    self.allowed_sec_types.as_deref().unwrap_or_default()
                ),
            ));
        }
        if let Some(max) = self.max_notional {
            let price = match (o.limit_price, last_price) {
                (Some(l), Some(p)) => l.max(p),
                (Some(l), None) => l,
                (None, Some(p)) => p,
                (None, None) => {
                    return Err(Error::invalid(
                        "max_notional",
                        format!(
                            "no price is known for {}: the account's max_notional of {max} cannot \
                             be checked for a market order (use a limit order)",
                            o.symbol
                        ),
                    ))
                }
            };
            let notional = o.quantity * price;
            if notional > max {
                return Err(Error::invalid(
                    "max_notional",
                    format!(
                        "notional {notional:.2} ({} × {price}) exceeds the account's \
                         max_notional of {max}",
                        o.quantity
                    ),
                ));
            }
            shown.push(format!(
                "max_notional {max} (this order {notional:.2} at {price})"
            ));
        }
        if self.allow_fractional {
            shown.push("fractional quantities allowed".into());
        }
        Ok(shown)
    }
}

/// An account's limits (the defaults when none are set).
pub async fn of_account(db: &impl ConnectionTrait, account_id: i32) -> Result<Limits> {
    let stored = account_limits::Entity::find_by_id(account_id)
        .one(db)
        .await?;
    Ok(stored.map_or_else(Limits::default, |l| Limits {
        max_quantity: l.max_quantity,
        max_notional: l.max_notional,
        allowed_symbols: l.allowed_symbols,
        allowed_sec_types: l.allowed_sec_types,
        allow_fractional: l.allow_fractional,
    }))
}

/// The last fill price of `symbol` in the account's ledger.
pub async fn last_price(
    db: &impl ConnectionTrait,
    account_id: i32,
    symbol: &str,
) -> Result<Option<f64>> {
    use crate::db::entities::trade_executions as te;
    Ok(te::Entity::find()
        .select_only()
        .column(te::Column::Price)
        .filter(te::Column::AccountId.eq(account_id))
        .filter(te::Column::Symbol.eq(symbol))
        .filter(te::Column::IsCanonical.eq(true))
        .order_by_desc(te::Column::ExecutedAt)
        .order_by_desc(te::Column::Id)
        .into_tuple::<f64>()
        .one(db)
        .await?)
}

/// Checks an order of `account_id` against its limits and the last known price.
pub async fn check(
    db: &impl ConnectionTrait,
    account_id: i32,
    order: &OrderToCheck<'_>,
) -> Result<Vec<String>> {
    let limits = of_account(db, account_id).await?;
    let price = last_price(db, account_id, order.symbol).await?;
    limits.check(order, price)
}

/// Checks a stored order against its account's limits as they are now.
pub async fn check_stored(
    db: &impl ConnectionTrait,
    order: &crate::db::entities::orders::Model,
) -> Result<Vec<String>> {
    let to_check = OrderToCheck {
        symbol: &order.symbol,
        sec_type: &order.sec_type,
        quantity: order.quantity,
        limit_price: order.limit_price,
    };
    check(db, order.account_id, &to_check).await
}

/// Stores an account's limits (an administrator's action; the caller audits it).
pub async fn set(db: &impl ConnectionTrait, account_id: i32, l: &Limits) -> Result<()> {
    for (field, v) in [
        ("max_quantity", l.max_quantity),
        ("max_notional", l.max_notional),
    ] {
        if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
            return Err(Error::invalid(
                field,
                format!("{field} must be a positive number"),
            ));
        }
    }
    let upper = |v: &Option<String>| v.as_ref().map(|s| s.to_ascii_uppercase());
    let row = account_limits::ActiveModel {
        account_id: Set(account_id),
        max_quantity: Set(l.max_quantity),
        max_notional: Set(l.max_notional),
        allowed_symbols: Set(upper(&l.allowed_symbols)),
        allowed_sec_types: Set(upper(&l.allowed_sec_types)),
        allow_fractional: Set(l.allow_fractional),
        updated_at: Set(Utc::now()),
    };
    account_limits::Entity::insert(row)
        .on_conflict(
            OnConflict::column(account_limits::Column::AccountId)
                .update_columns([
                    account_limits::Column::MaxQuantity,
                    account_limits::Column::MaxNotional,
                    account_limits::Column::AllowedSymbols,
                    account_limits::Column::AllowedSecTypes,
                    account_limits::Column::AllowFractional,
                    account_limits::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(quantity: f64, limit_price: Option<f64>) -> OrderToCheck<'static> {
        OrderToCheck {
            symbol: "AAPL",
            sec_type: "STK",
            quantity,
            limit_price,
        }
    }

    fn field(r: Result<Vec<String>>) -> String {
        match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_defaults_refuse_absurd_and_fractional_sizes() {
        let d = Limits::default();
        assert_eq!(field(d.check(&order(1e308, None), None)), "quantity");
        assert_eq!(field(d.check(&order(1e9, None), None)), "quantity");
        assert_eq!(field(d.check(&order(1e-7, None), None)), "quantity");
        assert_eq!(field(d.check(&order(0.5, None), None)), "quantity");
        assert_eq!(
            d.check(&order(100.0, None), None).unwrap(),
            vec!["max_quantity 10000"]
        );
    }

    #[test]
    fn notional_uses_the_higher_of_limit_and_last_price() {
        let l = Limits {
            max_notional: Some(10_000.0),
            ..Limits::default()
        };
        assert!(l.check(&order(50.0, Some(190.0)), Some(150.0)).is_ok());
        assert_eq!(
            field(l.check(&order(60.0, None), Some(190.0))),
            "max_notional"
        );
        assert_eq!(
            field(l.check(&order(60.0, Some(100.0)), Some(190.0))),
            "max_notional"
        );
        // A market order with no known price cannot be checked.
        assert_eq!(field(l.check(&order(1.0, None), None)), "max_notional");
        let shown = l.check(&order(10.0, Some(100.0)), None).unwrap();
        assert!(
            shown.iter().any(|s| s.contains("max_notional 10000")),
            "{shown:?}"
        );
    }

    #[test]
    fn allowed_lists_and_fractions() {
        let l = Limits {
            allowed_symbols: Some("MSFT,IBM".into()),
            allowed_sec_types: Some("OPT".into()),
            allow_fractional: true,
            max_quantity: None,
            ..Limits::default()
        };
        assert_eq!(field(l.check(&order(1.0, None), None)), "symbol");
        let ok = OrderToCheck {
            symbol: "ibm",
            sec_type: "STK",
            quantity: 0.5,
            limit_price: None,
        };
        assert_eq!(field(l.check(&ok, None)), "sec_type");
        let ok = OrderToCheck {
            sec_type: "OPT",
            ..ok
        };
        assert!(l.check(&ok, None).is_ok());
    }
}
