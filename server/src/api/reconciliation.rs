//! `GET /api/v1/reconciliation`: the ledger checked against the gateway's positions and
//! itself (see `crate::reconcile` for the rules and the finding codes).

use super::http::ApiQuery;
use crate::error::Result;
use crate::reconcile::{self, ReconcileOptions};
use crate::state::AppState;
use app::models::ReconciliationDto;
use axum::extract::State;
use axum::Json;

/// The query of a reconciliation request.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileParams {
    account: Option<String>,
    commission_hours: Option<i64>,
}

/// Per account: the gateway's positions against the positions the canonical fills imply,
/// and every finding (`position_mismatch`, `positions_unknown`, `commission_missing`,
/// `order_unknown`, `status_mismatch`, `coverage_gap`, `no_baseline`), most severe first.
#[utoipa::path(get, path = "/reconciliation", tag = "trades",
    params(
        ("account" = Option<String>, Query, description = "Only this account (IB code)"),
        ("commission_hours" = Option<i64>, Query, description = "A fill without commission this many hours after execution is a finding (default 24)"),
    ),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationDto),
    ))]
pub async fn get_reconciliation(
    State(s): State<AppState>,
    ApiQuery(params): ApiQuery<ReconcileParams>,
) -> Result<Json<ReconciliationDto>> {
    let opts = ReconcileOptions::new(params.account, params.commission_hours)?;
    Ok(Json(reconcile::reconcile(&s.db, &opts).await?))
}
