//! The orders worker ("worker:orders"), run as the `orders.submit` job: claims every
//! queued order in one statement (so no order is handed to two workers), submits each
//! through the gateway with the gateway's next valid order id, records what the gateway
//! said as order events, and after the batch enqueues `positions.sync` and `trades.sync`
//! (unique enqueue). A gateway that cannot be reached puts the claimed orders back in the
//! queue with a visible error and fails the job, which retries with backoff.
//!
//! Orders are placed at most once. IB order ids are not idempotent, so an order whose
//! placement may have reached the gateway without an answer (the connection broke while
//! placing it, or a worker died meanwhile) stays `submitting` with a visible error and the
//! job fails; before anything else, every later run reconciles such orders with the
//! gateway's open and completed orders (same client id and order id, and the order's own
//! reference when it has one). Found: its state is taken from the gateway and it is never
//! placed again. Provably absent (the gateway does not know it): it is placed now, once.
//! While the gateway cannot be asked, the order stays in doubt and is not resent.

use super::{record_event, status};
use crate::clock::{Clock, SystemClock};
use crate::db::entities::{accounts, orders};
use crate::error::Result;
use crate::ib::{Gateway, IbConnectOptions, PlaceOrderOutcome};
use crate::jobs::{kinds, Queue};
use app::models::JobKind;
use chrono::{Duration, Utc};
use ibapi::contracts::Contract;
use ibapi::orders::{Action, Order, OrderData, TimeInForce};
use orders::Column as Col;
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

/// Submits every queued order; the job's result counts what happened.
pub async fn submit_queued(db: &DatabaseConnection, ib: &IbConnectOptions) -> Result<Value> {
    let clock = SystemClock;
    // Queued orders, and claimed ones whose worker died before asking for an order id (no
    // id was recorded, so nothing can have been placed).
    let claimed = orders::Entity::update_many()
        .col_expr(Col::Status, Expr::value(status::SUBMITTING))
        .col_expr(Col::UpdatedAt, Expr::value(clock.now()))
        .filter(
            Condition::any().add(Col::Status.eq(status::QUEUED)).add(
                Condition::all()
                    .add(Col::Status.eq(status::SUBMITTING))
                    .add(Col::IbOrderId.is_null())
                    .add(Col::UpdatedAt.lt(clock.now() - IN_DOUBT_AFTER)),
            ),
        )
        .exec_with_returning(db)
        .await?;
    let claimed_ids: Vec<i32> = claimed.iter().map(|o| o.id).collect();
    let doubtful: Vec<orders::Model> = in_doubt(db, clock.now() - IN_DOUBT_AFTER)
        .await?
        .into_iter()
        .filter(|o| !claimed_ids.contains(&o.id))
        .collect();
    if claimed.is_empty() && doubtful.is_empty() {
        return Ok(json!({ "claimed": 0 }));
    }
    let gateway = match Gateway::connect(ib).await {
        Ok(g) => g,
        Err(e) => {
            let message = e.to_string();
            for order in &claimed {
                requeue(db, order.id, &message).await?;
            }
            return Err(e.into());
        }
    };
    let mut tally = json!({ "claimed": claimed.len(), "submitted": 0, "filled": 0,
                            "partially_filled": 0, "rejected": 0, "unknown": 0,
                            "reconciled": 0, "resent_absent": 0, "requeued": 0 });
    let mut claimed = claimed;
    if !doubtful.is_empty() {
        let mut known = gateway.open_orders().await?;
        known.extend(gateway.completed_orders().await?);
        for order in doubtful {
            match known.iter().find(|g| is_same_order(g, &order)) {
                Some(found) => {
                    settle(db, &order, found).await?;
                    tally["reconciled"] = json!(tally["reconciled"].as_u64().unwrap_or(0) + 1);
                }
                None => {
                    record_event(
                        db,
                        &clock,
                        order.id,
                        status::SUBMITTING,
                        Some(format!(
                            "the gateway knows no order {} of client {}: it was never placed; \
                             placing it now",
                            order.ib_order_id.unwrap_or_default(),
                            order.client_id.unwrap_or_default()
                        )),
                        None,
                    )
                    .await?;
                    tally["resent_absent"] =
                        json!(tally["resent_absent"].as_u64().unwrap_or(0) + 1);
                    claimed.push(order);
                }
            }
        }
    }
    let mut unknown = 0;
    for order in claimed {
        let account = accounts::Entity::find_by_id(order.account_id)
            .one(db)
            .await?
            .map(|a| a.code)
            .unwrap_or_default();
        let outcome = submit_one(db, &gateway, ib.client_id, &order, &account).await;
        let key = match &outcome {
            Ok(s) => *s,
            Err(_) => "unknown",
        };
        // The broker is outside any transaction: the order's outcome is stored by
        // `submit_one` first, then this entry records it (an audit failure fails the job,
        // whose retry reconciles with the gateway and never places the order again).
        crate::auth::audit::record(
            db,
            &app::models::Actor::new("system", "worker:orders"),
            "order.submitted",
            Some(format!("order {}", order.id)),
            Some(json!({ "outcome": key, "account": account })),
        )
        .await?;
        tally[key] = json!(tally[key].as_u64().unwrap_or(0) + 1);
        unknown += usize::from(key == "unknown" || key == REQUEUED);
    }
    gateway.disconnect().await;
    for kind in [JobKind::PositionsSync, JobKind::TradesSync] {
        Queue::default()
            .enqueue(db, kinds::unique_job(kind, json!({})))
            .await?;
    }
    if unknown > 0 {
        // Fail the attempt: the retry reconciles the orders in doubt with the gateway first
        // and places the requeued ones.
        return Err(crate::Error::Internal(format!(
            "{unknown} order(s) not settled: those that may have reached the gateway without \
             an answer are reconciled with the gateway before anything is resent, the others were \
             queued again ({tally})"
        )));
    }
    Ok(tally)
}

/// The outcome of an order sent back to the queue before anything left for the gateway.
const REQUEUED: &str = "requeued";

/// A `submitting` order older than this with no worker's answer is in doubt (its worker
/// died); one that recorded an unknown outcome is in doubt at once.
const IN_DOUBT_AFTER: Duration = Duration::minutes(2);

/// Orders whose placement may have reached the gateway without an answer: `submitting`
/// with an IB order id, and either an error recorded or no change since `stale_before`.
async fn in_doubt(
    db: &DatabaseConnection,
    stale_before: chrono::DateTime<Utc>,
) -> Result<Vec<orders::Model>> {
    Ok(orders::Entity::find()
        .filter(Col::Status.eq(status::SUBMITTING))
        .filter(Col::IbOrderId.is_not_null())
        .filter(
            Condition::any()
                .add(Col::LastError.is_not_null())
                .add(Col::UpdatedAt.lt(stale_before)),
        )
        .order_by_asc(Col::Id)
        .all(db)
        .await?)
}

/// Whether the gateway's order is this one: the same client and order id (and the same
/// reference when the order has one).
fn is_same_order(g: &OrderData, o: &orders::Model) -> bool {
    // Completed orders carry the id in the order only (the envelope says -1).
    let id = i64::from(if g.order.order_id > 0 {
        g.order.order_id
    } else {
        g.order_id
    });
    Some(id) == o.ib_order_id
        && Some(g.order.client_id) == o.client_id
        && o.order_ref
            .as_deref()
            .is_none_or(|r| r.is_empty() || r == g.order.order_ref)
}

/// Takes an in-doubt order's state from the gateway's record of it.
async fn settle(db: &DatabaseConnection, o: &orders::Model, g: &OrderData) -> Result<()> {
    let gateway_status = g.order_state.status.to_string();
    let filled = g.order.filled_quantity;
    let new_status = match gateway_status.as_str() {
        "Filled" => status::FILLED,
        "Cancelled" | "ApiCancelled" => status::CANCELLED,
        "Inactive" => status::REJECTED,
        _ if filled >= o.quantity && o.quantity > 0.0 => status::FILLED,
        _ if filled > 0.0 => status::PARTIALLY_FILLED,
        _ => status::SUBMITTED,
    };
    let now = Utc::now();
    update(
        db,
        orders::ActiveModel {
            id: Unchanged(o.id),
            status: Set(new_status.to_string()),
            ib_perm_id: Set(Some(g.order.perm_id).filter(|p| *p > 0)),
            filled_quantity: Set(filled),
            submitted_at: Set(Some(o.submitted_at.unwrap_or(now))),
            updated_at: Set(now),
            last_error: Set(None),
            ..Default::default()
        },
    )
    .await?;
    record_event(
        db,
        &SystemClock,
        o.id,
        new_status,
        Some(format!(
            "reconciled with the gateway: order {} found ({gateway_status}); not placed again",
            o.ib_order_id.unwrap_or_default()
        )),
        Some(
            json!({ "perm_id": g.order.perm_id, "gateway_status": gateway_status,
                     "filled": filled }),
        ),
    )
    .await?;
    Ok(())
}

/// Writes the columns set in `order` to its row.
async fn update(db: &DatabaseConnection, order: orders::ActiveModel) -> Result<()> {
    orders::Entity::update(order).exec(db).await?;
    Ok(())
}

async fn requeue(db: &DatabaseConnection, id: i32, message: &str) -> Result<()> {
    update(
        db,
        orders::ActiveModel {
            id: Unchanged(id),
            status: Set(status::QUEUED.to_string()),
            last_error: Set(Some(message.to_string())),
            updated_at: Set(Utc::now()),
            ..Default::default()
        },
    )
    .await?;
    record_event(
        db,
        &SystemClock,
        id,
        status::ERROR,
        Some(format!("not submitted, will retry: {message}")),
        None,
    )
    .await?;
    Ok(())
}

fn ib_order(order: &orders::Model, account: &str) -> Order {
    Order {
        action: if order.side == "SELL" {
            Action::Sell
        } else {
            Action::Buy
        },
        total_quantity: order.quantity,
        order_type: order.order_type.clone(),
        limit_price: order.limit_price,
        tif: match order.tif.as_str() {
            "GTC" => TimeInForce::GoodTillCanceled,
            "IOC" => TimeInForce::ImmediateOrCancel,
            _ => TimeInForce::Day,
        },
        order_ref: order.order_ref.clone().unwrap_or_default(),
        account: account.to_string(),
        transmit: true,
        ..Order::default()
    }
}

/// The order status an outcome means.
fn status_of(outcome: &PlaceOrderOutcome, quantity: f64) -> &'static str {
    if outcome.rejection.is_some() || outcome.status.as_deref() == Some("Inactive") {
        status::REJECTED
    } else if outcome.filled >= quantity && quantity > 0.0 {
        status::FILLED
    } else if matches!(
        outcome.status.as_deref(),
        Some("Cancelled" | "ApiCancelled")
    ) {
        status::CANCELLED
    } else if outcome.filled > 0.0 {
        status::PARTIALLY_FILLED
    } else {
        status::SUBMITTED
    }
}

async fn submit_one(
    db: &DatabaseConnection,
    gateway: &Gateway,
    client_id: i32,
    order: &orders::Model,
    account: &str,
) -> Result<&'static str> {
    // The limits again: an administrator may have lowered them since the confirmation.
    if let Err(refusal) = crate::orders::limits::check_stored(db, order).await {
        let message = format!("not placed: {refusal}");
        update(
            db,
            orders::ActiveModel {
                id: Unchanged(order.id),
                status: Set(status::REJECTED.to_string()),
                last_error: Set(Some(message.clone())),
                updated_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await?;
        record_event(
            db,
            &SystemClock,
            order.id,
            status::REJECTED,
            Some(message),
            None,
        )
        .await?;
        return Ok(status::REJECTED);
    }
    // Nothing has left for the gateway until an order id is recorded: a failure before that
    // queues the order again.
    let ib_order_id = match gateway.next_order_id().await {
        Ok(id) => id,
        Err(e) => {
            requeue(db, order.id, &format!("not placed: {e}")).await?;
            return Ok(REQUEUED);
        }
    };
    let result = async {
        // Record the id before placing: a crash after this leaves a visible trace.
        update(
            db,
            orders::ActiveModel {
                id: Unchanged(order.id),
                ib_order_id: Set(Some(i64::from(ib_order_id))),
                client_id: Set(Some(client_id)),
                updated_at: Set(Utc::now()),
                ..Default::default()
            },
        )
        .await?;
        let contract = Contract::stock(order.symbol.as_str())
            .on_exchange(order.exchange.as_str())
            .in_currency(order.currency.as_str())
            .build();
        Ok::<_, crate::Error>(
            gateway
                .place_order(ib_order_id, &contract, &ib_order(order, account))
                .await?,
        )
    }
    .await;
    let now = Utc::now();
    match result {
        Ok(outcome) => {
            let new_status = status_of(&outcome, order.quantity);
            let message = match &outcome.rejection {
                Some(r) => format!("rejected by the gateway: {} (code {})", r.message, r.code),
                None => format!(
                    "gateway status {}; filled {} of {}",
                    outcome.status.as_deref().unwrap_or("none"),
                    outcome.filled,
                    order.quantity
                ),
            };
            update(
                db,
                orders::ActiveModel {
                    id: Unchanged(order.id),
                    status: Set(new_status.to_string()),
                    ib_perm_id: Set(Some(outcome.perm_id).filter(|p| *p > 0)),
                    filled_quantity: Set(outcome.filled),
                    avg_fill_price: Set(outcome.avg_fill_price),
                    submitted_at: Set(Some(now)),
                    updated_at: Set(now),
                    last_error: Set(outcome.rejection.as_ref().map(|_| message.clone())),
                    ..Default::default()
                },
            )
            .await?;
            let payload = json!({
                "ib_order_id": outcome.order_id,
                "perm_id": outcome.perm_id,
                "gateway_status": outcome.status,
                "filled": outcome.filled,
                "remaining": outcome.remaining,
                "avg_fill_price": outcome.avg_fill_price,
                "fills": outcome.executions.iter().map(|e| &e.execution.execution_id).collect::<Vec<_>>(),
            });
            record_event(
                db,
                &SystemClock,
                order.id,
                new_status,
                Some(message),
                Some(payload),
            )
            .await?;
            Ok(new_status)
        }
        Err(e) => {
            let message = format!(
                "submission outcome unknown: the order is reconciled with the gateway before \
                 anything is resent: {e}"
            );
            update(
                db,
                orders::ActiveModel {
                    id: Unchanged(order.id),
                    last_error: Set(Some(message.clone())),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            record_event(
                db,
                &SystemClock,
                order.id,
                status::ERROR,
                Some(message),
                None,
            )
            .await?;
            Err(e)
        }
    }
}
