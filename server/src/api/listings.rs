//! The listing and lookup endpoints: trades, a trade, its executions and history, accounts,
//! positions, orders, jobs.

use super::http::{path_id, ApiQuery, NoParams, Problem};
use crate::db::read as q;
use crate::error::Result;
use crate::state::AppState;
use app::models::*;
use axum::extract::{Path, State};
use axum::Json;

/// The query of a trade's executions: `include=raw` adds the raw records.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionsParams {
    include: Option<Include>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Include {
    Raw,
}

/// List trades, newest last fill first.
#[utoipa::path(get, path = "/trades", tag = "trades", params(TradeQuery),
    responses(
        (status = 200, description = "A page of trades", body = Page<TradeDto>),
        (status = 422, description = "An invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_trades(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<TradeQuery>,
) -> Result<Json<Page<TradeDto>>> {
    Ok(Json(q::list_trades(&s.db, query).await?))
}

/// One trade with its aggregates, match key, fills count and commission total.
#[utoipa::path(get, path = "/trades/{trade_id}", tag = "trades",
    params(("trade_id" = i32, Path, description = "Trade id")),
    responses(
        (status = 200, description = "The trade", body = TradeDto),
        (status = 404, description = "No such trade", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_trade(
    State(s): State<AppState>,
    Path(trade_id): Path<String>,
) -> Result<Json<TradeDto>> {
    let id = path_id(&trade_id, "trade")?;
    Ok(Json(q::get_trade(&s.db, id).await?))
}

/// Every execution of a trade: canonical and superseded revisions, in time order.
#[utoipa::path(get, path = "/trades/{trade_id}/executions", tag = "trades",
    params(
        ("trade_id" = i32, Path, description = "Trade id"),
        ("include" = Option<String>, Query, description = "`raw` to include each broker record"),
    ),
    responses(
        (status = 200, description = "The executions", body = Page<ExecutionDto>),
        (status = 404, description = "No such trade", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_trade_executions(
    State(s): State<AppState>,
    Path(trade_id): Path<String>,
    ApiQuery(params): ApiQuery<ExecutionsParams>,
) -> Result<Json<Page<ExecutionDto>>> {
    let id = path_id(&trade_id, "trade")?;
    let include_raw = params.include.is_some();
    Ok(Json(Page {
        items: q::list_executions(&s.db, id, include_raw).await?,
        next_cursor: None,
    }))
}

/// A trade's history: when each of its fills was first recorded and every change since —
/// `commission`, `corrected`, `flex_ids`, `source_added`, `superseded`, `canonical`,
/// `busted`, `moved` — with the changed fields before and after, what made it, and when.
#[utoipa::path(get, path = "/trades/{trade_id}/history", tag = "trades",
    params(("trade_id" = i32, Path, description = "Trade id")),
    responses(
        (status = 200, description = "The history, oldest first", body = TradeHistoryDto),
        (status = 404, description = "No such trade", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_trade_history(
    State(s): State<AppState>,
    Path(trade_id): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<TradeHistoryDto>> {
    let id = path_id(&trade_id, "trade")?;
    Ok(Json(crate::history::trade_history(&s.db, id).await?))
}

/// All accounts.
#[utoipa::path(get, path = "/accounts", tag = "accounts",
    responses((status = 200, description = "The accounts", body = Page<AccountDto>)))]
pub async fn list_accounts(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Page<AccountDto>>> {
    Ok(Json(q::list_accounts(&s.db).await?))
}

/// All positions, per account and contract.
#[utoipa::path(get, path = "/positions", tag = "positions",
    responses((status = 200, description = "The positions", body = Page<PositionDto>)))]
pub async fn list_positions(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Page<PositionDto>>> {
    Ok(Json(q::list_positions(&s.db).await?))
}

/// Orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderDto>),
        (status = 422, description = "An invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_orders(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<Page<OrderDto>>> {
    Ok(Json(q::list_orders(&s.db, query).await?))
}

/// Jobs, newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobQuery),
    responses(
        (status = 200, description = "A page of jobs", body = Page<JobDto>),
        (status = 422, description = "An invalid filter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_jobs(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> Result<Json<Page<JobDto>>> {
    Ok(Json(q::list_jobs(&s.db, query).await?))
}

/// One job.
#[utoipa::path(get, path = "/jobs/{job_id}", tag = "jobs",
    params(("job_id" = i32, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobDto),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_job(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<JobDto>> {
    let id = path_id(&job_id, "job")?;
    Ok(Json(q::get_job(&s.db, id).await?))
}
