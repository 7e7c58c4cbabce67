//! The server's implementation of the UI port [`app::backend::Backend`]: the same
//! query functions the JSON API uses.

use crate::db::read;
use crate::jobs::SystemClock;
use app::backend::Backend;
use app::errors::AppError;
use app::models::*;
use sea_orm::DatabaseConnection;

/// The backend over one database pool.
#[derive(Clone)]
pub struct DbBackend {
    pub db: DatabaseConnection,
    pub info: ServerInfoDto,
}

#[async_trait::async_trait]
impl Backend for DbBackend {
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

    async fn list_orders(&self, query: OrderQuery) -> Result<Page<OrderDto>, AppError> {
        Ok(read::list_orders(&self.db, query).await?)
    }

    async fn list_positions(&self) -> Result<Page<PositionDto>, AppError> {
        Ok(read::list_positions(&self.db).await?)
    }

    async fn list_jobs(&self, query: JobQuery) -> Result<Page<JobDto>, AppError> {
        Ok(read::list_jobs(&self.db, query).await?)
    }

    async fn enqueue_job(
        &self,
        kind: String,
        payload: serde_json::Value,
    ) -> Result<JobDto, AppError> {
        let enqueued = crate::jobs::enqueue_kind(&self.db, &kind, payload).await?;
        Ok(read::job_dto(enqueued.job))
    }

    async fn job(&self, id: i32) -> Result<JobDto, AppError> {
        Ok(read::get_job(&self.db, id).await?)
    }

    async fn latest_job(&self, kind: String) -> Result<Option<JobDto>, AppError> {
        Ok(read::latest_job(&self.db, &kind).await?)
    }

    async fn retry_job(&self, id: i32) -> Result<JobDto, AppError> {
        let job = crate::jobs::Queue::default().retry(&self.db, id).await?;
        Ok(read::job_dto(job))
    }

    async fn cancel_job(&self, id: i32) -> Result<JobDto, AppError> {
        let job = crate::jobs::Queue::default().cancel(&self.db, id).await?;
        Ok(read::job_dto(job))
    }

    async fn create_order(&self, order: NewOrderDto) -> Result<OrderCreatedDto, AppError> {
        Ok(crate::orders::service::create_from_request(&self.db, &SystemClock, order).await?)
    }

    async fn confirm_order(&self, id: i32, token: String) -> Result<OrderDto, AppError> {
        Ok(crate::orders::confirm_order(&self.db, &SystemClock, id, &token).await?)
    }

    async fn order(&self, id: i32) -> Result<OrderDetailDto, AppError> {
        Ok(crate::orders::service::detail(&self.db, id).await?)
    }

    async fn list_accounts(&self) -> Result<Page<AccountDto>, AppError> {
        Ok(read::list_accounts(&self.db).await?)
    }
}
