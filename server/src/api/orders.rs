//! Order endpoints with side effects, behind the confirmation guard: create (validates,
//! answers a summary and a single-use token), confirm (queues the order for the orders
//! worker), and one order with its timeline.

use super::http::ApiJson;
use super::http::{path_id, Problem};
use crate::auth::Caller;
use crate::error::Result;
use crate::state::AppState;
use app::models::{ConfirmOrderDto, NewOrderDto, OrderCreatedDto, OrderDetailDto, OrderDto};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;

/// Validate an order and get its confirmation token (nothing is sent to the gateway).
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = NewOrderDto,
    responses(
        (status = 201, description = "Created, awaiting confirmation", body = OrderCreatedDto),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_order(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewOrderDto>,
) -> Result<Response> {
    let created = crate::audited::prepare_order(&s.db, &caller, body).await?;
    let location = format!("/api/v1/orders/{}", created.order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

/// Confirm an order with its token: it is queued for submission. A token works once.
#[utoipa::path(post, path = "/orders/{order_id}/confirm", tag = "orders",
    params(("order_id" = i32, Path, description = "Order id")),
    request_body = ConfirmOrderDto,
    responses(
        (status = 200, description = "Queued for submission", body = OrderDto),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong, expired or used token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_order(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(order_id): Path<String>,
    ApiJson(body): ApiJson<ConfirmOrderDto>,
) -> Result<Json<OrderDto>> {
    let id = path_id(&order_id, "order")?;
    Ok(Json(
        crate::audited::confirm_order(&s.db, &caller, id, &body.confirmation_token).await?,
    ))
}

/// One order with its status timeline and the jobs queued since.
#[utoipa::path(get, path = "/orders/{order_id}", tag = "orders",
    params(("order_id" = i32, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderDetailDto),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_order(
    State(s): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<OrderDetailDto>> {
    let id = path_id(&order_id, "order")?;
    Ok(Json(crate::orders::service::detail(&s.db, id).await?))
}
