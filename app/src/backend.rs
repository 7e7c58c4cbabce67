//! The port between the UI and the server (ssr only): the server implements [`Backend`]
//! with the same service functions its JSON API calls, and provides it as context.

use crate::errors::AppError;
use crate::models::*;
use std::sync::Arc;

/// Everything the pages read or do, in DTOs. Entities never cross this line.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn server_info(&self) -> Result<ServerInfoDto, AppError>;
    async fn list_trades(&self, query: TradeQuery) -> Result<Page<TradeDto>, AppError>;
    async fn trade(&self, id: i32) -> Result<TradeDto, AppError>;
    async fn executions(&self, trade_id: i32) -> Result<Vec<ExecutionDto>, AppError>;
    async fn list_orders(&self, query: OrderQuery) -> Result<Page<OrderDto>, AppError>;
    async fn list_positions(&self) -> Result<Page<PositionDto>, AppError>;
    async fn list_jobs(&self, query: JobQuery) -> Result<Page<JobDto>, AppError>;
    /// Enqueues a job (unique kinds return the job already waiting).
    async fn enqueue_job(
        &self,
        kind: String,
        payload: serde_json::Value,
    ) -> Result<JobDto, AppError>;
    async fn job(&self, id: i32) -> Result<JobDto, AppError>;
    /// The most recent job of `kind`, if any.
    async fn latest_job(&self, kind: String) -> Result<Option<JobDto>, AppError>;
    async fn retry_job(&self, id: i32) -> Result<JobDto, AppError>;
    async fn cancel_job(&self, id: i32) -> Result<JobDto, AppError>;
    async fn create_order(&self, order: NewOrderDto) -> Result<OrderCreatedDto, AppError>;
    async fn confirm_order(&self, id: i32, token: String) -> Result<OrderDto, AppError>;
    async fn order(&self, id: i32) -> Result<OrderDetailDto, AppError>;
    async fn list_accounts(&self) -> Result<Page<AccountDto>, AppError>;
}

/// How the backend travels in Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
pub fn use_backend() -> Result<SharedBackend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| {
        leptos::prelude::ServerFnError::ServerError("backend missing from context".into())
    })
}
