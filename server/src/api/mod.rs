//! JSON API v1 (`/api/v1`): handlers, request parsing with field-named errors, and the
//! OpenAPI 3.1 document generated from the handler and DTO types (utoipa).

pub mod audit;
pub mod docs;
pub mod exports;
pub mod http;
pub mod imports;
pub mod jobs;
pub mod listings;
pub mod orders;
pub mod reconciliation;
pub mod tools;

use crate::auth::Scope;
use crate::state::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
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

/// Every operation, with the scopes of which a caller needs one (none: any signed-in caller
/// or valid token; the tools check each tool's own scope when it is called). Adding an
/// endpoint: its handler, and one line here.
fn operations() -> Vec<(&'static [Scope], UtoipaMethodRouter<AppState>)> {
    use Scope::*;
    const READ: &[Scope] = &[TradesRead];
    const JOBS_READ: &[Scope] = &[JobsWrite, TradesRead];
    const ORDERS_READ: &[Scope] = &[OrdersWrite, TradesRead];
    vec![
        (READ, routes!(listings::list_trades)),
        (READ, routes!(listings::get_trade)),
        (READ, routes!(listings::list_trade_executions)),
        (READ, routes!(listings::get_trade_history)),
        (READ, routes!(listings::list_accounts)),
        (&[PositionsRead], routes!(listings::list_positions)),
        (ORDERS_READ, routes!(listings::list_orders)),
        (JOBS_READ, routes!(listings::list_jobs)),
        (JOBS_READ, routes!(listings::get_job)),
        (&[OrdersWrite], routes!(orders::create_order)),
        (&[OrdersWrite], routes!(orders::confirm_order)),
        (ORDERS_READ, routes!(orders::get_order)),
        (&[JobsWrite], routes!(jobs::create_job)),
        (&[JobsWrite], routes!(jobs::retry_job)),
        (&[JobsWrite], routes!(jobs::cancel_job)),
        (JOBS_READ, routes!(jobs::list_schedules)),
        (JOBS_READ, routes!(jobs::list_live_sessions)),
        (&[], routes!(tools::list_tools)),
        (&[], routes!(tools::call_tool)),
        (&[AuditRead], routes!(audit::list_audit)),
        (&[ImportsWrite], routes!(imports::create_flex_import)),
        (READ, routes!(imports::list_imports)),
        (READ, routes!(imports::get_import)),
        (READ, routes!(imports::get_coverage)),
        (READ, routes!(exports::export)),
        (READ, routes!(reconciliation::get_reconciliation)),
    ]
}

/// The `/api/v1` routes together with their OpenAPI description, each behind its scopes.
pub fn router() -> OpenApiRouter<AppState> {
    operations().into_iter().fold(
        OpenApiRouter::with_openapi(ApiDoc::openapi()),
        |router, (scopes, (schemas, paths, method_router))| {
            router.routes((schemas, paths, http::scoped(scopes, method_router)))
        },
    )
}

/// Each operation (`GET /trades`, …, paths as the document writes them) with the scopes of
/// which a caller needs one.
pub fn scopes() -> Vec<(String, String, &'static [Scope])> {
    operations()
        .into_iter()
        .flat_map(|(scopes, (_, paths, _))| {
            paths.paths.into_iter().flat_map(move |(path, item)| {
                methods_of(&item)
                    .into_iter()
                    .map(move |m| (m.to_string(), format!("/api/v1{path}"), scopes))
            })
        })
        .collect()
}

fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<&'static str> {
    [
        ("GET", item.get.is_some()),
        ("POST", item.post.is_some()),
        ("PUT", item.put.is_some()),
        ("PATCH", item.patch.is_some()),
        ("DELETE", item.delete.is_some()),
    ]
    .into_iter()
    .filter_map(|(m, present)| present.then_some(m))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::scopes;
    use crate::auth::Scope;

    fn needed(method: &str, path: &str) -> &'static [Scope] {
        let found = scopes()
            .into_iter()
            .find(|(m, p, _)| m == method && p == path)
            .unwrap_or_else(|| panic!("{method} {path} is not registered"));
        found.2
    }

    #[test]
    fn each_operation_declares_its_scopes() {
        use Scope::*;
        let cases: [(&str, &str, &[Scope]); 11] = [
            ("GET", "/api/v1/trades/{trade_id}/executions", &[TradesRead]),
            ("GET", "/api/v1/positions", &[PositionsRead]),
            ("POST", "/api/v1/jobs", &[JobsWrite]),
            ("GET", "/api/v1/jobs", &[JobsWrite, TradesRead]),
            ("POST", "/api/v1/orders/{order_id}/confirm", &[OrdersWrite]),
            (
                "GET",
                "/api/v1/orders/{order_id}",
                &[OrdersWrite, TradesRead],
            ),
            ("GET", "/api/v1/audit", &[AuditRead]),
            ("POST", "/api/v1/imports/flex", &[ImportsWrite]),
            ("GET", "/api/v1/imports/{import_id}", &[TradesRead]),
            (
                "GET",
                "/api/v1/accounts/{account_id}/coverage",
                &[TradesRead],
            ),
            ("POST", "/api/v1/tools/{name}", &[]),
        ];
        for (method, path, want) in cases {
            assert_eq!(needed(method, path), want, "{method} {path}");
        }
    }

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
