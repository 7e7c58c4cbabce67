//! Background jobs: a queue on the `jobs` table with River/Oban semantics, the
//! worker that runs it and the job kinds with their payloads. Which function runs each
//! kind, and the periodic jobs, are registered from [`crate::work`].
//!
//! * [`queue`] — enqueue (unique, transactional), claim, heartbeat, complete/fail, rescue,
//!   cancel, retry, retention;
//! * [`worker`] — [`Worker`], [`HandlerRegistry`], [`JobContext`];
//! * [`kinds`] — the job kinds and the validation of their payloads;
//! * [`wake`] — in-process notify and PostgreSQL LISTEN/NOTIFY wake-ups.

pub mod kinds;
pub mod queue;
pub mod wake;
pub mod worker;

pub use queue::{Backoff, ClaimRequest, Enqueued, NewJob, Outcome, Queue};
pub use worker::{HandlerRegistry, JobContext, JobFailure, Worker, WorkerConfig};

use crate::db::entities::jobs as job_rows;
use crate::error::Result;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

/// Enqueues a job of a known kind after validating its payload (sync kinds are unique).
pub async fn enqueue_kind(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: Value,
) -> Result<Enqueued> {
    let job = kinds::new_job(kind, payload)?;
    // Names in a payload must name something configured: refused now, not at run time.
    if let Some(name) = job.payload.get("gateway").and_then(|g| g.as_str()) {
        crate::gateways::check_exists(db, "payload.gateway", name).await?;
    }
    if job.kind == kinds::FLEX_FETCH {
        if let Some(name) = job.payload.get("credentials").and_then(|c| c.as_str()) {
            crate::flex::credentials::load(db, name)
                .await
                .map_err(|e| match e {
                    crate::Error::NotFound(what) => {
                        crate::Error::invalid("payload.credentials", format!("no {what}"))
                    }
                    other => other,
                })?;
        }
    }
    Queue::default().enqueue(db, job).await
}

/// Everything stored on a job, for `jobs show` and operators' eyes (the API's `JobDto` plus
/// the lease, the unique key and the error history).
pub fn describe(job: &job_rows::Model) -> Value {
    json!({
        "id": job.id,
        "type": job.kind,
        "queue": job.queue,
        "state": job.state,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "unique_key": job.unique_key,
        "payload": job.payload,
        "result": job.result,
        "error": job.error,
        "errors": job.errors,
        "attempted_by": job.attempted_by,
        "lease_expires_at": job.lease_expires_at,
        "created_at": job.created_at,
        "scheduled_at": job.scheduled_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "updated_at": job.updated_at,
    })
}
