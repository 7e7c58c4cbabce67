//! The Fillbook web UI. Pages are rendered on the server (`ssr`); the browser bundle
//! (`hydrate`, Leptos islands mode) carries only the one island that enhances them
//! (`components::enhance`).
//!
//! `models` holds the serde DTOs used by the JSON API, the server functions and the
//! pages alike; `backend` (ssr only) is the port the server implements; `routes` has
//! one file per page; `components` the shared pieces.

pub mod components;
pub mod errors;
pub mod models;
pub mod routes;
pub mod security;
pub mod server_fns;
pub mod url;

#[cfg(feature = "ssr")]
pub mod backend;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The name of the browser bundle (`/pkg/<name>.js`, `.wasm`, `.css`).
pub const OUTPUT_NAME: &str = "fillbook";

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    security::send_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: layout, navigation and one route per page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    components::session::provide_session();
    view! {
        <Stylesheet id="fillbook-css" href="/pkg/fillbook.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Fillbook: an exact ledger of Interactive Brokers fills" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Fillbook".to_string() } else { format!("{title} · Fillbook") }
        } />
        <Router>
            <Layout>
                <Routes fallback=routes::not_found::NotFound>
                    <Route path=path!("/") view=routes::trades::TradesPage ssr=SsrMode::Async />
                    <Route path=path!("/trades") view=routes::trades::TradesPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/trades/:id")
                        view=routes::trade_detail::TradeDetailPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/orders") view=routes::orders::OrdersPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/orders/:id")
                        view=routes::order_detail::OrderDetailPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/positions")
                        view=routes::positions::PositionsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/reconciliation")
                        view=routes::reconciliation::ReconciliationPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/jobs") view=routes::jobs::JobsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/imports")
                        view=routes::imports::ImportsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/tokens") view=routes::tokens::TokensPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=routes::audit::AuditPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/accounts")
                        view=routes::accounts::AccountsPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </Layout>
        </Router>
    }
}
