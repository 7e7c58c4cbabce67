//! The worker: claims jobs of the kinds it has handlers for, runs up to `concurrency` at a
//! time, heartbeats their leases, records results and errors, rescues expired leases and
//! purges old finished jobs. Any number of workers, in any number of processes and hosts,
//! may share one PostgreSQL database.
//!
//! A handler that returns `Err` or panics is a failed attempt, retried after a backoff; a
//! [`JobFailure::permanent`] one (retrying cannot help) discards the job at once. A handler whose job was
//! cancelled, or whose lease was lost, is dropped at the next heartbeat and nothing it
//! returns is recorded. Dropping the future of [`Worker::run`] (or aborting its task) drops
//! every running handler too — as if the process died; the rescuer re-runs those jobs once
//! their leases expire.

use crate::db::entities::jobs;
use crate::error::Result;
use crate::jobs::queue::{ClaimRequest, Outcome, Queue, DEFAULT_QUEUE};
use crate::jobs::wake;
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What a handler gets: the job as claimed, the database, and the queue (to enqueue
/// follow-ups).
#[derive(Clone, Debug)]
pub struct JobContext {
    pub job: jobs::Model,
    pub db: DatabaseConnection,
    pub queue: Queue,
}

/// Why an attempt failed: its message (stored on the job) and whether another attempt
/// could succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    /// Retrying cannot help (bad credentials, invalid input): discard the job now.
    pub permanent: bool,
}

impl JobFailure {
    /// A failure that another attempt may not repeat.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure every attempt would repeat.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<String> for JobFailure {
    fn from(message: String) -> Self {
        Self::retryable(message)
    }
}

/// A job handler: the job's result (stored on the job) or why it failed.
pub type Handler =
    Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<Value, JobFailure>> + Send + Sync>;

/// Job kind → handler.
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    handlers: HashMap<String, Handler>,
}

impl std::fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerRegistry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl HandlerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `kind`, replacing any earlier one; each error it returns is
    /// a retryable failure.
    pub fn register<F, Fut>(&mut self, kind: &str, handler: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |ctx| handler(ctx).map(|r| r.map_err(JobFailure::from)).boxed()),
        );
        self
    }

    /// Registers a handler that says of each failure whether it is permanent.
    pub fn register_classified<F, Fut>(&mut self, kind: &str, handler: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobFailure>> + Send + 'static,
    {
        self.handlers
            .insert(kind.to_string(), Arc::new(move |ctx| handler(ctx).boxed()));
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Unique among all workers sharing the database (shown as the job's `attempted_by`).
    pub id: String,
    pub queue: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Poll this often when no wake-up arrives.
    pub poll_interval: Duration,
    /// A claimed job's lease; heartbeats renew it every `lease / 3`.
    pub lease: Duration,
    /// Rescue expired leases (and purge) this often.
    pub maintenance_interval: Duration,
    /// Delete finished jobs older than this; `None` keeps them.
    pub retention: Option<Duration>,
    /// Open a PostgreSQL `LISTEN` (one per process is enough: it wakes every worker in it).
    pub listen: bool,
}

impl WorkerConfig {
    /// Defaults with a fresh id: `<host>:<pid>:<random>`.
    pub fn new(concurrency: usize) -> Self {
        Self {
            id: default_worker_id(),
            queue: DEFAULT_QUEUE.to_string(),
            concurrency: concurrency.max(1),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            maintenance_interval: Duration::from_secs(15),
            retention: Some(Duration::from_secs(14 * 24 * 3600)),
            listen: true,
        }
    }
}

/// `<host>:<pid>:<8 random hex digits>`.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

/// A worker over one database.
pub struct Worker {
    db: DatabaseConnection,
    registry: Arc<HandlerRegistry>,
    config: WorkerConfig,
    queue: Queue,
}

impl Worker {
    pub fn new(db: DatabaseConnection, registry: HandlerRegistry, config: WorkerConfig) -> Self {
        Self {
            db,
            registry: Arc::new(registry),
            config,
            queue: Queue::default(),
        }
    }

    /// Uses `queue` (its clock and backoff) instead of the default.
    pub fn with_queue(mut self, queue: Queue) -> Self {
        self.queue = queue;
        self
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Runs until `shutdown` resolves, then stops claiming and waits for running jobs.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let kinds = self.registry.kinds();
        tracing::info!(worker = %self.config.id, concurrency = self.config.concurrency,
            kinds = ?kinds, "job worker started");
        let mut background = JoinSet::new();
        if self.config.listen {
            background.spawn(wake::listen(self.db.clone()));
        }
        background.spawn(maintain(
            self.db.clone(),
            self.queue.clone(),
            self.config.clone(),
        ));
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let mut running: JoinSet<()> = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while running.try_join_next().is_some() {}
            let first = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
                _ = &mut shutdown => break,
            };
            let notified = wake::notifier().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let request = ClaimRequest {
                worker_id: &self.config.id,
                queue: &self.config.queue,
                kinds: &kinds,
                limit: permits.len() as u64,
                lease: self.config.lease,
            };
            let claimed = match self.queue.claim(&self.db, &request).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(worker = %self.config.id, error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            let idle = claimed.is_empty();
            for job in claimed {
                let permit = permits.pop().expect("claimed no more jobs than permits");
                let run = Execution {
                    db: self.db.clone(),
                    queue: self.queue.clone(),
                    registry: self.registry.clone(),
                    lease: self.config.lease,
                    worker: self.config.id.clone(),
                };
                running.spawn(async move {
                    run.execute(job).await;
                    drop(permit);
                });
            }
            drop(permits);
            if idle {
                tokio::select! {
                    _ = notified => {},
                    _ = tokio::time::sleep(self.config.poll_interval) => {},
                    _ = &mut shutdown => break,
                }
            }
        }
        tracing::info!(worker = %self.config.id, running = running.len(), "job worker stopping; waiting for running jobs");
        background.shutdown().await;
        while running.join_next().await.is_some() {}
        Ok(())
    }
}

/// Rescue of expired leases — checked again just after the earliest running lease
/// expires, so a dead worker's job runs again about one lease after it died — and a
/// periodic purge of old finished jobs.
async fn maintain(db: DatabaseConnection, queue: Queue, config: WorkerConfig) {
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        match queue.rescue(&db).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(jobs = ?ids, "rescued jobs whose lease expired")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rescuing expired jobs failed"),
        }
        let purge_due = last_purge.is_none_or(|t| t.elapsed() >= config.maintenance_interval);
        if let (Some(retention), true) = (config.retention, purge_due) {
            last_purge = Some(std::time::Instant::now());
            match queue.purge_finished(&db, retention).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "purged old finished jobs"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging finished jobs failed"),
            }
        }
        let wait = match queue.next_lease_expiry(&db).await {
            Ok(Some(at)) => (at - queue.now())
                .to_std()
                .unwrap_or_default()
                .saturating_add(RESCUE_MARGIN)
                .clamp(RESCUE_MARGIN, config.maintenance_interval),
            // Nothing runs: a job claimed meanwhile cannot expire sooner than one lease.
            _ => config.lease.min(config.maintenance_interval),
        };
        tokio::time::sleep(wait).await;
    }
}

/// How long after a lease's expiry the rescue looks (clock skew between processes).
const RESCUE_MARGIN: Duration = Duration::from_millis(250);

/// One claimed job being run.
struct Execution {
    db: DatabaseConnection,
    queue: Queue,
    registry: Arc<HandlerRegistry>,
    lease: Duration,
    worker: String,
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-text panic payload)".to_string()
    }
}

impl Execution {
    async fn execute(self, job: jobs::Model) {
        let Some(handler) = self.registry.get(&job.kind).cloned() else {
            let error = format!("no handler for job type `{}`", job.kind);
            self.record(&job, Err(JobFailure::retryable(error))).await;
            return;
        };
        let ctx = JobContext {
            job: job.clone(),
            db: self.db.clone(),
            queue: self.queue.clone(),
        };
        let work = AssertUnwindSafe(handler(ctx)).catch_unwind();
        tokio::pin!(work);
        let beat = (self.lease / 3).max(Duration::from_millis(10));
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        let outcome = loop {
            tokio::select! {
                out = &mut work => break match out {
                    Ok(result) => result,
                    Err(panic) => Err(JobFailure::retryable(format!("handler panicked: {}", panic_message(panic.as_ref())))),
                },
                _ = heartbeat.tick() => {
                    match self.queue.heartbeat(&self.db, job.id, &self.worker, self.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(job = job.id, worker = %self.worker,
                                "job was cancelled or its lease lost; stopping its handler");
                            return;
                        }
                        Err(e) => tracing::warn!(job = job.id, error = %e, "heartbeat failed"),
                    }
                }
            }
        };
        self.record(&job, outcome).await;
    }

    async fn record(&self, job: &jobs::Model, outcome: Result<Value, JobFailure>) {
        let written = match &outcome {
            Ok(result) => self.queue.complete(&self.db, job, result.clone()).await,
            Err(f) if f.permanent => self.queue.discard(&self.db, job, &f.message).await,
            Err(f) => self.queue.fail(&self.db, job, &f.message).await,
        };
        let outcome = outcome.map_err(|f| f.message);
        match written {
            Ok(Outcome::NotOwner) => tracing::warn!(job = job.id, worker = %self.worker,
                "job was cancelled or rescued while running; its outcome is not recorded"),
            Ok(Outcome::Completed) => {
                tracing::debug!(job = job.id, kind = %job.kind, "job completed")
            }
            Ok(Outcome::Retryable(at)) => tracing::warn!(job = job.id, kind = %job.kind,
                error = outcome.as_ref().err().map(String::as_str).unwrap_or(""),
                retry_at = %at, "job failed; will retry"),
            Ok(Outcome::Discarded) => tracing::error!(job = job.id, kind = %job.kind,
                error = outcome.as_ref().err().map(String::as_str).unwrap_or(""),
                "job failed for the last time; discarded"),
            Err(e) => tracing::error!(job = job.id, error = %e,
                "could not record the job's outcome; the rescuer will retry it"),
        }
    }
}
