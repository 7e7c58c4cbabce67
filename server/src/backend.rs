//! The server's implementation of the UI port [`app::backend::Backend`]: the same
//! query functions the JSON API uses.

use crate::audited;
use crate::auth::Caller;
use crate::db::read;
use app::backend::Backend;
use app::errors::AppError;
use app::models::*;
use sea_orm::DatabaseConnection;

/// The backend over one database pool.
#[derive(Clone)]
pub struct ServerBackend {
    pub db: DatabaseConnection,
    pub info: ServerInfoDto,
    /// The schedules this server's workers run (for their next run times).
    pub schedules: crate::work::schedule::ScheduleConfig,
}

#[async_trait::async_trait]
impl Backend for ServerBackend {
    async fn server_info(&self) -> Result<ServerInfoDto, AppError> {
        Ok(self.info.clone())
    }

    async fn list_trades(&self, query: TradeQuery) -> Result<Page<TradeDto>, AppError> {
        Ok(read::list_trades(&self.db, query).await?)
    }

    async fn trade(&self, id: i32) -> Result<TradeDto, AppError> {
        Ok(read::get_trade(&self.db, id).await?)
    }

    async fn executions(&self, trade_id: i32) -> Result<Vec<ExecutionDto>, AppError> {
        Ok(read::list_executions(&self.db, trade_id, true).await?)
    }

    async fn trade_history(&self, trade_id: i32) -> Result<TradeHistoryDto, AppError> {
        Ok(crate::history::trade_history(&self.db, trade_id).await?)
    }

    async fn reconciliation(&self, account: Option<String>) -> Result<ReconciliationDto, AppError> {
        let opts = crate::reconcile::ReconcileOptions::new(account, None)?;
        Ok(crate::reconcile::reconcile(&self.db, &opts).await?)
    }

    async fn list_orders(&self, query: OrderQuery) -> Result<Page<OrderDto>, AppError> {
        Ok(read::list_orders(&self.db, query).await?)
    }

    async fn list_positions(&self) -> Result<Page<PositionDto>, AppError> {
        Ok(read::list_positions(&self.db).await?)
    }

    async fn list_jobs(&self, query: JobQuery) -> Result<Page<JobDto>, AppError> {
        Ok(read::list_jobs(&self.db, query).await?)
    }

    async fn worker_status(&self) -> Result<WorkerStatusDto, AppError> {
        Ok(crate::work::schedule::worker_status(&self.db, &self.schedules).await?)
    }

    async fn enqueue_job(
        &self,
        kind: String,
        payload: serde_json::Value,
    ) -> Result<JobDto, AppError> {
        Ok(audited::enqueue_job(&self.db, &caller()?, &kind, payload)
            .await?
            .0)
    }

    async fn job(&self, id: i32) -> Result<JobDto, AppError> {
        Ok(read::get_job(&self.db, id).await?)
    }

    async fn latest_job(&self, kind: String) -> Result<Option<JobDto>, AppError> {
        Ok(read::latest_job(&self.db, &kind).await?)
    }

    async fn retry_job(&self, id: i32) -> Result<JobDto, AppError> {
        Ok(audited::retry_job(&self.db, &caller()?, id).await?)
    }

    async fn cancel_job(&self, id: i32) -> Result<JobDto, AppError> {
        Ok(audited::cancel_job(&self.db, &caller()?, id).await?)
    }

    async fn create_order(&self, order: NewOrderDto) -> Result<OrderCreatedDto, AppError> {
        Ok(audited::prepare_order(&self.db, &caller()?, order).await?)
    }

    async fn confirm_order(&self, id: i32, token: String) -> Result<OrderDto, AppError> {
        Ok(audited::confirm_order(&self.db, &caller()?, id, &token).await?)
    }

    async fn order(&self, id: i32) -> Result<OrderDetailDto, AppError> {
        Ok(crate::orders::service::detail(&self.db, id).await?)
    }

    async fn list_accounts(&self) -> Result<Page<AccountDto>, AppError> {
        Ok(read::list_accounts(&self.db).await?)
    }

    async fn list_tokens(&self) -> Result<Vec<ApiTokenDto>, AppError> {
        let owner = caller()?.token_owner();
        Ok(crate::auth::tokens::list(&self.db, owner.as_deref()).await?)
    }

    async fn audit(&self, query: AuditQuery) -> Result<Page<AuditEventDto>, AppError> {
        caller()?.require_admin("read the audit log")?;
        Ok(crate::auth::audit::list(&self.db, query).await?)
    }

    async fn list_imports(&self, query: ImportQuery) -> Result<Page<ImportDto>, AppError> {
        Ok(crate::imports::list(&self.db, query).await?)
    }

    async fn import(&self, id: i32) -> Result<ImportDto, AppError> {
        Ok(crate::imports::get(&self.db, id).await?)
    }

    async fn coverage(&self) -> Result<Vec<CoverageDto>, AppError> {
        let now = chrono::Utc::now();
        let mut out = Vec::new();
        for account in read::list_accounts(&self.db).await?.items {
            out.push(crate::db::coverage::coverage(&self.db, account.id, now).await?);
        }
        Ok(out)
    }

    async fn set_flex_time_zone(
        &self,
        account_id: i32,
        zone: Option<String>,
    ) -> Result<Option<String>, AppError> {
        Ok(audited::set_flex_time_zone(&self.db, &caller()?, account_id, zone).await?)
    }
}

/// Who the page's request comes from (the gate put it on the request).
fn caller() -> crate::error::Result<Caller> {
    app::backend::from_request::<Caller>()
        .ok_or_else(|| crate::error::Error::Unauthorized("sign in first".into()))
}
