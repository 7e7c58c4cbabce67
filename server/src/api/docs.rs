//! The OpenAPI document route and the human docs page (served from `public/api-docs.html`,
//! no CDN).

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::Json;
use std::sync::Arc;
use utoipa::openapi::OpenApi;

/// `GET /api/v1/openapi.json`.
pub fn openapi_handler(
    doc: Arc<OpenApi>,
) -> impl Fn() -> std::future::Ready<Json<OpenApi>> + Clone {
    move || std::future::ready(Json((*doc).clone()))
}

/// `GET /api/docs`: a self-contained page that renders the OpenAPI document.
pub async fn docs_page() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(include_str!("../../../public/api-docs.html")),
    )
}
