//! The audit log over the API (administrators' sessions and tokens with `audit:read`).

use super::http::{ApiQuery, Problem};
use crate::error::Result;
use crate::state::AppState;
use app::models::{AuditEventDto, AuditQuery, Page};
use axum::extract::State;
use axum::Json;

/// The audit log, newest first: sign-ins, sign-outs, tokens, syncs enqueued, orders.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit entries", body = Page<AuditEventDto>),
        (status = 403, description = "Not an administrator, or the token lacks `audit:read`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEventDto>>> {
    Ok(Json(crate::auth::audit::list(&s.db, query).await?))
}
