//! Side effects done on someone's behalf: each service call followed by its audit entry
//! (who, from where, what). The JSON API, the tradebot tools and the pages all act through
//! these, so no front door can forget the audit log.

use crate::auth::audit;
use crate::clock::SystemClock;
use crate::db::read;
use crate::error::Result;
use crate::jobs::Queue;
use app::models::{Actor, JobDto, NewOrderDto, OrderCreatedDto, OrderDto};
use sea_orm::DatabaseConnection;
use serde_json::json;

/// Enqueues a job of `kind`; `true` when it is new (unique kinds answer the waiting job).
pub async fn enqueue_job(
    db: &DatabaseConnection,
    actor: &Actor,
    kind: &str,
    payload: serde_json::Value,
) -> Result<(JobDto, bool)> {
    let enqueued = crate::jobs::enqueue_kind(db, kind, payload).await?;
    let job = read::job_dto(enqueued.job);
    let detail = json!({ "type": job.kind, "already_waiting": !enqueued.inserted });
    audit::record(
        db,
        actor,
        "job.enqueued",
        Some(format!("job {}", job.id)),
        Some(detail),
    )
    .await?;
    Ok((job, enqueued.inserted))
}

/// Puts a finished job back in the queue.
pub async fn retry_job(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<JobDto> {
    let job = read::job_dto(Queue::default().retry(db, id).await?);
    audit::record(
        db,
        actor,
        "job.retried",
        Some(format!("job {id}")),
        Some(json!({ "type": job.kind })),
    )
    .await?;
    Ok(job)
}

/// Cancels a waiting or running job.
pub async fn cancel_job(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<JobDto> {
    let job = read::job_dto(Queue::default().cancel(db, id).await?);
    audit::record(
        db,
        actor,
        "job.cancelled",
        Some(format!("job {id}")),
        Some(json!({ "type": job.kind })),
    )
    .await?;
    Ok(job)
}

/// Validates an order and hands out its confirmation token (nothing reaches the broker).
pub async fn prepare_order(
    db: &DatabaseConnection,
    actor: &Actor,
    request: NewOrderDto,
) -> Result<OrderCreatedDto> {
    let created = crate::orders::service::create_from_request(db, &SystemClock, request).await?;
    let o = &created.order;
    let detail = json!({ "symbol": o.symbol, "side": o.side, "quantity": o.quantity, "order_type": o.order_type });
    audit::record(
        db,
        actor,
        "order.prepared",
        Some(format!("order {}", o.id)),
        Some(detail),
    )
    .await?;
    Ok(created)
}

/// Confirms an order with its token: queues it for submission.
pub async fn confirm_order(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    token: &str,
) -> Result<OrderDto> {
    let order = crate::orders::confirm_order(db, &SystemClock, id, token).await?;
    audit::record(
        db,
        actor,
        "order.confirmed",
        Some(format!("order {id}")),
        None,
    )
    .await?;
    Ok(order)
}

/// Sets the zone an account's statements are read in (`None`: the default), with its audit
/// entry, in one transaction.
pub async fn set_flex_time_zone(
    db: &DatabaseConnection,
    actor: &Actor,
    account_id: i32,
    zone: Option<String>,
) -> Result<Option<String>> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    let zone = crate::db::coverage::set_flex_time_zone(&txn, account_id, zone.as_deref()).await?;
    audit::record(
        &txn,
        actor,
        "account.flex_time_zone_set",
        Some(format!("account {account_id}")),
        Some(json!({ "flex_time_zone": zone })),
    )
    .await?;
    txn.commit().await?;
    Ok(zone)
}
