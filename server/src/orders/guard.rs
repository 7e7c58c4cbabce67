//! The confirmation guard's pure parts: validating an order request, and the single-use
//! confirmation token (random, shown once, stored only as its SHA-256 hash).

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

/// How long a confirmation token stays valid.
pub const TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// An order as requested, before validation.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub account_code: String,
    pub symbol: String,
    pub side: String,
    pub quantity: f64,
    pub order_type: String,
    pub limit_price: Option<f64>,
    pub tif: String,
    pub order_ref: Option<String>,
}

/// A validated order request, normalised (upper-case codes, trimmed text).
#[derive(Clone, Debug, PartialEq)]
pub struct ValidOrder {
    pub account_code: String,
    pub symbol: String,
    pub side: &'static str,
    pub quantity: f64,
    pub order_type: &'static str,
    pub limit_price: Option<f64>,
    pub tif: &'static str,
    pub order_ref: Option<String>,
}

fn one_of(field: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str> {
    let upper = value.trim().to_ascii_uppercase();
    allowed
        .iter()
        .find(|a| **a == upper)
        .copied()
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{field} must be one of {}, got `{value}`",
                    allowed.join(", ")
                ),
            )
        })
}

/// Checks every field of `order` (the account's existence is checked by the service).
pub fn validate(order: &NewOrder) -> Result<ValidOrder> {
    let account_code = order.account_code.trim().to_string();
    if account_code.is_empty() {
        return Err(Error::invalid("account", "account is required"));
    }
    let symbol = order.symbol.trim().to_ascii_uppercase();
    if symbol.is_empty()
        || symbol.len() > 12
        || !symbol
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.')
    {
        return Err(Error::invalid(
            "symbol",
            format!(
                "symbol must be 1-12 characters of A-Z, 0-9 and '.', got `{}`",
                order.symbol
            ),
        ));
    }
    let side = one_of("side", &order.side, &["BUY", "SELL"])?;
    if !(order.quantity.is_finite() && order.quantity > 0.0) {
        return Err(Error::invalid(
            "quantity",
            format!("quantity must be greater than 0, got {}", order.quantity),
        ));
    }
    let order_type = one_of("order_type", &order.order_type, &["MKT", "LMT"])?;
    let limit_price = match (order_type, order.limit_price) {
        ("LMT", Some(p)) if p.is_finite() && p > 0.0 => Some(p),
        ("LMT", Some(p)) => {
            return Err(Error::invalid(
                "limit_price",
                format!("limit_price must be greater than 0, got {p}"),
            ))
        }
        ("LMT", None) => {
            return Err(Error::invalid(
                "limit_price",
                "a LMT order needs a limit_price",
            ))
        }
        (_, Some(_)) => {
            return Err(Error::invalid(
                "limit_price",
                "a MKT order must not have a limit_price",
            ))
        }
        (_, None) => None,
    };
    let tif = one_of("tif", &order.tif, &["DAY", "GTC", "IOC"])?;
    let order_ref = match order.order_ref.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) if r.len() > 64 => {
            return Err(Error::invalid(
                "order_ref",
                "order_ref must be at most 64 characters",
            ))
        }
        Some(r) => Some(r.to_string()),
    };
    Ok(ValidOrder {
        account_code,
        symbol,
        side,
        quantity: order.quantity,
        order_type,
        limit_price,
        tif,
        order_ref,
    })
}

/// A new random confirmation token (256 bits from the OS generator, hex).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> NewOrder {
        NewOrder {
            account_code: "DU123".into(),
            symbol: "brk.b".into(),
            side: "buy".into(),
            quantity: 10.0,
            order_type: "LMT".into(),
            limit_price: Some(101.5),
            tif: "DAY".into(),
            order_ref: None,
        }
    }

    fn field_of(o: NewOrder) -> String {
        match validate(&o) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_order_is_normalised() {
        let v = validate(&order()).unwrap();
        assert_eq!(
            (v.symbol.as_str(), v.side, v.order_type),
            ("BRK.B", "BUY", "LMT")
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            field_of(NewOrder {
                symbol: "".into(),
                ..order()
            }),
            "symbol"
        );
        assert_eq!(
            field_of(NewOrder {
                symbol: "TOOLONGSYMBOL".into(),
                ..order()
            }),
            "symbol"
        );
        assert_eq!(
            field_of(NewOrder {
                symbol: "AB-C".into(),
                ..order()
            }),
            "symbol"
        );
        assert_eq!(
            field_of(NewOrder {
                side: "HOLD".into(),
                ..order()
            }),
            "side"
        );
        assert_eq!(
            field_of(NewOrder {
                quantity: 0.0,
                ..order()
            }),
            "quantity"
        );
        assert_eq!(
            field_of(NewOrder {
                quantity: f64::NAN,
                ..order()
            }),
            "quantity"
        );
        assert_eq!(
            field_of(NewOrder {
                order_type: "STP".into(),
                ..order()
            }),
            "order_type"
        );
        assert_eq!(
            field_of(NewOrder {
                limit_price: None,
                ..order()
            }),
            "limit_price"
        );
        assert_eq!(
            field_of(NewOrder {
                limit_price: Some(-1.0),
                ..order()
            }),
            "limit_price"
        );
        assert_eq!(
            field_of(NewOrder {
                order_type: "MKT".into(),
                ..order()
            }),
            "limit_price"
        );
        assert_eq!(
            field_of(NewOrder {
                tif: "FOK".into(),
                ..order()
            }),
            "tif"
        );
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
    }
}
