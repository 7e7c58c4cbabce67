//! Tradebot tools: one registry of JSON-Schema'd tools, each read-only or side-effect,
//! served over HTTP (`/api/v1/tools`) and MCP (`/mcp`, `fillbook mcp`). Every tool calls
//! the same service functions as the JSON API; order tools go through the confirmation guard.

pub mod mcp;

use crate::auth::{Caller, Scope};
use crate::db::read;
use crate::error::{Error, Result};
use crate::jobs::kinds::SyncPayload;
use app::models::{JobKind, NewOrderDto, TradeQuery};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use sea_orm::DatabaseConnection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::sync::{Arc, LazyLock};

/// What tools need to do their work: the database, and who is calling (each tool checks
/// its scope; side effects are audited as this actor).
#[derive(Clone)]
pub struct ToolContext {
    pub db: DatabaseConnection,
    pub caller: Caller,
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

/// A tool: its public description and what runs it (its arguments decoded into the type
/// whose JSON Schema the description publishes).
struct Tool {
    info: ToolInfo,
    run: Handler,
}

type Handler = Box<dyn Fn(ToolContext, Value) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// One row of the table: `handler` takes the decoded arguments `A`.
fn tool<A, F, Fut, R>(
    name: &'static str,
    description: &'static str,
    read_only: bool,
    scope: Scope,
    handler: F,
) -> Tool
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
    R: Serialize,
{
    let handler = Arc::new(handler);
    Tool {
        info: ToolInfo {
            name,
            description,
            read_only,
            scope,
            input_schema: schema_of::<A>(),
        },
        run: Box::new(move |ctx, arguments| {
            let handler = handler.clone();
            Box::pin(async move { json(handler(ctx, args::<A>(arguments)?).await?) })
        }),
    }
}

/// Every tool, in a stable order: the one table the catalog and the dispatch read.
fn tools() -> &'static [Tool] {
    static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
        vec![
        tool(
            "list_trades",
            "List parent trades (aggregates of canonical fills), newest last fill first. Filter by account_id or account (IB code), status (partial|filled|cancelled|unknown), symbol, since/until (RFC 3339, on the last fill); page with limit (1-500) and cursor (next_cursor of the previous page).",
            true,
            Scope::TradesRead,
            |ctx, query: TradeQuery| async move { read::list_trades(&ctx.db, query).await },
        ),
        tool(
            "get_trade",
            "One trade with its aggregates, match key, fills count and commission total.",
            true,
            Scope::TradesRead,
            |ctx, a: TradeIdArgs| async move { read::get_trade(&ctx.db, a.trade_id).await },
        ),
        tool(
            "list_executions",
            "Every execution of a trade, canonical and superseded revisions, with is_canonical, ib_exec_id, exec_id_base, exec_revision, broker ids and commission.",
            true,
            Scope::TradesRead,
            |ctx, a: ExecutionsArgs| async move {
                read::list_executions(&ctx.db, a.trade_id, a.include_raw).await
            },
        ),
        tool(
            "list_positions",
            "Positions per account and contract, as last fetched from the gateway.",
            true,
            Scope::PositionsRead,
            |ctx, _: NoArgs| async move { read::list_positions(&ctx.db).await },
        ),
        tool(
            "get_reconciliation",
            "Check the ledger: per account the gateway's positions against the positions the canonical fills imply since the baseline, and findings with stable codes (position_mismatch, positions_unknown, commission_missing, order_unknown, status_mismatch, coverage_gap, no_baseline), severity and links, most severe first.",
            true,
            Scope::TradesRead,
            |ctx, a: ReconciliationArgs| async move {
                let opts = crate::reconcile::ReconcileOptions::new(a.account, a.commission_hours)?;
                crate::reconcile::reconcile(&ctx.db, &opts).await
            },
        ),
        tool(
            "get_job",
            "One background job: type, state, attempts, payload, result (the sync metrics for trades.sync) or error.",
            true,
            Scope::TradesRead,
            |ctx, a: JobIdArgs| async move { read::get_job(&ctx.db, a.job_id).await },
        ),
        tool(
            "enqueue_trades_sync_job",
            "Queue a trades.sync job (pull executions from IB and update trades). If one is already waiting, that job is returned instead of a new one. Poll get_job for its result metrics.",
            false,
            Scope::JobsWrite,
            |ctx, payload: SyncPayload| async move {
                let payload = json(payload)?;
                let (job, _) =
                    crate::audited::enqueue_job(&ctx.db, &ctx.caller, JobKind::TradesSync.as_str(), payload)
                        .await?;
                Ok(job)
            },
        ),
        tool(
            "prepare_order",
            "Validate an order and get its summary plus a single-use confirmation_token (expires in 10 minutes). Nothing is sent to the broker until submit_order is called with that token.",
            false,
            Scope::OrdersWrite,
            |ctx, request: NewOrderDto| async move {
                crate::audited::prepare_order(&ctx.db, &ctx.caller, request).await
            },
        ),
        tool(
            "submit_order",
            "Submit an order prepared with prepare_order, using its confirmation_token (the order-submit confirmation guard). Refused for a wrong, expired or already used token.",
            false,
            Scope::OrdersWrite,
            |ctx, a: SubmitArgs| async move {
                crate::audited::confirm_order(&ctx.db, &ctx.caller, a.order_id, &a.confirmation_token)
                    .await
            },
        ),
        ]
    });
    &TOOLS
}

/// Every tool's description, in a stable order.
pub fn catalog() -> Vec<ToolInfo> {
    tools().iter().map(|t| t.info.clone()).collect()
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
    let tool = tools()
        .iter()
        .find(|t| t.info.name == name)
        .ok_or_else(|| Error::NotFound(format!("tool `{name}`")))?;
    ctx.caller.require(tool.info.scope)?;
    (tool.run)(ctx.clone(), arguments).await
}
