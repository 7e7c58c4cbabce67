//! The HTTP surface: health probes, the Leptos pages and server functions, static
//! files, and the tower-http stack (request ids, tracing, compression, timeouts).

pub mod auth;
pub mod health;
pub mod text_input;
pub mod uploads;

use crate::api::http::scoped;
use crate::auth::Scope::{JobsWrite, TradesRead};
use crate::state::AppState;

use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Leptos options for a site root (where `pkg/` and the public assets live).
pub fn leptos_options(site_root: &std::path::Path, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The page routes, generated once per process. Leptos suppresses resource loading in the
/// whole process while it walks the app to list routes (a global flag), so a page rendering
/// on another thread at that moment would wait forever (leptos#4773); listing them once,
/// before the first router exists, keeps that window away from every render.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::LazyLock<Vec<AxumRouteListing>> =
        std::sync::LazyLock::new(|| generate_route_list(app::App));
    ROUTES.clone()
}

/// The paths of the pages (axum syntax, e.g. `/trades/{id}`), for tests and tools that
/// must cover every page.
pub fn page_paths() -> Vec<String> {
    page_routes().iter().map(|r| r.path().to_string()).collect()
}

/// The whole application router.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let routes = page_routes();
    let backend = state.backend.clone();
    let leptos = state.leptos.clone();
    let site_root = std::path::PathBuf::from(leptos.site_root.as_ref());
    let request_id = HeaderName::from_static("x-request-id");

    let (api, openapi) = crate::api::router_and_document();
    let openapi = Arc::new(openapi);
    let api = api
        .route(
            "/openapi.json",
            get(crate::api::docs::openapi_handler(openapi)),
        )
        .fallback(|| async { crate::Error::NotFound("API endpoint".into()) });

    // Long-lived streams (job events, MCP) are kept out of the request timeout.
    let streaming = Router::new()
        .route(
            "/api/v1/jobs/{job_id}/events",
            scoped(&[JobsWrite, TradesRead], get(crate::api::jobs::job_events)),
        )
        .route(
            "/api/v1/events",
            scoped(&[TradesRead], get(crate::api::jobs::change_events)),
        )
        .nest_service("/mcp", crate::tools::mcp::http_service(state.db.clone()))
        .with_state(state.clone());

    let timed = Router::new()
        .nest("/api/v1", api)
        .route(
            "/login",
            get(crate::web::auth::pages::login_page).post(crate::web::auth::pages::login_submit),
        )
        .route(
            "/setup",
            get(crate::web::auth::pages::setup_page).post(crate::web::auth::pages::setup_submit),
        )
        .route(
            "/logout",
            axum::routing::post(crate::web::auth::pages::logout),
        )
        .route(
            "/account/password",
            get(crate::web::auth::pages::password_page)
                .post(crate::web::auth::pages::password_submit),
        )
        .route(
            "/tokens",
            axum::routing::post(crate::web::auth::pages::create_token),
        )
        .route(
            "/tokens/{id}/revoke",
            axum::routing::post(crate::web::auth::pages::revoke_token),
        )
        .route(
            "/imports",
            axum::routing::post(uploads::upload_statement).layer(uploads::body_limit()),
        )
        .route("/api/docs", get(crate::api::docs::docs_page))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .with_state(state.clone())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ));

    let gate =
        axum::middleware::from_fn_with_state(state, crate::web::auth::middleware::authenticate);
    streaming
        .merge(timed)
        .layer(axum::middleware::from_fn(text_input::refuse_nul))
        .layer(gate)
        .layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings can carry secrets (setup and
                    // confirmation tokens) that must never reach the log.
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            // Every response: the default Content-Security-Policy unless the handler set one
            // (rendered pages send theirs, with a nonce), no framing, no MIME sniffing, and
            // the referrer kept to this origin.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(app::security::DEFAULT_POLICY),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ))
            .layer(CompressionLayer::new()),
    )
}
