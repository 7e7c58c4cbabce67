//! Server functions: thin wrappers that call the [`crate::backend::Backend`] port.
// The form server functions take one argument per HTML form field, so that a plain form
// post (no JavaScript) maps onto them; the generated client stubs repeat that arity.
// Every server function with a side effect takes the form's `csrf` field: the server's
// CSRF check reads it from the body before the function runs (the argument exists so that
// the hydrated `ActionForm` sends it too).
#![allow(clippy::too_many_arguments)]

use crate::models::*;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// A server function's error: its message for the page, and the error's HTTP status on
/// the response (a refused input is 422, a missing right 403 — not a server failure).
/// Only a call of the server function itself (`/_sfn/…`) gets the status: a page rendering
/// on the server shows the error in its content, and a plain form post (no JavaScript) keeps
/// the redirect back to its page, which carries the error in the URL (a browser shows a 4xx
/// body instead of following its `Location`).
#[cfg(feature = "ssr")]
pub(crate) fn to_sfn(err: crate::errors::AppError) -> ServerFnError {
    let fetch_call = use_context::<http::request::Parts>().is_some_and(|parts| {
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        parts.uri.path().starts_with("/_sfn/") && !accepts_html
    });
    if let (true, Some(status), Some(response)) = (
        fetch_call,
        err.status.and_then(|s| http::StatusCode::from_u16(s).ok()),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        response.set_status(status);
    }
    ServerFnError::ServerError(err.message)
}

#[server(prefix = "/_sfn", endpoint = "server_info", input = Json)]
pub async fn server_info() -> Result<ServerInfoDto, ServerFnError> {
    crate::backend::use_backend()?
        .server_info()
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_trades", input = Json)]
pub async fn list_trades(query: TradeQuery) -> Result<Page<TradeDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_trades(query)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "get_trade", input = Json)]
pub async fn get_trade(id: i32) -> Result<TradeDto, ServerFnError> {
    crate::backend::use_backend()?
        .trade(id)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_executions", input = Json)]
pub async fn list_executions(trade_id: i32) -> Result<Vec<ExecutionDto>, ServerFnError> {
    crate::backend::use_backend()?
        .executions(trade_id)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "trade_history", input = Json)]
pub async fn trade_history(trade_id: i32) -> Result<TradeHistoryDto, ServerFnError> {
    crate::backend::use_backend()?
        .trade_history(trade_id)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "get_reconciliation", input = Json)]
pub async fn get_reconciliation(
    account: Option<String>,
) -> Result<ReconciliationDto, ServerFnError> {
    crate::backend::use_backend()?
        .reconciliation(account)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_orders", input = Json)]
pub async fn list_orders(query: OrderQuery) -> Result<Page<OrderDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_orders(query)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_positions", input = Json)]
pub async fn list_positions() -> Result<Page<PositionDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_positions()
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_jobs", input = Json)]
pub async fn list_jobs(query: JobQuery) -> Result<Page<JobDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_jobs(query)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "worker_status", input = Json)]
pub async fn worker_status() -> Result<WorkerStatusDto, ServerFnError> {
    crate::backend::use_backend()?
        .worker_status()
        .await
        .map_err(to_sfn)
}

/// Queues a `trades.sync` (or returns the one already waiting).
#[server(prefix = "/_sfn", endpoint = "enqueue_trades_sync")]
pub async fn enqueue_trades_sync(csrf: String) -> Result<JobDto, ServerFnError> {
    let _ = csrf;
    crate::backend::use_backend()?
        .enqueue_job(
            crate::models::JobKind::TradesSync.as_str().to_string(),
            serde_json::json!({}),
        )
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "get_job", input = Json)]
pub async fn get_job(id: i32) -> Result<JobDto, ServerFnError> {
    crate::backend::use_backend()?.job(id).await.map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "latest_job", input = Json)]
pub async fn latest_job(kind: String) -> Result<Option<JobDto>, ServerFnError> {
    crate::backend::use_backend()?
        .latest_job(kind)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "retry_job")]
pub async fn retry_job(id: i32, csrf: String) -> Result<JobDto, ServerFnError> {
    let _ = csrf;
    crate::backend::use_backend()?
        .retry_job(id)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "cancel_job")]
pub async fn cancel_job(id: i32, csrf: String) -> Result<JobDto, ServerFnError> {
    let _ = csrf;
    crate::backend::use_backend()?
        .cancel_job(id)
        .await
        .map_err(to_sfn)
}

/// The order form (all text, so a plain HTML form posts it): on success it redirects to
/// the order's confirmation step; on a validation error back to the form with the error
/// and the values in the URL.
#[server(prefix = "/_sfn", endpoint = "create_order_form")]
pub async fn create_order_form(
    account_id: String,
    symbol: String,
    side: String,
    quantity: String,
    order_type: String,
    limit_price: String,
    tif: String,
    order_ref: String,
    csrf: String,
) -> Result<(), ServerFnError> {
    use crate::errors::AppError;
    let _ = csrf;
    use crate::url::with_query;
    let back = |field: &str, error: &str| {
        with_query(
            "/orders",
            &[
                ("field", field),
                ("error", error),
                ("account_id", &account_id),
                ("symbol", &symbol),
                ("side", &side),
                ("quantity", &quantity),
                ("order_type", &order_type),
                ("limit_price", &limit_price),
                ("tif", &tif),
                ("order_ref", &order_ref),
            ],
        )
    };
    let number = |field: &str, text: &str| -> Result<Option<f64>, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>().map(Some).map_err(|_| {
            AppError::invalid(field, format!("{field} must be a number, got `{text}`"))
        })
    };
    let request = (|| -> Result<NewOrderDto, AppError> {
        Ok(NewOrderDto {
            account_id: account_id
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("account_id", "choose an account"))?,
            symbol: symbol.clone(),
            sec_type: None,
            exchange: None,
            currency: None,
            side: side.clone(),
            order_type: order_type.clone(),
            quantity: number("quantity", &quantity)?.unwrap_or(0.0),
            limit_price: number("limit_price", &limit_price)?,
            tif: Some(tif.clone()).filter(|t| !t.is_empty()),
            order_ref: Some(order_ref.clone()).filter(|r| !r.trim().is_empty()),
        })
    })();
    let outcome = match request {
        Ok(request) => crate::backend::use_backend()?.create_order(request).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(created) => leptos_axum::redirect(&with_query(
            &format!("/orders/{}", created.order.id),
            &[("token", &created.confirmation_token)],
        )),
        Err(e) => leptos_axum::redirect(&back(e.field.as_deref().unwrap_or(""), &e.message)),
    }
    Ok(())
}

/// The confirmation step: queues the order; errors come back in the URL.
#[server(prefix = "/_sfn", endpoint = "confirm_order_form")]
pub async fn confirm_order_form(id: i32, token: String, csrf: String) -> Result<(), ServerFnError> {
    use crate::url::with_query;
    let _ = csrf;
    let path = format!("/orders/{id}");
    match crate::backend::use_backend()?
        .confirm_order(id, token.clone())
        .await
    {
        Ok(_) => leptos_axum::redirect(&path),
        Err(e) => leptos_axum::redirect(&with_query(
            &path,
            &[("token", &token), ("error", &e.message)],
        )),
    }
    Ok(())
}

#[server(prefix = "/_sfn", endpoint = "get_order", input = Json)]
pub async fn get_order(id: i32) -> Result<OrderDetailDto, ServerFnError> {
    crate::backend::use_backend()?
        .order(id)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "list_accounts", input = Json)]
pub async fn list_accounts() -> Result<Page<AccountDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_accounts()
        .await
        .map_err(to_sfn)
}

/// The API tokens the operator manages: an administrator all, others their own.
#[server(prefix = "/_sfn", endpoint = "list_tokens", input = Json)]
pub async fn list_tokens() -> Result<Page<ApiTokenDto>, ServerFnError> {
    let items = crate::backend::use_backend()?
        .list_tokens()
        .await
        .map_err(to_sfn)?;
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// A page of the audit log (administrators only).
#[server(prefix = "/_sfn", endpoint = "list_audit", input = Json)]
pub async fn list_audit(query: AuditQuery) -> Result<Page<AuditEventDto>, ServerFnError> {
    crate::backend::use_backend()?
        .audit(query)
        .await
        .map_err(to_sfn)
}

/// Statement imports, newest first.
#[server(prefix = "/_sfn", endpoint = "list_imports", input = Json)]
pub async fn list_imports(query: ImportQuery) -> Result<Page<ImportDto>, ServerFnError> {
    crate::backend::use_backend()?
        .list_imports(query)
        .await
        .map_err(to_sfn)
}

#[server(prefix = "/_sfn", endpoint = "get_import", input = Json)]
pub async fn get_import(id: i32) -> Result<ImportDto, ServerFnError> {
    crate::backend::use_backend()?
        .import(id)
        .await
        .map_err(to_sfn)
}

/// The coverage map of every account.
#[server(prefix = "/_sfn", endpoint = "list_coverage", input = Json)]
pub async fn list_coverage() -> Result<Page<CoverageDto>, ServerFnError> {
    let items = crate::backend::use_backend()?
        .coverage()
        .await
        .map_err(to_sfn)?;
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// Sets an account's Flex time zone (administrators only); an empty zone restores the
/// default. Errors come back as the action's error (with JavaScript) or in the URL.
#[server(prefix = "/_sfn", endpoint = "set_flex_time_zone")]
pub async fn set_flex_time_zone(
    account_id: i32,
    zone: String,
    csrf: String,
) -> Result<Option<String>, ServerFnError> {
    let _ = csrf;
    let zone = Some(zone.trim().to_string()).filter(|z| !z.is_empty());
    crate::backend::use_backend()?
        .set_flex_time_zone(account_id, zone)
        .await
        .map_err(to_sfn)
}
