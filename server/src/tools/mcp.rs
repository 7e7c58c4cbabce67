//! The tools as an MCP server (the official Rust SDK, rmcp): streamable HTTP at `/mcp`
//! and stdio for `fillbook mcp`.

use super::{call, catalog, ToolContext};
use crate::auth::{Caller, Principal};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The MCP face of the tool registry. Over HTTP each call runs as the principal the
/// authentication gate put on its request; over stdio as the local user.
#[derive(Clone)]
pub struct McpTools {
    db: DatabaseConnection,
    /// Who calls when a request carries no principal: the local user over stdio; over HTTP
    /// nobody (no scopes: every tool is refused), so a request that somehow skipped the
    /// gate gets nothing.
    fallback: Principal,
}

impl McpTools {
    pub fn new(db: DatabaseConnection, fallback: Principal) -> Self {
        Self { db, fallback }
    }

    /// The caller of one request: from the HTTP request's extensions, else the fallback.
    fn context(&self, request: &RequestContext<RoleServer>) -> ToolContext {
        let caller = request
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Caller>().cloned())
            .unwrap_or_else(|| Caller::new(self.fallback.clone(), None));
        ToolContext {
            db: self.db.clone(),
            caller,
        }
    }
}

/// The tools `caller` may call.
fn tools(caller: &Principal) -> Vec<Tool> {
    catalog()
        .into_iter()
        .filter(|t| caller.allows(t.scope))
        .map(|t| {
            let schema = match t.input_schema {
                serde_json::Value::Object(map) => map,
                _ => Default::default(),
            };
            Tool::new(t.name, t.description, Arc::new(schema)).with_annotations(
                ToolAnnotations::new()
                    .read_only(t.read_only)
                    .destructive(false),
            )
        })
        .collect()
}

impl ServerHandler for McpTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fillbook", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Fillbook: an exact ledger of Interactive Brokers fills. Read trades and executions; \
                 enqueue a trades sync; orders need prepare_order then submit_order with its token.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = self.context(&context).caller.principal;
        Ok(ListToolsResult::with_all_items(tools(&caller)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let ctx = self.context(&context);
        let arguments = request
            .arguments
            .map(serde_json::Value::Object)
            .unwrap_or(serde_json::Value::Null);
        let result = match call(&ctx, &request.name, arguments).await {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
            Err(err) => CallToolResult::error(vec![ContentBlock::text(
                serde_json::json!({ "error": err.to_app_error() }).to_string(),
            )]),
        };
        Ok(result.into())
    }
}

/// A caller without any scope.
fn nobody() -> crate::auth::tokens::TokenUser {
    crate::auth::tokens::TokenUser {
        id: 0,
        name: "unauthenticated".into(),
        scopes: Vec::new(),
    }
}

/// The streamable-HTTP MCP endpoint, to nest at `/mcp`.
pub fn http_service(
    db: DatabaseConnection,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    McpTools,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    StreamableHttpService::new(
        move || Ok(McpTools::new(db.clone(), Principal::Token(nobody()))),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    )
}

/// Serves the tools over stdin/stdout until the client disconnects (`fillbook mcp`).
pub async fn serve_stdio(db: DatabaseConnection) -> crate::Result<()> {
    use rmcp::ServiceExt;
    let running = McpTools::new(db, Principal::Local)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| crate::Error::Internal(format!("MCP stdio session failed to start: {e}")))?;
    running.waiting().await.map_err(|e| {
        crate::Error::Internal(format!("MCP stdio session ended with an error: {e}"))
    })?;
    Ok(())
}
