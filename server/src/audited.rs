//! Side effects done on someone's behalf. Each service decides whether its [`Caller`] may
//! (scope or administrator), then stores the effect and its audit entry (who, from where,
//! what) in one transaction, so an effect is never stored without its entry, nor an entry
//! without its effect. The JSON API, the tradebot tools, the pages and the command line all
//! act through these, so no front door can forget a check or the audit log.

use crate::auth::operators::{self, Offboarded, Operator, OperatorInfo};
use crate::auth::{audit, sessions, tokens, Caller, Principal, Scope};
use crate::clock::SystemClock;
use crate::db::read;
use crate::error::{Error, Result};
use crate::jobs::Queue;
use crate::orders::NewOrder;
use app::models::{ApiTokenDto, JobDto, NewOrderDto, OrderCreatedDto, OrderDto};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde_json::{json, Value};

/// Writes the audit entry of what `txn` did and commits both.
async fn commit_with_entry(
    txn: DatabaseTransaction,
    caller: &Caller,
    action: &str,
    target: String,
    detail: Option<Value>,
) -> Result<()> {
    audit::record(&txn, &caller.actor, action, Some(target), detail).await?;
    txn.commit().await?;
    Ok(())
}

/// Enqueues a job of `kind`; `true` when it is new (unique kinds answer the waiting job).
pub async fn enqueue_job(
    db: &DatabaseConnection,
    caller: &Caller,
    kind: &str,
    payload: Value,
) -> Result<(JobDto, bool)> {
    caller.require(Scope::JobsWrite)?;
    let txn = crate::db::begin_write(db).await?;
    let enqueued = crate::work::handlers::enqueue(&txn, kind, payload).await?;
    let job = read::job_dto(enqueued.job);
    let detail = json!({ "type": job.kind, "already_waiting": !enqueued.inserted });
    let target = format!("job {}", job.id);
    commit_with_entry(txn, caller, "job.enqueued", target, Some(detail)).await?;
    Ok((job, enqueued.inserted))
}

/// Puts a finished job back in the queue.
pub async fn retry_job(db: &DatabaseConnection, caller: &Caller, id: i32) -> Result<JobDto> {
    caller.require(Scope::JobsWrite)?;
    let txn = crate::db::begin_write(db).await?;
    let job = read::job_dto(Queue::default().retry(&txn, id).await?);
    let detail = json!({ "type": job.kind });
    commit_with_entry(
        txn,
        caller,
        "job.retried",
        format!("job {id}"),
        Some(detail),
    )
    .await?;
    Ok(job)
}

/// Cancels a waiting or running job.
pub async fn cancel_job(db: &DatabaseConnection, caller: &Caller, id: i32) -> Result<JobDto> {
    caller.require(Scope::JobsWrite)?;
    let txn = crate::db::begin_write(db).await?;
    let job = read::job_dto(Queue::default().cancel(&txn, id).await?);
    let detail = json!({ "type": job.kind });
    commit_with_entry(
        txn,
        caller,
        "job.cancelled",
        format!("job {id}"),
        Some(detail),
    )
    .await?;
    Ok(job)
}

/// Validates an order given in the API's shape and hands out its confirmation token
/// (nothing reaches the broker).
pub async fn prepare_order(
    db: &DatabaseConnection,
    caller: &Caller,
    request: NewOrderDto,
) -> Result<OrderCreatedDto> {
    caller.require(Scope::OrdersWrite)?;
    let order = crate::orders::service::order_from_request(db, request).await?;
    prepare(db, caller, order).await
}

/// [`prepare_order`] for an order already naming its account by code (the command line).
pub async fn prepare(
    db: &DatabaseConnection,
    caller: &Caller,
    order: NewOrder,
) -> Result<OrderCreatedDto> {
    caller.require(Scope::OrdersWrite)?;
    let txn = crate::db::begin_write(db).await?;
    let created = crate::orders::create_order(&txn, &SystemClock, order).await?;
    let o = &created.order;
    let detail = json!({ "symbol": o.symbol, "side": o.side, "quantity": o.quantity, "order_type": o.order_type });
    let target = format!("order {}", o.id);
    commit_with_entry(txn, caller, "order.prepared", target, Some(detail)).await?;
    Ok(created)
}

/// Confirms an order with its token: queues it for submission.
pub async fn confirm_order(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    token: &str,
) -> Result<OrderDto> {
    caller.require(Scope::OrdersWrite)?;
    let txn = crate::db::begin_write(db).await?;
    let order = crate::orders::confirm_order(&txn, &SystemClock, id, token).await?;
    commit_with_entry(txn, caller, "order.confirmed", format!("order {id}"), None).await?;
    Ok(order)
}

/// Sets the zone an account's statements are read in (`None`: the default).
pub async fn set_flex_time_zone(
    db: &DatabaseConnection,
    caller: &Caller,
    account_id: i32,
    zone: Option<String>,
) -> Result<Option<String>> {
    caller.require_admin("set an account's statement time zone")?;
    let txn = crate::db::begin_write(db).await?;
    let zone = crate::db::coverage::set_flex_time_zone(&txn, account_id, zone.as_deref()).await?;
    let detail = json!({ "flex_time_zone": zone });
    let target = format!("account {account_id}");
    commit_with_entry(
        txn,
        caller,
        "account.flex_time_zone_set",
        target,
        Some(detail),
    )
    .await?;
    Ok(zone)
}

/// Creates an API token for the caller; answers its description and the secret, which is
/// shown once and never stored. A token gets no scope its maker does not hold (an operator
/// who is not an administrator cannot hand out `audit:read`); tokens cannot make tokens.
pub async fn create_token(
    db: &DatabaseConnection,
    caller: &Caller,
    name: &str,
    scopes: &[Scope],
) -> Result<(ApiTokenDto, String)> {
    let created_by = match &caller.principal {
        Principal::Operator(user) => user.username.clone(),
        Principal::Local => format!("cli:{}", caller.actor.name),
        Principal::Token(_) => {
            return Err(Error::Forbidden(
                "an API token cannot make API tokens".into(),
            ))
        }
    };
    if let Some(beyond) = scopes.iter().find(|s| !caller.principal.allows(**s)) {
        return Err(Error::Forbidden(format!(
            "you do not hold the `{}` scope, so a token you make cannot have it",
            beyond.as_str()
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let (info, token) = tokens::create(&txn, name, scopes, &created_by).await?;
    let detail = json!({ "token_id": info.id, "scopes": info.scopes });
    commit_with_entry(
        txn,
        caller,
        "token.created",
        info.name.clone(),
        Some(detail),
    )
    .await?;
    Ok((info, token))
}

/// Revokes a token: administrators and the command line any, others only those they made.
pub async fn revoke_token(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
) -> Result<ApiTokenDto> {
    let txn = crate::db::begin_write(db).await?;
    let info = tokens::revoke(&txn, id, caller.token_owner().as_deref()).await?;
    let detail = json!({ "token_id": info.id });
    commit_with_entry(
        txn,
        caller,
        "token.revoked",
        info.name.clone(),
        Some(detail),
    )
    .await?;
    Ok(info)
}

/// Ends the session behind `cookie` (if any) and records the sign-out.
pub async fn sign_out(
    db: &DatabaseConnection,
    caller: &Caller,
    cookie: Option<&str>,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    if let Some(cookie) = cookie {
        sessions::end(&txn, cookie).await?;
    }
    commit_with_entry(txn, caller, "logout", caller.actor.name.clone(), None).await
}

/// Adds an operator.
pub async fn add_operator(
    db: &DatabaseConnection,
    caller: &Caller,
    username: &str,
    password: &str,
    admin: bool,
) -> Result<Operator> {
    caller.require_admin("add operators")?;
    let txn = crate::db::begin_write(db).await?;
    let added = operators::add(&txn, username, password, admin).await?;
    let detail = json!({ "admin": admin });
    commit_with_entry(
        txn,
        caller,
        "user.added",
        added.username.clone(),
        Some(detail),
    )
    .await?;
    Ok(added)
}

/// Sets an operator's password (their sessions end).
pub async fn reset_password(
    db: &DatabaseConnection,
    caller: &Caller,
    username: &str,
    password: &str,
) -> Result<OperatorInfo> {
    caller.require_admin("reset passwords")?;
    let txn = crate::db::begin_write(db).await?;
    let info = operators::reset_password(&txn, username, password).await?;
    commit_with_entry(
        txn,
        caller,
        "user.password_reset",
        info.username.clone(),
        None,
    )
    .await?;
    Ok(info)
}

/// Disables an operator (ending their sessions, revoking the tokens they made) or enables
/// one again.
pub async fn set_operator_disabled(
    db: &DatabaseConnection,
    caller: &Caller,
    username: &str,
    disabled: bool,
) -> Result<(OperatorInfo, Offboarded)> {
    caller.require_admin("disable or enable operators")?;
    let txn = crate::db::begin_write(db).await?;
    let (info, offboarded) = operators::set_disabled(&txn, username, disabled).await?;
    let (action, detail) = if disabled {
        let detail = json!({ "tokens_revoked": offboarded.tokens_revoked });
        ("user.disabled", Some(detail))
    } else {
        ("user.enabled", None)
    };
    commit_with_entry(txn, caller, action, info.username.clone(), detail).await?;
    Ok((info, offboarded))
}
