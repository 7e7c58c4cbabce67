//! How a record merges into a stored fill: the columns a later record may change, which
//! source wins each of them, the digests that let a record seen before be skipped unread,
//! and the history events a change leaves.

use crate::normalize::{seen_by_gateway, FlexFields, NormalizedExecution, RawRecord};
use chrono::{DateTime, Utc};
use sea_orm::FromQueryResult;
use serde_json::{json, Value};

/// What the first look at a delivered fill reads: where it is and the digests of the records
/// merged into it (no raw record: a re-sync of unchanged fills reads nothing more).
#[derive(Debug, FromQueryResult)]
pub(super) struct KnownExec {
    pub(super) trade_id: i32,
    pub(super) account_id: i32,
    pub(super) ib_exec_id: String,
    pub(super) exec_id_base: String,
    pub(super) gateway_hash: Option<i64>,
    pub(super) statement_hash: Option<i64>,
}

impl KnownExec {
    /// Whether `digest` is that of the last record from `r`'s source merged into this fill:
    /// merging it again changes nothing (merging is idempotent, and a record of the other
    /// source never undoes what this one set).
    pub(super) fn already_merged(&self, r: &NormalizedExecution, digest: i64) -> bool {
        let stored = if r.flex.is_some() {
            self.statement_hash
        } else {
            self.gateway_hash
        };
        stored == Some(digest)
    }
}

/// Read by `exec_id_base`: every stored revision of a delivered fill's base, so one lookup
/// tells both which fills are stored and which new fills join a base already in the ledger.
pub(super) const KNOWN_SELECT: &str = "SELECT trade_id, account_id, ib_exec_id, exec_id_base, \
     gateway_hash, statement_hash FROM trade_executions";

/// The digests of the last gateway and statement records merged into a stored fill.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Digests {
    pub(super) gateway: Option<i64>,
    pub(super) statement: Option<i64>,
}

impl Digests {
    /// After merging `r` (digest `digest`) into a fill that had `old`.
    pub(super) fn after(old: Digests, r: &NormalizedExecution, digest: i64) -> Digests {
        if r.flex.is_some() {
            Digests {
                statement: Some(digest),
                ..old
            }
        } else {
            Digests {
                gateway: Some(digest),
                ..old
            }
        }
    }
}

#[derive(Debug, FromQueryResult)]
pub(super) struct ExistingExec {
    pub(super) id: i32,
    pub(super) trade_id: i32,
    pub(super) account_id: i32,
    pub(super) ib_exec_id: String,
    pub(super) ib_perm_id: Option<i64>,
    pub(super) ib_order_id: Option<i64>,
    pub(super) client_id: Option<i32>,
    pub(super) order_ref: Option<String>,
    pub(super) quantity: f64,
    pub(super) price: f64,
    pub(super) executed_at: DateTime<Utc>,
    pub(super) commission: Option<f64>,
    pub(super) liquidity: Option<String>,
    pub(super) exchange: Option<String>,
    pub(super) raw: serde_json::Value,
    pub(super) flex_trade_id: Option<String>,
    pub(super) flex_transaction_id: Option<String>,
    pub(super) flex_ib_order_id: Option<String>,
    pub(super) flex_brokerage_order_id: Option<String>,
    pub(super) flex_order_reference: Option<String>,
    pub(super) flex_raw: Option<serde_json::Value>,
    pub(super) commission_currency: Option<String>,
    pub(super) time_unknown: bool,
    pub(super) gateway_hash: Option<i64>,
    pub(super) statement_hash: Option<i64>,
}

/// The stored columns a later record of the same fill may change.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mutable {
    pub(super) perm_id: Option<i64>,
    pub(super) order_id: Option<i64>,
    pub(super) client_id: Option<i32>,
    pub(super) order_ref: Option<String>,
    pub(super) executed_at: DateTime<Utc>,
    pub(super) quantity: f64,
    pub(super) price: f64,
    pub(super) exchange: Option<String>,
    pub(super) liquidity: Option<String>,
    pub(super) commission: Option<f64>,
    pub(super) raw: serde_json::Value,
    pub(super) statement: StatementPart,
    pub(super) time_unknown: bool,
}

/// What a Flex statement adds to a stored fill: its ids, its row and the commission's
/// currency. It travels as one piece: a gateway record keeps the stored one, a statement
/// record replaces it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct StatementPart {
    pub(super) trade_id: Option<String>,
    pub(super) transaction_id: Option<String>,
    pub(super) ib_order_id: Option<String>,
    pub(super) brokerage_order_id: Option<String>,
    pub(super) order_reference: Option<String>,
    pub(super) raw: Option<serde_json::Value>,
    pub(super) commission_currency: Option<String>,
}

impl StatementPart {
    fn of_record(flex: Option<&FlexFields>) -> Self {
        let Some(f) = flex else {
            return StatementPart::default();
        };
        StatementPart {
            trade_id: f.trade_id.clone(),
            transaction_id: f.transaction_id.clone(),
            ib_order_id: f.ib_order_id.clone(),
            brokerage_order_id: f.brokerage_order_id.clone(),
            order_reference: f.order_reference.clone(),
            raw: serde_json::from_str(&f.raw).ok(),
            commission_currency: f.commission_currency.clone(),
        }
    }
}

impl ExistingExec {
    pub(super) fn digests(&self) -> Digests {
        Digests {
            gateway: self.gateway_hash,
            statement: self.statement_hash,
        }
    }
}

impl Mutable {
    pub(super) fn of_stored(e: &ExistingExec) -> Self {
        Mutable {
            perm_id: e.ib_perm_id,
            order_id: e.ib_order_id,
            client_id: e.client_id,
            order_ref: e.order_ref.clone(),
            executed_at: e.executed_at,
            quantity: e.quantity,
            price: e.price,
            exchange: e.exchange.clone(),
            liquidity: e.liquidity.clone(),
            commission: e.commission,
            raw: e.raw.clone(),
            statement: StatementPart {
                trade_id: e.flex_trade_id.clone(),
                transaction_id: e.flex_transaction_id.clone(),
                ib_order_id: e.flex_ib_order_id.clone(),
                brokerage_order_id: e.flex_brokerage_order_id.clone(),
                order_reference: e.flex_order_reference.clone(),
                raw: e.flex_raw.clone(),
                commission_currency: e.commission_currency.clone(),
            },
            time_unknown: e.time_unknown,
        }
    }

    pub(super) fn of_record(r: &NormalizedExecution) -> Self {
        Mutable {
            perm_id: Some(r.perm_id),
            order_id: Some(r.order_id),
            client_id: Some(r.client_id),
            order_ref: r.order_ref.clone(),
            executed_at: r.executed_at,
            quantity: r.quantity,
            price: r.price,
            exchange: r.exchange.clone(),
            liquidity: r.liquidity.clone(),
            commission: r.commission,
            raw: r.raw.tree(),
            statement: StatementPart::of_record(r.flex.as_ref()),
            time_unknown: r.flex.as_ref().is_some_and(|f| f.time_unknown),
        }
    }

    /// The stored fill after a new record of it: the gateway's fields win over a statement's
    /// (whichever came first), a statement adds its ids and row, and a known commission is
    /// never erased by a record without one. Either order of the two sources ends the same.
    pub(super) fn merged(old: Mutable, new: &NormalizedExecution) -> Mutable {
        let incoming = Mutable::of_record(new);
        if new.flex.is_none() {
            Mutable {
                commission: incoming.commission.or(old.commission),
                statement: old.statement,
                time_unknown: false,
                ..incoming
            }
        } else if seen_by_gateway(&old.raw) {
            Mutable {
                commission: old.commission.or(incoming.commission),
                statement: incoming.statement,
                ..old
            }
        } else {
            incoming
        }
    }
}

/// The history events of one stored fill going from `before` to `after`: each kind with
/// only its changed fields.
pub(super) fn changes(before: &Mutable, after: &Mutable) -> Vec<(&'static str, Value, Value)> {
    let mut out: Vec<(&'static str, Value, Value)> = Vec::new();
    let mut field = |kind: &'static str, name: &str, b: Value, a: Value| {
        if b == a {
            return;
        }
        match out.iter_mut().find(|e| e.0 == kind) {
            Some((_, bo, ao)) => {
                bo[name] = b;
                ao[name] = a;
            }
            None => out.push((kind, json!({ name: b }), json!({ name: a }))),
        }
    };
    let sources = |m: &Mutable| {
        let mut s = Vec::new();
        if seen_by_gateway(&m.raw) {
            s.push("gateway");
        }
        if m.statement.raw.is_some() {
            s.push("statement");
        }
        json!(s)
    };
    field("source_added", "sources", sources(before), sources(after));
    field(
        "commission",
        "commission",
        json!(before.commission),
        json!(after.commission),
    );
    let (b, a) = (&before.statement, &after.statement);
    for (name, bv, av) in [
        ("trade_id", &b.trade_id, &a.trade_id),
        ("transaction_id", &b.transaction_id, &a.transaction_id),
        ("ib_order_id", &b.ib_order_id, &a.ib_order_id),
        (
            "brokerage_order_id",
            &b.brokerage_order_id,
            &a.brokerage_order_id,
        ),
        ("order_reference", &b.order_reference, &a.order_reference),
        (
            "commission_currency",
            &b.commission_currency,
            &a.commission_currency,
        ),
    ] {
        field("flex_ids", name, json!(bv), json!(av));
    }
    for (name, bv, av) in [
        ("perm_id", json!(before.perm_id), json!(after.perm_id)),
        ("order_id", json!(before.order_id), json!(after.order_id)),
        ("client_id", json!(before.client_id), json!(after.client_id)),
        ("order_ref", json!(before.order_ref), json!(after.order_ref)),
        (
            "executed_at",
            json!(before.executed_at),
            json!(after.executed_at),
        ),
        ("quantity", json!(before.quantity), json!(after.quantity)),
        ("price", json!(before.price), json!(after.price)),
        ("exchange", json!(before.exchange), json!(after.exchange)),
        ("liquidity", json!(before.liquidity), json!(after.liquidity)),
        (
            "time_unknown",
            json!(before.time_unknown),
            json!(after.time_unknown),
        ),
    ] {
        field("corrected", name, bv, av);
    }
    out
}

/// `row`, but when it lacks a commission and one is already `known`, with that commission
/// and its commission report: a later delivery without the report never erases it.
pub(super) fn with_known_commission(
    mut row: NormalizedExecution,
    known: Option<f64>,
    report: Option<&serde_json::Value>,
) -> NormalizedExecution {
    if row.commission.is_none() && known.is_some() {
        row.commission = known;
        let mut tree = row.raw.tree();
        if let (Some(raw), Some(report)) = (tree.as_object_mut(), report) {
            raw.insert("commission_report".into(), report.clone());
            row.raw = RawRecord::of(&tree);
        }
    }
    row
}

pub(super) const EXISTING_SELECT: &str =
    "SELECT id, trade_id, account_id, ib_exec_id, ib_perm_id, \
     ib_order_id, client_id, order_ref, quantity, price, executed_at, commission, liquidity, \
     exchange, raw, flex_trade_id, flex_transaction_id, flex_ib_order_id, \
     flex_brokerage_order_id, flex_order_reference, flex_raw, commission_currency, time_unknown, \
     gateway_hash, statement_hash FROM trade_executions";
