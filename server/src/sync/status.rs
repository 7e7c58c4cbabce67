//! Trade status: what is known about a trade's order — the gateway's open and completed
//! orders, else Fillbook's own — decides whether it is filled, partial, cancelled or
//! unknown.

use super::trades::{update_ids, CHUNK};
use crate::db::entities::{orders, trades};
use crate::error::Result;
use app::models::TradeStatus;
use chrono::{DateTime, Utc};
use ibapi::orders::OrderData;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};

/// What the gateway knows about an order, for trade status.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownOrder {
    pub account: String,
    pub perm_id: i64,
    pub order_ref: Option<String>,
    pub quantity: f64,
    /// `Filled`, `Cancelled`, `Submitted`, … as the gateway spells it.
    pub state: String,
}

impl KnownOrder {
    /// What an `OpenOrder` (or completed order) report says about an order.
    pub fn from_gateway(o: &OrderData) -> Self {
        KnownOrder {
            account: o.order.account.clone(),
            perm_id: o.order.perm_id,
            order_ref: Some(o.order.order_ref.clone()).filter(|r| !r.is_empty()),
            quantity: o.order.total_quantity,
            state: o.order_state.status.to_string(),
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct TradeState {
    id: i32,
    account_id: i32,
    ib_perm_id: Option<i64>,
    order_ref: Option<String>,
    total_quantity: f64,
    status: TradeStatus,
}

/// Status of every trade in `trades` from what is known about its order: the gateway's
/// `orders`, else Fillbook's own. Without either, a trade keeps its status unless
/// `knows_orders` (the gateway's view is complete, so the order is unknown). Returns the
/// trades whose status changed.
pub(crate) async fn refresh_status(
    txn: &impl ConnectionTrait,
    trades: &[i32],
    account_codes: &HashMap<i32, String>,
    orders: &[KnownOrder],
    knows_orders: bool,
    now: DateTime<Utc>,
) -> Result<Vec<i32>> {
    let gateway_orders = OrderIndex::new(orders);
    let mut status_changes: HashMap<TradeStatus, Vec<i32>> = HashMap::new();
    for chunk in trades.chunks(CHUNK) {
        let states = trades::Entity::find()
            .select_only()
            .columns([
                trades::Column::Id,
                trades::Column::AccountId,
                trades::Column::IbPermId,
                trades::Column::OrderRef,
                trades::Column::TotalQuantity,
                trades::Column::Status,
            ])
            .filter(trades::Column::Id.is_in(chunk.iter().copied()))
            .into_model::<TradeState>()
            .all(txn)
            .await?;
        let local = local_orders(txn, &states).await?;
        for t in states {
            let account = account_codes
                .get(&t.account_id)
                .map(|c| c.as_str())
                .unwrap_or("");
            let known = gateway_orders
                .find(account, &t)
                .cloned()
                .or_else(|| local_order(&local, &t, account));
            if known.is_none() && !knows_orders {
                continue;
            }
            let status = trade_status(t.total_quantity, known.as_ref());
            if status != t.status {
                status_changes.entry(status).or_default().push(t.id);
            }
        }
    }
    let mut changed = Vec::new();
    for (status, ids) in status_changes {
        let set = "status = $1, updated_at = $2";
        update_ids(
            txn,
            "trades",
            set,
            &[status.as_str().into(), now.into()],
            &ids,
        )
        .await?;
        changed.extend(ids);
    }
    Ok(changed)
}

/// The gateway's orders indexed by perm id and by order ref (a trade without a perm id is
/// matched by its order ref); an order with an empty account matches any account.
struct OrderIndex<'a> {
    by_perm: HashMap<i64, Vec<&'a KnownOrder>>,
    by_ref: HashMap<&'a str, Vec<&'a KnownOrder>>,
}

impl<'a> OrderIndex<'a> {
    fn new(orders: &'a [KnownOrder]) -> Self {
        let mut index = OrderIndex {
            by_perm: HashMap::new(),
            by_ref: HashMap::new(),
        };
        for o in orders {
            index.by_perm.entry(o.perm_id).or_default().push(o);
            if let Some(r) = &o.order_ref {
                index.by_ref.entry(r.as_str()).or_default().push(o);
            }
        }
        index
    }

    /// The first of the gateway's orders (in the order given) that is this trade's.
    fn find(&self, account: &str, trade: &TradeState) -> Option<&'a KnownOrder> {
        let candidates = match trade.ib_perm_id.filter(|p| *p > 0) {
            Some(p) => self.by_perm.get(&p),
            None => self.by_ref.get(trade.order_ref.as_deref()?),
        }?;
        candidates
            .iter()
            .copied()
            .find(|o| o.account.is_empty() || o.account == account)
    }
}

#[derive(FromQueryResult)]
struct LocalOrder {
    account_id: i32,
    ib_perm_id: i64,
    quantity: f64,
    status: String,
}

/// Fillbook's own orders of these trades (by perm id), the fallback when the gateway's
/// orders do not name a trade's order: one query per chunk of trades.
async fn local_orders(
    db: &impl ConnectionTrait,
    trades: &[TradeState],
) -> Result<HashMap<(i32, i64), LocalOrder>> {
    let perms: BTreeSet<i64> = trades
        .iter()
        .filter_map(|t| t.ib_perm_id.filter(|p| *p > 0))
        .collect();
    let mut out = HashMap::new();
    if perms.is_empty() {
        return Ok(out);
    }
    let rows = orders::Entity::find()
        .select_only()
        .columns([
            orders::Column::AccountId,
            orders::Column::IbPermId,
            orders::Column::Quantity,
            orders::Column::Status,
        ])
        .filter(orders::Column::IbPermId.is_in(perms))
        .into_model::<LocalOrder>()
        .all(db)
        .await?;
    for o in rows {
        out.entry((o.account_id, o.ib_perm_id)).or_insert(o);
    }
    Ok(out)
}

/// A trade's order from Fillbook's own orders, as the gateway would spell its state.
fn local_order(
    local: &HashMap<(i32, i64), LocalOrder>,
    trade: &TradeState,
    account: &str,
) -> Option<KnownOrder> {
    let p = trade.ib_perm_id.filter(|p| *p > 0)?;
    let o = local.get(&(trade.account_id, p))?;
    Some(KnownOrder {
        account: account.to_string(),
        perm_id: p,
        order_ref: None,
        quantity: o.quantity,
        state: match o.status.as_str() {
            "cancelled" => "Cancelled".into(),
            "filled" => "Filled".into(),
            _ => "Submitted".into(),
        },
    })
}

/// Trade status from its canonical quantity and its order: `filled` when the quantity
/// reaches the order's, `cancelled` when the order ended cancelled short of it, `partial`
/// while short and working, `unknown` when nothing is known about the order.
pub fn trade_status(quantity: f64, order: Option<&KnownOrder>) -> TradeStatus {
    match order {
        None => TradeStatus::Unknown,
        Some(o) if o.quantity > 0.0 && quantity + 1e-9 >= o.quantity => TradeStatus::Filled,
        Some(o) if matches!(o.state.as_str(), "Cancelled" | "ApiCancelled" | "Inactive") => {
            TradeStatus::Cancelled
        }
        Some(o) if o.state == "Filled" => TradeStatus::Filled,
        Some(_) => TradeStatus::Partial,
    }
}
