//! `GET /api/v1/reconciliation`: the ledger checked against the gateway's positions and
//! itself (see `crate::reconcile` for the rules and the finding codes).

use super::params::Params;
use crate::error::Result;
use crate::reconcile::{self, ReconcileOptions};
use crate::state::AppState;
use app::models::ReconciliationDto;
use axum::extract::{RawQuery, State};
use axum::Json;

/// The options of a reconciliation request.
pub fn options(raw: Option<&str>) -> Result<ReconcileOptions> {
    let p = Params::parse(raw, &["account", "commission_hours"])?;
    ReconcileOptions::new(
        p.text("account")?,
        p.parsed::<i64>("commission_hours", "a whole number of hours")?,
    )
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
    RawQuery(raw): RawQuery,
) -> Result<Json<ReconciliationDto>> {
    let opts = options(raw.as_deref())?;
    Ok(Json(reconcile::reconcile(&s.db, &opts).await?))
}
