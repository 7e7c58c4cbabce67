//! Creating and confirming orders, and their event history.

use crate::clock::Clock;
use crate::db::entities::{accounts, order_events, orders};
use crate::db::read::order_dto;
use crate::error::{Error, Result};
use crate::orders::guard::{self, NewOrder, TOKEN_TTL};
use crate::orders::status;
use app::models::{JobKind, OrderDto};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::Value;

/// Security type, exchange and currency of orders created here (US stocks via SMART).
pub const DEFAULT_SEC_TYPE: &str = "STK";
pub const DEFAULT_EXCHANGE: &str = "SMART";
pub const DEFAULT_CURRENCY: &str = "USD";

/// A created order awaiting confirmation: its summary and the token that confirms it
/// (shown only here; only its hash is stored).
pub type CreatedOrder = app::models::OrderCreatedDto;

/// Appends an event to an order's history.
pub async fn record_event(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    order_id: i32,
    status: &str,
    message: Option<String>,
    payload: Option<Value>,
) -> Result<order_events::Model> {
    Ok(order_events::ActiveModel {
        order_id: Set(order_id),
        status: Set(status.to_string()),
        message: Set(message),
        payload: Set(payload),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// An order's events, oldest first.
pub async fn events(db: &impl ConnectionTrait, order_id: i32) -> Result<Vec<order_events::Model>> {
    Ok(order_events::Entity::find()
        .filter(order_events::Column::OrderId.eq(order_id))
        .order_by_asc(order_events::Column::Id)
        .all(db)
        .await?)
}

/// Validates `new` and stores it as `pending_confirmation` with a fresh token.
pub async fn create_order(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    new: NewOrder,
) -> Result<CreatedOrder> {
    let valid = guard::validate(&new)?;
    let account = accounts::Entity::find()
        .filter(accounts::Column::Code.eq(valid.account_code.clone()))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "account",
                format!("unknown account `{}`", valid.account_code),
            )
        })?;
    let limits = crate::orders::limits::check(
        db,
        account.id,
        &crate::orders::limits::OrderToCheck {
            symbol: &valid.symbol,
            sec_type: DEFAULT_SEC_TYPE,
            quantity: valid.quantity,
            limit_price: valid.limit_price,
        },
    )
    .await?;
    let token = guard::new_token();
    let now = clock.now();
    let expires_at = now + TOKEN_TTL;
    let txn = crate::db::begin_write(db).await?;
    let order = orders::ActiveModel {
        account_id: Set(account.id),
        symbol: Set(valid.symbol),
        sec_type: Set(DEFAULT_SEC_TYPE.into()),
        exchange: Set(DEFAULT_EXCHANGE.into()),
        currency: Set(DEFAULT_CURRENCY.into()),
        side: Set(valid.side.into()),
        order_type: Set(valid.order_type.into()),
        quantity: Set(valid.quantity),
        limit_price: Set(valid.limit_price),
        tif: Set(valid.tif.into()),
        order_ref: Set(valid.order_ref),
        status: Set(status::PENDING_CONFIRMATION.into()),
        filled_quantity: Set(0.0),
        confirmation_token_hash: Set(Some(guard::hash_token(&token))),
        confirmation_expires_at: Set(Some(expires_at)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    record_event(
        &txn,
        clock,
        order.id,
        status::PENDING_CONFIRMATION,
        Some(format!(
            "created; confirm before {}",
            expires_at.to_rfc3339()
        )),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedOrder {
        order: order_dto(order, account.code),
        confirmation_token: token,
        expires_at,
        limits,
    })
}

/// Confirms order `id` with `token`, once: the order becomes `queued`. A wrong, expired or
/// already used token is refused, each with its own message.
pub async fn confirm_order(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    id: i32,
    token: &str,
) -> Result<OrderDto> {
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    use orders::Column as C;
    let confirmed = orders::Entity::update_many()
        .col_expr(C::Status, Expr::value(status::QUEUED))
        .col_expr(C::ConfirmedAt, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(C::Status.eq(status::PENDING_CONFIRMATION))
        .filter(C::ConfirmationTokenHash.eq(guard::hash_token(token)))
        .filter(C::ConfirmedAt.is_null())
        .filter(C::ConfirmationExpiresAt.gt(now))
        .exec_with_returning(&txn)
        .await?
        .pop();
    let Some(order) = confirmed else {
        drop(txn);
        return Err(refusal(db, id, token, now).await);
    };
    record_event(
        &txn,
        clock,
        order.id,
        status::QUEUED,
        Some("confirmed".into()),
        None,
    )
    .await?;
    // Queue the orders worker in the same transaction: a confirmed order always has one.
    let job = crate::jobs::kinds::unique_job(JobKind::OrdersSubmit, serde_json::json!({}));
    crate::jobs::Queue::default().enqueue(&txn, job).await?;
    txn.commit().await?;
    let code = accounts::Entity::find_by_id(order.account_id)
        .one(db)
        .await?
        .map_or_else(|| order.account_id.to_string(), |a| a.code);
    Ok(order_dto(order, code))
}

/// Why a confirmation was refused.
async fn refusal(db: &impl ConnectionTrait, id: i32, token: &str, now: DateTime<Utc>) -> Error {
    let order = match orders::Entity::find_by_id(id).one(db).await {
        Ok(Some(o)) => o,
        Ok(None) => return Error::NotFound(format!("order {id}")),
        Err(e) => return e.into(),
    };
    if let Some(at) = order.confirmed_at {
        return Error::Conflict(format!(
            "order {id} was already confirmed at {}: a confirmation token works only once",
            at.to_rfc3339()
        ));
    }
    if order.status != status::PENDING_CONFIRMATION {
        return Error::Conflict(format!(
            "order {id} is {} and cannot be confirmed",
            order.status
        ));
    }
    if order.confirmation_token_hash.as_deref() != Some(guard::hash_token(token).as_str()) {
        return Error::invalid(
            "token",
            format!("the confirmation token does not match order {id}"),
        );
    }
    match order.confirmation_expires_at {
        Some(at) if at <= now => Error::invalid(
            "token",
            format!(
                "the confirmation token of order {id} expired at {}; create the order again",
                at.to_rfc3339()
            ),
        ),
        _ => Error::Conflict(format!("order {id} could not be confirmed; try again")),
    }
}

/// Creates an order from the API's request shape (see [`order_from_request`]).
pub async fn create_from_request(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    request: app::models::NewOrderDto,
) -> Result<CreatedOrder> {
    let new = order_from_request(db, request).await?;
    create_order(db, clock, new).await
}

/// The order the API's request shape describes (account by numeric id). Only SMART-routed
/// USD stock orders are supported; other `sec_type`/`exchange`/`currency` values are refused.
pub async fn order_from_request(
    db: &impl ConnectionTrait,
    request: app::models::NewOrderDto,
) -> Result<NewOrder> {
    for (field, value, only) in [
        ("sec_type", &request.sec_type, DEFAULT_SEC_TYPE),
        ("exchange", &request.exchange, DEFAULT_EXCHANGE),
        ("currency", &request.currency, DEFAULT_CURRENCY),
    ] {
        if let Some(v) = value {
            if !v.trim().eq_ignore_ascii_case(only) {
                return Err(Error::invalid(
                    field,
                    format!("{field} must be {only} (the only one Fillbook places), got `{v}`"),
                ));
            }
        }
    }
    let account = accounts::Entity::find_by_id(request.account_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "account_id",
                format!("unknown account id {}", request.account_id),
            )
        })?;
    Ok(NewOrder {
        account_code: account.code,
        symbol: request.symbol,
        side: request.side,
        quantity: request.quantity,
        order_type: request.order_type,
        limit_price: request.limit_price,
        tif: request.tif.unwrap_or_else(|| "DAY".into()),
        order_ref: request.order_ref,
    })
}

/// An order with its events and the jobs queued since it was created.
pub async fn detail(db: &impl ConnectionTrait, id: i32) -> Result<app::models::OrderDetailDto> {
    use crate::db::entities::jobs;
    let order = orders::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))?;
    let code = accounts::Entity::find_by_id(order.account_id)
        .one(db)
        .await?
        .map_or_else(|| order.account_id.to_string(), |a| a.code);
    let since = order.confirmed_at.unwrap_or(order.created_at);
    let events = events(db, id)
        .await?
        .into_iter()
        .map(|e| app::models::OrderEventDto {
            id: e.id,
            status: e.status,
            message: e.message,
            payload: e.payload,
            created_at: e.created_at,
        })
        .collect();
    let jobs = jobs::Entity::find()
        .filter(jobs::Column::CreatedAt.gte(since))
        .filter(jobs::Column::Kind.is_in([
            JobKind::OrdersSubmit.as_str(),
            JobKind::PositionsSync.as_str(),
            JobKind::TradesSync.as_str(),
        ]))
        .order_by_asc(jobs::Column::Id)
        .limit(Some(20))
        .all(db)
        .await?
        .into_iter()
        .map(crate::db::read::job_dto)
        .collect();
    // The limits it will be checked against when it is sent (or why it would be refused).
    let limits = if order.status == status::PENDING_CONFIRMATION {
        match crate::orders::limits::check_stored(db, &order).await {
            Ok(shown) => shown,
            Err(Error::Invalid { message, .. }) => vec![format!("refused: {message}")],
            Err(e) => return Err(e),
        }
    } else {
        Vec::new()
    };
    Ok(app::models::OrderDetailDto {
        order: order_dto(order, code),
        events,
        jobs,
        limits,
    })
}
