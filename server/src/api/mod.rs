//! JSON API v1 (`/api/v1`): handlers, request parsing with field-named errors, and the
//! OpenAPI 3.1 document generated from the handler and DTO types (utoipa).

pub mod audit;
pub mod docs;
pub mod exports;
pub mod extract;
pub mod imports;
pub mod jobs;
pub mod orders;
pub mod params;
pub mod read;
pub mod reconciliation;
pub mod tools;

use crate::state::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    servers((url = "/api/v1", description = "This server")),
    info(
        title = "Fillbook API",
        description = "An exact ledger of Interactive Brokers fills: trades, executions (with correction revisions), accounts, positions, orders and jobs. Errors are RFC 9457 problem+json with a stable `code`.",
    ),
    tags(
        (name = "trades", description = "Parent trades and their executions"),
        (name = "accounts", description = "IB accounts"),
        (name = "positions", description = "Positions as last fetched"),
        (name = "orders", description = "Orders placed through Fillbook"),
        (name = "jobs", description = "Background jobs such as trades.sync"),
        (name = "tools", description = "Tradebot tools (also served over MCP at /mcp)"),
        (name = "audit", description = "Who did what, when, from where"),
        (name = "imports", description = "Flex statement imports"),
    ),
    security(("bearer" = [])),
    // Referenced by the jobs list's `type` filter (query parameters do not register the
    // schemas they name).
    components(schemas(app::models::JobKind))
)]
struct ApiDoc;

/// Documents the security scheme and the error answers every operation can give, in one
/// place: 401 without credentials, 403 without the scope, 422 for invalid input (query,
/// path or body), and for operations with a body also 400 (malformed JSON) and 415 (not
/// JSON).
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "An API token (`fillbook tokens create`); scopes trades:read, \
                             positions:read, jobs:write, orders:write, audit:read, imports:write",
                        ))
                        .build(),
                ),
            );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                responses.entry("401".into()).or_insert_with(|| {
                    problem("No valid credentials: send `Authorization: Bearer <API token>`").into()
                });
                responses.entry("403".into()).or_insert_with(|| {
                    problem("The token lacks the scope this endpoint needs").into()
                });
                responses
                    .entry("422".into())
                    .or_insert_with(|| problem("Invalid input; `field` names it").into());
                if op.request_body.is_some() {
                    responses
                        .entry("400".into())
                        .or_insert_with(|| problem("The body is not valid JSON").into());
                    responses
                        .entry("415".into())
                        .or_insert_with(|| problem("The body is not `application/json`").into());
                }
            }
        }
    }
}

/// The `/api/v1` routes and their finished OpenAPI document.
pub fn router_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::Modify;
    let (routes, mut document) = router().split_for_parts();
    ProblemResponses.modify(&mut document);
    (routes, document)
}

/// The `/api/v1` routes together with their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(read::list_trades))
        .routes(routes!(read::get_trade))
        .routes(routes!(read::list_trade_executions))
        .routes(routes!(read::get_trade_history))
        .routes(routes!(read::list_accounts))
        .routes(routes!(read::list_positions))
        .routes(routes!(read::list_orders))
        .routes(routes!(read::list_jobs))
        .routes(routes!(read::get_job))
        .routes(routes!(orders::create_order))
        .routes(routes!(orders::confirm_order))
        .routes(routes!(orders::get_order))
        .routes(routes!(jobs::create_job))
        .routes(routes!(jobs::retry_job))
        .routes(routes!(jobs::cancel_job))
        .routes(routes!(jobs::list_schedules))
        .routes(routes!(jobs::list_live_sessions))
        .routes(routes!(tools::list_tools))
        .routes(routes!(tools::call_tool))
        .routes(routes!(audit::list_audit))
        .routes(routes!(imports::create_flex_import))
        .routes(routes!(imports::list_imports))
        .routes(routes!(imports::get_import))
        .routes(routes!(imports::get_coverage))
        .routes(routes!(exports::export))
        .routes(routes!(reconciliation::get_reconciliation))
}

#[cfg(test)]
mod tests {
    use app::models::{JobKind, JobState, TradeStatus};

    /// The document lists exactly the values the API writes, in the case it writes them.
    #[test]
    fn the_document_lists_the_values_of_each_state() {
        let (_, doc) = super::router_and_document();
        let doc = serde_json::to_value(doc).unwrap();
        let values = |name: &str| -> Vec<String> {
            doc["components"]["schemas"][name]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{name} has no enum"))
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let texts = |all: Vec<&str>| all.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            values("JobState"),
            texts(JobState::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            values("TradeStatus"),
            texts(TradeStatus::ALL.iter().map(|s| s.as_str()).collect())
        );
        assert_eq!(
            values("JobKind"),
            texts(JobKind::ALL.iter().map(|s| s.as_str()).collect())
        );
    }
}
