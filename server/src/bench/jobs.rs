//! `fillbook bench jobs`: the job queue's enqueue→start latency and no-op throughput on the
//! database of `DATABASE_URL`.
//!
//! * in-process latency: one idle worker in this process, woken by the in-process notify;
//! * cross-process latency: a `fillbook bench worker` child process (the product's worker
//!   plus the [`TEST_NOOP`] kind) with a 1 s poll interval, so on PostgreSQL its pickup is
//!   the LISTEN/NOTIFY path and on SQLite it is polling; measured as
//!   `started_at - created_at` of each job row;
//! * throughput: `--workers` in-process workers (one job at a time each) draining a burst.
//!
//! Bench jobs run in their own queue (`bench`) or kind (`test.noop`) and are deleted after.

use crate::db;
use crate::error::{Error, Result};
use crate::jobs::{HandlerRegistry, JobContext, NewJob, Queue, Worker, WorkerConfig};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A job kind that does nothing and succeeds. Only `fillbook bench worker` runs it (the
/// cross-process benchmark, the PostgreSQL restart drill and the multi-process test measure
/// the queue with it); the product never enqueues it and `fillbook worker` does not claim it.
pub const TEST_NOOP: &str = "test.noop";

/// Adds [`TEST_NOOP`] to a worker's handlers (what `fillbook bench worker` runs on top of the
/// product's kinds).
pub fn register_noop(registry: &mut HandlerRegistry) {
    registry.register(TEST_NOOP, noop);
}

/// [`TEST_NOOP`]: succeeds at once, reporting which worker attempt ran it.
async fn noop(ctx: JobContext) -> std::result::Result<Value, String> {
    Ok(json!({ "attempt": ctx.job.attempt, "worker": ctx.job.attempted_by }))
}

const BENCH_QUEUE: &str = "bench";
const BENCH_KIND: &str = "bench.noop";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        percentile(&samples, 99.0).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn bench_worker(db: &DatabaseConnection, registry: HandlerRegistry, listen: bool) -> Worker {
    let mut config = WorkerConfig::new(1);
    config.queue = BENCH_QUEUE.into();
    config.poll_interval = Duration::from_secs(1);
    config.retention = None;
    config.listen = listen;
    Worker::new(db.clone(), registry, config)
}

async fn delete_bench_jobs(db: &DatabaseConnection) -> Result<()> {
    db.execute_raw(crate::db::statement(
        db.get_database_backend(),
        "DELETE FROM jobs WHERE queue = $1 OR kind = $2",
        [BENCH_QUEUE.into(), TEST_NOOP.into()],
    ))
    .await?;
    Ok(())
}

/// Runs the benchmark and prints its figures.
pub async fn run(url: &str, jobs: usize, samples: usize, workers: usize) -> Result<()> {
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    delete_bench_jobs(&db).await?;
    println!(
        "job queue benchmark on {:?} ({})",
        db.get_database_backend(),
        db::redact(url)
    );
    in_process_latency(&db, samples).await?;
    cross_process_latency(&db, url, samples.min(100)).await?;
    throughput(&db, jobs, workers).await?;
    delete_bench_jobs(&db).await
}

async fn in_process_latency(db: &DatabaseConnection, samples: usize) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let mut registry = HandlerRegistry::new();
    registry.register(BENCH_KIND, move |_| {
        let _ = tx.send(Instant::now());
        async { Ok(json!({})) }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(bench_worker(db, registry, true).run(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queue = Queue::default();
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t0 = Instant::now();
        queue
            .enqueue(db, NewJob::new(BENCH_KIND, json!({})).queue(BENCH_QUEUE))
            .await?;
        let started = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .map_err(|_| Error::Internal("a bench job did not start within 10 s".into()))?
            .ok_or_else(|| Error::Internal("bench worker stopped".into()))?;
        latencies.push(started.duration_since(t0));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    let _ = worker.await;
    report(
        "enqueue→start latency, worker in this process (notify)",
        latencies,
    );
    Ok(())
}

async fn cross_process_latency(db: &DatabaseConnection, url: &str, samples: usize) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Internal(format!("cannot find the fillbook binary: {e}")))?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "bench",
            "worker",
            "--workers",
            "1",
            "--poll-interval-ms",
            "1000",
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Internal(format!("cannot start a worker process: {e}")))?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queue = Queue::default();
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let job = queue
            .enqueue(db, NewJob::new(TEST_NOOP, json!({})))
            .await?
            .job;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let row = crate::jobs::queue::get(db, job.id).await?;
            if let (Some(started), true) = (
                row.started_at,
                row.state == app::models::JobState::Completed,
            ) {
                latencies.push((started - row.created_at).to_std().unwrap_or_default());
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                return Err(Error::Internal(format!(
                    "job {} was not run by the worker process within 10 s",
                    job.id
                )));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let _ = child.kill().await;
    let path = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        "LISTEN/NOTIFY"
    } else {
        "polling every 1 s: SQLite has no cross-process notify"
    };
    report(
        &format!("enqueue→start latency, worker in another process ({path})"),
        latencies,
    );
    Ok(())
}

async fn throughput(db: &DatabaseConnection, jobs: usize, workers: usize) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let queue = Queue::default();
    for _ in 0..jobs {
        queue
            .enqueue(&txn, NewJob::new(BENCH_KIND, json!({})).queue(BENCH_QUEUE))
            .await?;
    }
    txn.commit().await?;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<()>();
    let mut stops = Vec::new();
    let mut handles = Vec::new();
    let start = Instant::now();
    for i in 0..workers.max(1) {
        let done = done_tx.clone();
        let mut registry = HandlerRegistry::new();
        registry.register(BENCH_KIND, move |_| {
            let _ = done.send(());
            async { Ok(json!({})) }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        handles.push(tokio::spawn(bench_worker(db, registry, i == 0).run(
            async {
                let _ = stopped.await;
            },
        )));
    }
    for _ in 0..jobs {
        tokio::time::timeout(Duration::from_secs(120), done_rx.recv())
            .await
            .map_err(|_| Error::Internal("throughput run stalled for 120 s".into()))?;
    }
    // Handlers have run; wait until every completion is written.
    loop {
        let row = db
            .query_one_raw(crate::db::statement(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM jobs WHERE queue = $1 AND state <> 'completed'",
                [BENCH_QUEUE.into()],
            ))
            .await?
            .ok_or_else(|| Error::Internal("count returned no row".into()))?;
        if row.try_get::<i64>("", "n")? == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed();
    for stop in stops {
        let _ = stop.send(());
    }
    for h in handles {
        let _ = h.await;
    }
    println!(
        "no-op throughput, {} workers: {jobs} jobs in {:.2} s = {:.0} jobs/s",
        workers.max(1),
        elapsed.as_secs_f64(),
        jobs as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
