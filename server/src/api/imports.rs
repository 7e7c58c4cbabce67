//! Statement imports over the API (upload a Flex document, which queues its `flex.import`
//! job; the import history) and each account's coverage map.

use super::http::{path_id, ApiQuery, NoParams, Problem};
use crate::error::{Error, Result};
use crate::imports::MAX_DOCUMENT_BYTES;
use crate::state::AppState;
use app::models::{Actor, CoverageDto, ImportDto, ImportQuery, Page};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

/// Whether `content_type` is an XML media type (`application/xml`, `text/xml`).
fn is_xml(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/xml" || v == "text/xml")
}

/// The query of an upload: the statement's file name, for the imports list.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    file_name: Option<String>,
}

/// Upload one Flex statement (the XML document as the body). It is stored and a
/// `flex.import` job imports it; follow the job or `GET /imports/{import_id}`.
#[utoipa::path(post, path = "/imports/flex", tag = "imports",
    params(("file_name" = Option<String>, Query, description = "A name to show in the import history")),
    request_body(content = String, content_type = "application/xml",
        description = "A Flex statement (`FlexQueryResponse`), `application/xml` or `text/xml`, at most 64 MiB"),
    responses(
        (status = 202, description = "Stored; its import job is queued", body = ImportDto),
        (status = 400, description = "The body is larger than 64 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/xml` or `text/xml`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or non-UTF-8 document (field `statement`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_flex_import(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(params): ApiQuery<UploadParams>,
    request: Request,
) -> Result<Response> {
    let file_name = params.file_name;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !is_xml(content_type) {
        return Err(Error::UnsupportedMediaType(
            "send the statement with `Content-Type: application/xml` (or `text/xml`)".into(),
        ));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_DOCUMENT_BYTES)
        .await
        .map_err(|_| Error::BadRequest("the statement is larger than 64 MiB".into()))?;
    let import = crate::imports::enqueue_flex(&s.db, &actor, file_name, body.to_vec()).await?;
    let location = format!("/api/v1/imports/{}", import.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(import),
    )
        .into_response())
}

/// Imports, newest first, with their state and metrics.
#[utoipa::path(get, path = "/imports", tag = "imports", params(ImportQuery),
    responses(
        (status = 200, description = "A page of imports", body = Page<ImportDto>),
        (status = 422, description = "An invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_imports(
    State(s): State<AppState>,
    ApiQuery(query): ApiQuery<ImportQuery>,
) -> Result<Json<Page<ImportDto>>> {
    Ok(Json(crate::imports::list(&s.db, query).await?))
}

/// One import: `pending` until its job ran, then `completed` with its metrics or `failed`
/// with the error (a refused document names the line and column).
#[utoipa::path(get, path = "/imports/{import_id}", tag = "imports",
    params(("import_id" = i32, Path, description = "Import id")),
    responses(
        (status = 200, description = "The import", body = ImportDto),
        (status = 404, description = "No such import", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_import(
    State(s): State<AppState>,
    Path(import_id): Path<String>,
) -> Result<Json<ImportDto>> {
    let id = path_id(&import_id, "import")?;
    Ok(Json(crate::imports::get(&s.db, id).await?))
}

/// Which UTC days of the account's history gateway syncs and statements covered, and the
/// gaps from its first fill to today (inclusive day ranges).
#[utoipa::path(get, path = "/accounts/{account_id}/coverage", tag = "accounts",
    params(("account_id" = i32, Path, description = "Account id")),
    responses(
        (status = 200, description = "The coverage map", body = CoverageDto),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_coverage(
    State(s): State<AppState>,
    Path(account_id): Path<String>,
    _: ApiQuery<NoParams>,
) -> Result<Json<CoverageDto>> {
    let id = path_id(&account_id, "account")?;
    Ok(Json(
        crate::db::coverage::coverage(&s.db, id, chrono::Utc::now()).await?,
    ))
}
