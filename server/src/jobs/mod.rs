//! Background jobs: a queue on the `jobs` table with River/Oban semantics, the
//! worker that runs it and the payloads of the job kinds. Which function runs each kind,
//! which kinds a request may queue, and the periodic jobs are registered in [`crate::work`].
//!
//! * [`queue`] — enqueue (unique, transactional), claim, heartbeat, complete/fail, rescue,
//!   cancel, retry, retention;
//! * [`worker`] — [`Worker`], [`HandlerRegistry`], [`JobContext`];
//! * [`kinds`] — the payloads of the job kinds and their unique keys;
//! * [`wake`] — in-process notify and PostgreSQL LISTEN/NOTIFY wake-ups.

pub mod kinds;
pub mod queue;
pub mod wake;
pub mod worker;

pub use queue::{Backoff, ClaimRequest, Enqueued, NewJob, Outcome, Queue};
pub use worker::{HandlerRegistry, JobContext, JobFailure, Worker, WorkerConfig};

use crate::db::entities::jobs as job_rows;
use serde_json::{json, Value};

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
