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
    /// A trade's history (first recordings and every change since).
    async fn trade_history(&self, trade_id: i32) -> Result<TradeHistoryDto, AppError>;
    /// The ledger reconciled with the gateway's positions and itself.
    async fn reconciliation(&self, account: Option<String>) -> Result<ReconciliationDto, AppError>;
    async fn list_orders(&self, query: OrderQuery) -> Result<Page<OrderDto>, AppError>;
    async fn list_positions(&self) -> Result<Page<PositionDto>, AppError>;
    async fn list_jobs(&self, query: JobQuery) -> Result<Page<JobDto>, AppError>;
    /// The schedules with their next runs and the live subscriptions' state.
    async fn worker_status(&self) -> Result<WorkerStatusDto, AppError>;
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
    /// API tokens, newest first: an administrator's all, another operator's their own.
    async fn list_tokens(&self) -> Result<Vec<ApiTokenDto>, AppError>;
    async fn audit(&self, query: AuditQuery) -> Result<Page<AuditEventDto>, AppError>;
    /// Statement imports, newest first.
    async fn list_imports(&self, query: ImportQuery) -> Result<Page<ImportDto>, AppError>;
    async fn import(&self, id: i32) -> Result<ImportDto, AppError>;
    /// The coverage map of every account.
    async fn coverage(&self) -> Result<Vec<CoverageDto>, AppError>;
    /// Sets an account's Flex time zone (`None`: the default); audited.
    async fn set_flex_time_zone(
        &self,
        account_id: i32,
        zone: Option<String>,
    ) -> Result<Option<String>, AppError>;
}

/// How the backend travels in Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
pub fn use_backend() -> Result<SharedBackend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| {
        leptos::prelude::ServerFnError::ServerError("backend missing from context".into())
    })
}

/// A value the server's authentication gate put on this request (the signed-in operator's
/// [`SessionDto`], the [`Actor`]).
pub fn from_request<T: Clone + Send + Sync + 'static>() -> Option<T> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<T>().cloned())
}

/// Who is acting in this request (for the audit log).
pub fn use_actor() -> Result<Actor, leptos::prelude::ServerFnError> {
    from_request::<Actor>().ok_or_else(not_signed_in)
}

fn not_signed_in() -> leptos::prelude::ServerFnError {
    crate::server_fns::to_sfn(AppError::unauthorized("not signed in"))
}

/// The signed-in operator of this request.
pub fn use_session() -> Result<SessionDto, leptos::prelude::ServerFnError> {
    from_request::<SessionDto>().ok_or_else(not_signed_in)
}
