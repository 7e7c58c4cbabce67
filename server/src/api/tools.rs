//! Tools over HTTP: `GET /api/v1/tools` lists them, `POST /api/v1/tools/{name}` calls one.

use super::http::ApiJson;
use super::http::Problem;
use crate::auth::Caller;
use crate::error::Result;
use crate::state::AppState;
use crate::tools::{call, catalog, ToolContext, ToolInfo};
use app::models::Page;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

/// List the tradebot tools with their JSON Schemas and read-only flags.
#[utoipa::path(get, path = "/tools", tag = "tools",
    responses((status = 200, description = "The tools", body = Page<ToolInfo>)))]
pub async fn list_tools() -> Json<Page<ToolInfo>> {
    Json(Page {
        items: catalog(),
        next_cursor: None,
    })
}

/// Call a tool with a JSON object of arguments; answers `{"result": …}`.
#[utoipa::path(post, path = "/tools/{name}", tag = "tools",
    params(("name" = String, Path, description = "Tool name")),
    request_body(content = Object, description = "The tool's arguments", content_type = "application/json"),
    responses(
        (status = 200, description = "The tool's result", body = Object),
        (status = 403, description = "The token lacks the tool's scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tool", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid arguments", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn call_tool(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(arguments): ApiJson<Value>,
) -> Result<Json<Value>> {
    let ctx = ToolContext {
        db: state.db,
        caller,
    };
    let result = call(&ctx, &name, arguments).await?;
    Ok(Json(json!({ "result": result })))
}
