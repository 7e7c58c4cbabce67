//! `GET /api/v1/exports/{kind}?format=csv`: canonical fills or trades as a streamed CSV
//! download (see `crate::exports` for the columns and the rules).

use super::http::ApiQuery;
use crate::error::{Error, Result};
use crate::exports::{self, ExportFilter, ExportKind};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures::StreamExt;

/// The query of an export request.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    format: Option<String>,
    account: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    all_revisions: Option<bool>,
}

impl ExportParams {
    /// The export's filter (`format` must be `csv`).
    fn filter(self) -> Result<ExportFilter> {
        match self.format.as_deref() {
            Some("csv") => {}
            Some(other) => {
                return Err(Error::invalid(
                    "format",
                    format!("`format` must be csv, got `{other}`"),
                ))
            }
            None => return Err(Error::invalid("format", "`format=csv` is required")),
        }
        Ok(ExportFilter {
            account: self.account,
            since: self.since,
            until: self.until,
            all_revisions: self.all_revisions.unwrap_or(false),
        })
    }
}

/// Canonical fills (`fills`) or trades (`trades`) of an account and period as CSV (RFC 4180,
/// UTC RFC 3339 times), streamed. `all_revisions=true` (fills only) adds superseded and
/// busted fills with their `state`.
#[utoipa::path(get, path = "/exports/{kind}", tag = "trades",
    params(
        ("kind" = String, Path, description = "`fills` or `trades`"),
        ("format" = String, Query, description = "`csv`"),
        ("account" = Option<String>, Query, description = "IB account code"),
        ("since" = Option<String>, Query, description = "RFC 3339; inclusive (a fill's execution time, a trade's first fill)"),
        ("until" = Option<String>, Query, description = "RFC 3339; exclusive"),
        ("all_revisions" = Option<bool>, Query, description = "Fills only: also superseded and busted fills"),
    ),
    responses(
        (status = 200, description = "The CSV document", content_type = "text/csv", body = String),
    ))]
pub async fn export(
    State(s): State<AppState>,
    Path(kind): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response> {
    let kind = ExportKind::parse("kind", &kind)?;
    let filter = params.filter()?;
    if filter.all_revisions && kind == ExportKind::Trades {
        return Err(Error::invalid(
            "all_revisions",
            "only a fills export has revisions",
        ));
    }
    exports::validate(&s.db, &filter).await?;
    let name = format!(
        "fillbook-{}-{}.csv",
        kind.as_str(),
        filter.account.as_deref().unwrap_or("all")
    );
    let body = exports::csv_stream(s.db.clone(), kind, filter).map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "export failed midway");
            std::io::Error::other(e.to_string())
        })
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(Body::from_stream(body))
        .map_err(|e| Error::Internal(e.to_string()))
}
