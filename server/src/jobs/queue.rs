//! The job queue on the `jobs` table, one code path for PostgreSQL and SQLite.
//!
//! Life of a job: `available` (or `scheduled` when due later) → `running` (claimed with a
//! lease) → `completed`, or on failure `retryable` (due after a capped exponential backoff
//! with jitter) until `max_attempts` is spent, then `discarded`. `cancelled` ends a job an
//! operator stopped. A running job whose lease expired (its worker died) is rescued back to
//! `retryable` (or `discarded` when out of attempts).
//!
//! Guarantees:
//! * enqueue is one `INSERT … ON CONFLICT DO NOTHING` usable inside the caller's
//!   transaction; with a `unique_key`, the partial unique index over the waiting states
//!   (`available`, `scheduled`, `retryable`) collapses repeats into the one waiting job,
//!   while a job already *running* still gets exactly one waiting follow-up;
//! * claim is one statement (PG: `FOR UPDATE SKIP LOCKED`; SQLite: writers are serialised),
//!   so a job is never handed to two workers;
//! * completion, failure and heartbeat only apply while the job is `running` *and*
//!   `attempted_by` is the calling worker: a worker that lost its lease (or whose job was
//!   cancelled) cannot overwrite the outcome.
//!
//! Data access: the query builder, except three statements it cannot say, written as SQL
//! for both databases: the insert (its conflict target is the partial unique index over
//! the waiting states), the claim (on PostgreSQL a `FOR UPDATE SKIP LOCKED` pick joined to
//! its `UPDATE … RETURNING`; `fillbook bench jobs` measures it) and a failed attempt's
//! update, whose ownership guard the rescue shares with an expired-lease condition.
//!
//! Retry policy: `retry` moves a finished job (`completed`, `discarded`, `cancelled`), or a
//! failed one waiting for its backoff (`retryable`, "retry now"), back to
//! `available` with `attempt` reset to 0 (a fresh budget of `max_attempts`); the error
//! history in `errors` is kept, so earlier attempts stay auditable.

use crate::clock::{Clock, SystemClock};
use crate::db::entities::jobs;
use crate::db::statement;
use crate::error::{Error, Result};
use crate::jobs::wake;
use app::models::JobState;
use chrono::{DateTime, Utc};
use jobs::Column as Col;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, Value as SqlValue,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A running job whose lease `worker_id` holds.
fn owned_by(id: i32, worker_id: &str) -> Condition {
    Condition::all()
        .add(Col::Id.eq(id))
        .add(Col::State.eq(JobState::Running))
        .add(Col::AttemptedBy.eq(worker_id))
}

/// Job states, as stored (the text of [`app::models::JobState`]), for the queue's SQL.
pub mod state {
    use super::JobState;
    pub const AVAILABLE: &str = JobState::Available.as_str();
    pub const SCHEDULED: &str = JobState::Scheduled.as_str();
    pub const RUNNING: &str = JobState::Running.as_str();
    pub const RETRYABLE: &str = JobState::Retryable.as_str();
    pub const COMPLETED: &str = JobState::Completed.as_str();
    pub const DISCARDED: &str = JobState::Discarded.as_str();
    pub const CANCELLED: &str = JobState::Cancelled.as_str();
}

/// The states in which a job waits to run (covered by the unique index).
const WAITING: [JobState; 3] = [
    JobState::Available,
    JobState::Scheduled,
    JobState::Retryable,
];
/// [`WAITING`] as SQL, for the statements the query builder cannot say.
const WAITING_SQL: &str = "('available', 'scheduled', 'retryable')";
/// The states of a job that is over.
const FINISHED: [JobState; 3] = [
    JobState::Completed,
    JobState::Discarded,
    JobState::Cancelled,
];
/// The default queue name.
pub const DEFAULT_QUEUE: &str = "default";

/// Capped exponential backoff with jitter: after failed attempt `n` (1-based) the job is due
/// again after `min(base · 2^(n-1), max)` plus up to `jitter` of that (0.1 = up to +10 %).
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_secs(600),
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after failed attempt `attempt`, without jitter.
    pub fn delay(&self, attempt: i32) -> Duration {
        let exp = attempt.saturating_sub(1).clamp(0, 30) as u32;
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }

    /// [`Self::delay`] plus a random jitter of up to `jitter` of it.
    pub fn jittered(&self, attempt: i32) -> Duration {
        let delay = self.delay(attempt);
        if self.jitter <= 0.0 {
            return delay;
        }
        delay + delay.mul_f64(self.jitter * rand::random::<f64>())
    }
}

/// When a failed attempt's job may run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// After the backoff of its attempt (the job failed).
    Backoff,
    /// At once (its worker died: the job did nothing wrong).
    Now,
    /// Never (discarded whatever attempts are left).
    GiveUp,
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub queue: String,
    pub unique_key: Option<String>,
    pub max_attempts: i32,
    pub priority: i32,
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            queue: DEFAULT_QUEUE.to_string(),
            unique_key: None,
            max_attempts: 5,
            priority: 0,
            scheduled_at: None,
        }
    }

    /// Collapse with any waiting job of the same key.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Lower runs first.
    pub fn priority(mut self, p: i32) -> Self {
        self.priority = p;
        self
    }

    /// Not before `at`.
    pub fn scheduled_at(mut self, at: DateTime<Utc>) -> Self {
        self.scheduled_at = Some(at);
        self
    }

    pub fn queue(mut self, q: impl Into<String>) -> Self {
        self.queue = q.into();
        self
    }
}

/// The result of an enqueue: the job, and whether it is new (false: an identical job was
/// already waiting and is returned instead).
#[derive(Clone, Debug)]
pub struct Enqueued {
    pub job: jobs::Model,
    pub inserted: bool,
}

/// What became of a job a worker reported on.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Completed,
    /// Failed; due again at this time.
    Retryable(DateTime<Utc>),
    /// Failed for the last time, or superseded by an identical waiting job.
    Discarded,
    /// The worker no longer owned the job (lease lost, rescued, or cancelled meanwhile):
    /// nothing was written.
    NotOwner,
}

/// What to claim.
#[derive(Clone, Debug)]
pub struct ClaimRequest<'a> {
    pub worker_id: &'a str,
    pub queue: &'a str,
    /// Only jobs of these kinds (the ones the worker has handlers for).
    pub kinds: &'a [String],
    pub limit: u64,
    pub lease: Duration,
}

/// The queue's operations, with the clock and backoff they use.
#[derive(Clone)]
pub struct Queue {
    clock: Arc<dyn Clock>,
    backoff: Backoff,
}

impl Default for Queue {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

fn lease_delta(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

impl Queue {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            backoff: Backoff::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Enqueues `job` (inside the caller's transaction if `db` is one) and wakes workers.
    pub async fn enqueue(&self, db: &impl ConnectionTrait, job: NewJob) -> Result<Enqueued> {
        let backend = db.get_database_backend();
        let now = self.now();
        let scheduled_at = job.scheduled_at.map_or(now, crate::clock::to_micros);
        let state = if scheduled_at > now {
            state::SCHEDULED
        } else {
            state::AVAILABLE
        };
        let insert = "INSERT INTO jobs (kind, queue, state, payload, attempt, max_attempts, \
             priority, unique_key, scheduled_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT DO NOTHING RETURNING *";
        // A waiting duplicate may start running between our INSERT and SELECT: then the
        // INSERT succeeds on the next round.
        for _ in 0..5 {
            let values: Vec<SqlValue> = vec![
                job.kind.clone().into(),
                job.queue.clone().into(),
                state.into(),
                job.payload.clone().into(),
                job.max_attempts.into(),
                job.priority.into(),
                job.unique_key.clone().into(),
                scheduled_at.into(),
                now.into(),
            ];
            let inserted = jobs::Entity::find()
                .from_raw_sql(statement(backend, insert, values))
                .one(db)
                .await?;
            if let Some(job) = inserted {
                wake::announce(db).await?;
                announce(db, &job.kind, job.id, job.state).await;
                return Ok(Enqueued {
                    job,
                    inserted: true,
                });
            }
            let Some(key) = &job.unique_key else {
                return Err(Error::Internal(
                    "enqueue inserted nothing although the job has no unique key".into(),
                ));
            };
            let existing = jobs::Entity::find()
                .filter(Col::UniqueKey.eq(key.as_str()))
                .filter(Col::State.is_in(WAITING))
                .one(db)
                .await?;
            if let Some(job) = existing {
                return Ok(Enqueued {
                    job,
                    inserted: false,
                });
            }
        }
        Err(Error::Internal(
            "enqueue kept conflicting with a job that vanished; try again".into(),
        ))
    }

    /// Claims up to `req.limit` due jobs in one statement: each becomes `running`, its
    /// `attempt` grows by one, and it is leased to `req.worker_id` until now + `req.lease`.
    pub async fn claim(
        &self,
        db: &impl ConnectionTrait,
        req: &ClaimRequest<'_>,
    ) -> Result<Vec<jobs::Model>> {
        if req.kinds.is_empty() || req.limit == 0 {
            return Ok(Vec::new());
        }
        let backend = db.get_database_backend();
        let now = self.now();
        let mut values: Vec<SqlValue> = vec![
            req.worker_id.into(),
            now.into(),
            (now + lease_delta(req.lease)).into(),
            req.queue.into(),
            (req.limit as i64).into(),
        ];
        let kinds = req
            .kinds
            .iter()
            .map(|k| {
                values.push(k.clone().into());
                format!("${}", values.len())
            })
            .collect::<Vec<_>>()
            .join(", ");
        let pick = format!(
            "SELECT id FROM jobs WHERE queue = $4 AND state IN {WAITING_SQL} \
             AND scheduled_at <= $2 AND kind IN ({kinds}) \
             ORDER BY priority, scheduled_at, id"
        );
        let set = "state = 'running', attempt = attempt + 1, attempted_by = $1, \
                   started_at = $2, lease_expires_at = $3, updated_at = $2";
        let sql = match backend {
            DbBackend::Postgres => format!(
                "WITH picked AS ({pick} LIMIT $5 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET {set} FROM picked WHERE jobs.id = picked.id RETURNING jobs.*"
            ),
            _ => format!("UPDATE jobs SET {set} WHERE id IN ({pick} LIMIT $5) RETURNING *"),
        };
        let claimed = jobs::Entity::find()
            .from_raw_sql(statement(backend, &sql, values))
            .all(db)
            .await?;
        for job in &claimed {
            announce(db, &job.kind, job.id, job.state).await;
        }
        Ok(claimed)
    }

    /// Extends the lease of a running job this worker owns; `false` when it no longer owns
    /// it (rescued elsewhere or cancelled): the worker should stop working on it.
    pub async fn heartbeat(
        &self,
        db: &impl ConnectionTrait,
        id: i32,
        worker_id: &str,
        lease: Duration,
    ) -> Result<bool> {
        let now = self.now();
        let res = jobs::Entity::update_many()
            .col_expr(Col::LeaseExpiresAt, Expr::value(now + lease_delta(lease)))
            .col_expr(Col::UpdatedAt, Expr::value(now))
            .filter(owned_by(id, worker_id))
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records success with `result`, if `job` (as claimed) is still this worker's.
    pub async fn complete(
        &self,
        db: &impl ConnectionTrait,
        job: &jobs::Model,
        result: Value,
    ) -> Result<Outcome> {
        let now = self.now();
        let res = jobs::Entity::update_many()
            .col_expr(Col::State, Expr::value(state::COMPLETED))
            .col_expr(Col::Result, Expr::value(result))
            .col_expr(Col::Error, Expr::value(Option::<String>::None))
            .col_expr(
                Col::LeaseExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Col::FinishedAt, Expr::value(now))
            .col_expr(Col::UpdatedAt, Expr::value(now))
            .filter(owned_by(
                job.id,
                job.attempted_by.as_deref().unwrap_or_default(),
            ))
            .exec(db)
            .await?;
        Ok(if res.rows_affected == 1 {
            announce(db, &job.kind, job.id, JobState::Completed).await;
            Outcome::Completed
        } else {
            Outcome::NotOwner
        })
    }

    /// Records a failed attempt of `job` (as claimed), if it is still this worker's: due again
    /// after the backoff, or discarded when attempts are spent.
    pub async fn fail(
        &self,
        db: &impl ConnectionTrait,
        job: &jobs::Model,
        error: &str,
    ) -> Result<Outcome> {
        let guard = "state = 'running' AND attempted_by = $worker";
        let worker = job.attempted_by.as_deref();
        self.finish_attempt(db, job, error, guard, worker, Then::Backoff)
            .await
    }

    /// Records a failed attempt of `job` (as claimed) that no retry can mend, if it is still
    /// this worker's: the job is discarded whatever attempts it has left.
    pub async fn discard(
        &self,
        db: &impl ConnectionTrait,
        job: &jobs::Model,
        error: &str,
    ) -> Result<Outcome> {
        let guard = "state = 'running' AND attempted_by = $worker";
        let worker = job.attempted_by.as_deref();
        self.finish_attempt(db, job, error, guard, worker, Then::GiveUp)
            .await
    }

    /// The shared end of a failed (or abandoned) attempt: appends to `errors`, then moves the
    /// job to `retryable` or `discarded` under `guard` (SQL with `$worker` and `$now`
    /// placeholders); `then` says when it may run again.
    async fn finish_attempt(
        &self,
        db: &impl ConnectionTrait,
        job: &jobs::Model,
        error: &str,
        guard: &str,
        worker: Option<&str>,
        then: Then,
    ) -> Result<Outcome> {
        let backend = db.get_database_backend();
        let now = self.now();
        let mut history = match &job.errors {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        history.push(json!({
            "attempt": job.attempt,
            "at": now,
            "worker": worker,
            "error": error,
        }));
        // Twice at most: a concurrent enqueue of the same unique key can win the waiting slot
        // between our check and our update; the second round sees it.
        for _ in 0..2 {
            let superseded_by = match &job.unique_key {
                Some(key) => self.waiting_duplicate(db, key, job.id).await?,
                None => None,
            };
            let out_of_attempts = then == Then::GiveUp || job.attempt >= job.max_attempts;
            let (new_state, scheduled_at, finished_at, outcome) =
                if out_of_attempts || superseded_by.is_some() {
                    (
                        JobState::Discarded,
                        job.scheduled_at,
                        Some(now),
                        Outcome::Discarded,
                    )
                } else {
                    let delay = match then {
                        Then::Now => Duration::ZERO,
                        _ => self.backoff.jittered(job.attempt),
                    };
                    let at = crate::clock::to_micros(now + lease_delta(delay));
                    (JobState::Retryable, at, None, Outcome::Retryable(at))
                };
            let message = match superseded_by {
                Some(other) if !out_of_attempts => {
                    format!("{error} (not retried: job {other} with the same key is waiting)")
                }
                _ => error.to_string(),
            };
            let sql = format!(
                "UPDATE jobs SET state = $1, error = $2, errors = $3, scheduled_at = $4, \
                 finished_at = $5, lease_expires_at = NULL, updated_at = $6 \
                 WHERE id = $7 AND {}",
                guard.replace("$worker", "$8").replace("$now", "$6")
            );
            let values: Vec<SqlValue> = vec![
                new_state.as_str().into(),
                message.into(),
                Value::Array(history.clone()).into(),
                scheduled_at.into(),
                finished_at.into(),
                now.into(),
                job.id.into(),
                worker.map(str::to_string).into(),
            ];
            match db.execute_raw(statement(backend, &sql, values)).await {
                Ok(res) if res.rows_affected() == 1 => {
                    if new_state == JobState::Retryable {
                        wake::announce(db).await?;
                    }
                    announce(db, &job.kind, job.id, new_state).await;
                    return Ok(outcome);
                }
                Ok(_) => return Ok(Outcome::NotOwner),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Internal(format!(
            "job {} could not be rescheduled: its unique key keeps conflicting",
            job.id
        )))
    }

    async fn waiting_duplicate(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        id: i32,
    ) -> Result<Option<i32>> {
        Ok(jobs::Entity::find()
            .filter(Col::UniqueKey.eq(key))
            .filter(Col::Id.ne(id))
            .filter(Col::State.is_in(WAITING))
            .one(db)
            .await?
            .map(|j| j.id))
    }

    /// When the earliest lease of a running job expires (none: nothing runs).
    pub async fn next_lease_expiry(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<DateTime<Utc>>> {
        #[derive(FromQueryResult)]
        struct Expiry {
            at: Option<DateTime<Utc>>,
        }
        Ok(jobs::Entity::find()
            .select_only()
            .column_as(Col::LeaseExpiresAt.min(), "at")
            .filter(Col::State.eq(JobState::Running))
            .into_model::<Expiry>()
            .one(db)
            .await?
            .and_then(|e| e.at))
    }

    /// Moves running jobs whose lease expired back to `retryable` at once (or `discarded`
    /// when out of attempts). Safe to run from every worker at once. Returns the rescued
    /// jobs' ids.
    pub async fn rescue(&self, db: &impl ConnectionTrait) -> Result<Vec<i32>> {
        let now = self.now();
        let expired = jobs::Entity::find()
            .filter(Col::State.eq(JobState::Running))
            .filter(Col::LeaseExpiresAt.lt(now))
            .order_by_asc(Col::Id)
            .limit(1000)
            .all(db)
            .await?;
        let mut rescued = Vec::new();
        for job in expired {
            let message = format!(
                "lease expired at {} while worker {} ran attempt {}: the worker stopped or hung",
                job.lease_expires_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
                job.attempted_by.as_deref().unwrap_or("?"),
                job.attempt
            );
            // Still running under the same owner and attempt, and still expired: a heartbeat
            // that extended the lease meanwhile wins.
            let guard = format!(
                "state = 'running' AND attempted_by = $worker AND attempt = {} \
                 AND lease_expires_at < $now",
                job.attempt
            );
            let outcome = self
                .finish_attempt(
                    db,
                    &job,
                    &message,
                    &guard,
                    job.attempted_by.as_deref(),
                    Then::Now,
                )
                .await;
            match outcome {
                Ok(Outcome::NotOwner) => {}
                Ok(_) => rescued.push(job.id),
                Err(e) => tracing::warn!(job = job.id, error = %e, "could not rescue job"),
            }
        }
        Ok(rescued)
    }

    /// Cancels a job: a waiting job becomes `cancelled` at once; a running job too, and its
    /// worker notices at its next heartbeat, stops the handler and records nothing.
    /// Finished jobs cannot be cancelled.
    pub async fn cancel(&self, db: &impl ConnectionTrait, id: i32) -> Result<jobs::Model> {
        let now = self.now();
        let error = Expr::case(Col::State.eq(JobState::Running), "cancelled while running")
            .finally(Expr::col(Col::Error));
        let updated = jobs::Entity::update_many()
            .col_expr(Col::State, Expr::value(state::CANCELLED))
            .col_expr(Col::FinishedAt, Expr::value(now))
            .col_expr(Col::UpdatedAt, Expr::value(now))
            .col_expr(
                Col::LeaseExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Col::Error, error.into())
            .filter(Col::Id.eq(id))
            .filter(Col::State.is_in(WAITING.into_iter().chain([JobState::Running])))
            .exec_with_returning(db)
            .await?
            .pop();
        match updated {
            Some(job) => {
                announce(db, &job.kind, job.id, job.state).await;
                Ok(job)
            }
            None => {
                let job = get(db, id).await?;
                Err(Error::Conflict(format!(
                    "job {id} is {} and can no longer be cancelled",
                    job.state
                )))
            }
        }
    }

    /// Puts a finished job (`completed`, `discarded`, `cancelled`) back to `available`, due
    /// now, with `attempt` reset to 0 (see the module docs). Refused while an identical
    /// unique job is waiting.
    pub async fn retry(&self, db: &impl ConnectionTrait, id: i32) -> Result<jobs::Model> {
        let job = get(db, id).await?;
        if let Some(key) = &job.unique_key {
            if let Some(other) = self.waiting_duplicate(db, key, id).await? {
                return Err(Error::Conflict(format!(
                    "job {other} with the same type and payload is already waiting"
                )));
            }
        }
        let now = self.now();
        let none = || Expr::value(Option::<String>::None);
        let no_time = || Expr::value(Option::<DateTime<Utc>>::None);
        let result = jobs::Entity::update_many()
            .col_expr(Col::State, Expr::value(state::AVAILABLE))
            .col_expr(Col::Attempt, Expr::value(0))
            .col_expr(Col::ScheduledAt, Expr::value(now))
            .col_expr(Col::FinishedAt, no_time())
            .col_expr(Col::StartedAt, no_time())
            .col_expr(Col::AttemptedBy, none())
            .col_expr(Col::LeaseExpiresAt, no_time())
            .col_expr(Col::Result, Expr::value(Option::<Value>::None))
            .col_expr(Col::Error, none())
            .col_expr(Col::UpdatedAt, Expr::value(now))
            .filter(Col::Id.eq(id))
            // Finished jobs, and a failed one waiting for its backoff ("retry now").
            .filter(Col::State.is_in(FINISHED.into_iter().chain([JobState::Retryable])))
            .exec_with_returning(db)
            .await
            .map(|mut rows| rows.pop());
        match result {
            Ok(Some(job)) => {
                wake::announce(db).await?;
                announce(db, &job.kind, job.id, job.state).await;
                Ok(job)
            }
            Ok(None) => Err(Error::Conflict(format!(
                "job {id} is {} and cannot be retried (only completed, discarded or cancelled jobs can)",
                get(db, id).await?.state
            ))),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "a job with the same type and payload as job {id} is already waiting"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes finished jobs (`completed`, `discarded`, `cancelled`) that finished more than
    /// `older_than` ago; returns how many.
    pub async fn purge_finished(
        &self,
        db: &impl ConnectionTrait,
        older_than: Duration,
    ) -> Result<u64> {
        let cutoff = self.now() - lease_delta(older_than);
        let res = jobs::Entity::delete_many()
            .filter(Col::State.is_in(FINISHED))
            .filter(Col::FinishedAt.lt(cutoff))
            .exec(db)
            .await?;
        Ok(res.rows_affected)
    }
}

/// Publishes a job's new state to live pages and streams.
async fn announce(db: &impl ConnectionTrait, kind: &str, id: i32, state: JobState) {
    let change = crate::events::Change::Job {
        id,
        kind: kind.to_string(),
        state,
    };
    crate::events::publish(db, change).await;
}

/// One job by id.
pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<jobs::Model> {
    jobs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("job {id}")))
}
