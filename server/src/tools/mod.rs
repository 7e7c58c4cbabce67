//! Tradebot tools: one registry of JSON-Schema'd tools, each read-only or side-effect,
//! served over HTTP (`/api/v1/tools`) and MCP (`/mcp`, `fillbook mcp`). Every tool calls
//! the same service functions as the JSON API; order tools go through the confirmation guard.

pub mod http;
pub mod mcp;

use crate::auth::{Principal, Scope};
use crate::db::read;
use crate::error::{Error, Result};
use app::models::{Actor, NewOrderDto, TradeQuery};
use schemars::JsonSchema;
use sea_orm::DatabaseConnection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What tools need to do their work: the database, and who is calling (each tool checks
/// its scope; side effects are audited as this actor).
#[derive(Clone)]
pub struct ToolContext {
    pub db: DatabaseConnection,
    pub principal: Principal,
    pub actor: Actor,
}

/// A tool's public description.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ToolInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// `true` for tools that only read; `false` for tools with side effects.
    pub read_only: bool,
    /// The API token scope a caller needs.
    #[schema(value_type = String)]
    pub scope: Scope,
    /// JSON Schema of the tool's arguments.
    #[schema(value_type = Object)]
    pub input_schema: Value,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TradeIdArgs {
    /// The trade id (from list_trades).
    trade_id: i32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExecutionsArgs {
    /// The trade id (from list_trades).
    trade_id: i32,
    /// Include each execution's raw broker record (large).
    #[serde(default)]
    include_raw: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReconciliationArgs {
    /// Only this account (IB code).
    #[serde(default)]
    account: Option<String>,
    /// A fill without commission this many hours after execution is a finding (1-2160,
    /// default 24).
    #[serde(default)]
    commission_hours: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct JobIdArgs {
    /// The job id (from enqueue_trades_sync_job).
    job_id: i32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SubmitArgs {
    /// The order id from prepare_order.
    order_id: i32,
    /// The confirmation_token from prepare_order (single use, expires).
    confirmation_token: String,
}

fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| serde_json::json!({}))
}

/// Every tool, in a stable order.
pub fn catalog() -> Vec<ToolInfo> {
    vec![
        ToolInfo {
            name: "list_trades",
            description: "List parent trades (aggregates of canonical fills), newest last fill first. Filter by account_id or account (IB code), status (partial|filled|cancelled|unknown), symbol, since/until (RFC 3339, on the last fill); page with limit (1-500) and cursor (next_cursor of the previous page).",
            read_only: true,
            scope: Scope::TradesRead,
            input_schema: schema_of::<TradeQuery>(),
        },
        ToolInfo {
            name: "get_trade",
            description: "One trade with its aggregates, match key, fills count and commission total.",
            read_only: true,
            scope: Scope::TradesRead,
            input_schema: schema_of::<TradeIdArgs>(),
        },
        ToolInfo {
            name: "list_executions",
            description: "Every execution of a trade, canonical and superseded revisions, with is_canonical, ib_exec_id, exec_id_base, exec_revision, broker ids and commission.",
            read_only: true,
            scope: Scope::TradesRead,
            input_schema: schema_of::<ExecutionsArgs>(),
        },
        ToolInfo {
            name: "list_positions",
            description: "Positions per account and contract, as last fetched from the gateway.",
            read_only: true,
            scope: Scope::PositionsRead,
            input_schema: schema_of::<NoArgs>(),
        },
        ToolInfo {
            name: "get_reconciliation",
            description: "Check the ledger: per account the gateway's positions against the positions the canonical fills imply since the baseline, and findings with stable codes (position_mismatch, positions_unknown, commission_missing, order_unknown, status_mismatch, coverage_gap, no_baseline), severity and links, most severe first.",
            read_only: true,
            scope: Scope::TradesRead,
            input_schema: schema_of::<ReconciliationArgs>(),
        },
        ToolInfo {
            name: "get_job",
            description: "One background job: type, state, attempts, payload, result (the sync metrics for trades.sync) or error.",
            read_only: true,
            scope: Scope::TradesRead,
            input_schema: schema_of::<JobIdArgs>(),
        },
        ToolInfo {
            name: "enqueue_trades_sync_job",
            description: "Queue a trades.sync job (pull executions from IB and update trades). If one is already waiting, that job is returned instead of a new one. Poll get_job for its result metrics.",
            read_only: false,
            scope: Scope::JobsWrite,
            input_schema: schema_of::<crate::jobs::kinds::SyncPayload>(),
        },
        ToolInfo {
            name: "prepare_order",
            description: "Validate an order and get its summary plus a single-use confirmation_token (expires in 10 minutes). Nothing is sent to the broker until submit_order is called with that token.",
            read_only: false,
            scope: Scope::OrdersWrite,
            input_schema: schema_of::<NewOrderDto>(),
        },
        ToolInfo {
            name: "submit_order",
            description: "Submit an order prepared with prepare_order, using its confirmation_token (the order-submit confirmation guard). Refused for a wrong, expired or already used token.",
            read_only: false,
            scope: Scope::OrdersWrite,
            input_schema: schema_of::<SubmitArgs>(),
        },
    ]
}

/// Decodes tool arguments, naming the offending field on failure.
fn args<T: DeserializeOwned>(value: Value) -> Result<T> {
    crate::error::decode_json(value, None)
}

fn json<T: Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("cannot encode result: {e}")))
}

/// Runs tool `name` with `arguments`, if the caller has the tool's scope.
pub async fn call(ctx: &ToolContext, name: &str, arguments: Value) -> Result<Value> {
    let tool = catalog()
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| Error::NotFound(format!("tool `{name}`")))?;
    ctx.principal.require(tool.scope)?;
    match name {
        "list_trades" => {
            let query: TradeQuery = args(arguments)?;
            json(read::list_trades(&ctx.db, query).await?)
        }
        "get_trade" => {
            let a: TradeIdArgs = args(arguments)?;
            json(read::get_trade(&ctx.db, a.trade_id).await?)
        }
        "list_executions" => {
            let a: ExecutionsArgs = args(arguments)?;
            json(read::list_executions(&ctx.db, a.trade_id, a.include_raw).await?)
        }
        "list_positions" => {
            let _: NoArgs = args(arguments)?;
            json(read::list_positions(&ctx.db).await?)
        }
        "get_reconciliation" => {
            let a: ReconciliationArgs = args(arguments)?;
            let opts = crate::reconcile::ReconcileOptions::new(a.account, a.commission_hours)?;
            json(crate::reconcile::reconcile(&ctx.db, &opts).await?)
        }
        "get_job" => {
            let a: JobIdArgs = args(arguments)?;
            json(read::get_job(&ctx.db, a.job_id).await?)
        }
        "enqueue_trades_sync_job" => {
            let overrides: crate::jobs::kinds::SyncPayload = args(arguments)?;
            let payload = json(overrides)?;
            let (job, _) = crate::audited::enqueue_job(
                &ctx.db,
                &ctx.actor,
                crate::jobs::kinds::TRADES_SYNC,
                payload,
            )
            .await?;
            json(job)
        }
        "prepare_order" => {
            let request: NewOrderDto = args(arguments)?;
            json(crate::audited::prepare_order(&ctx.db, &ctx.actor, request).await?)
        }
        "submit_order" => {
            let a: SubmitArgs = args(arguments)?;
            json(
                crate::audited::confirm_order(
                    &ctx.db,
                    &ctx.actor,
                    a.order_id,
                    &a.confirmation_token,
                )
                .await?,
            )
        }
        other => Err(Error::NotFound(format!("tool `{other}`"))),
    }
}
