//! The job queue's conformance suite, run on SQLite and PostgreSQL with an
//! injectable clock: uniqueness, exclusivity, leases and rescue, backoff, discard, cancel,
//! panics, retention, a worker killed mid-job — and two worker processes on one PostgreSQL.

use crate::support;

use app::models::JobKind;
use chrono::{TimeZone, Utc};
use fillbook::bench::jobs::TEST_NOOP;
use fillbook::clock::{Clock, ManualClock};
use fillbook::db::entities::jobs as job_rows;
use fillbook::jobs::kinds;
use fillbook::jobs::queue::{self, state, ClaimRequest};
use fillbook::jobs::{Backoff, HandlerRegistry, NewJob, Outcome, Queue, Worker, WorkerConfig};
use fillbook::Error;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::TestDb;
use tokio::sync::{mpsc, oneshot};

const KIND: &str = "test.work";

fn clock() -> Arc<ManualClock> {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap())
}

fn queue_with(clock: &Arc<ManualClock>, backoff: Backoff) -> Queue {
    Queue::new(clock.clone()).with_backoff(backoff)
}

fn no_jitter() -> Backoff {
    Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(8),
        jitter: 0.0,
    }
}

fn kinds_list() -> Vec<String> {
    vec![KIND.to_string()]
}

async fn claim_one(q: &Queue, db: &DatabaseConnection, worker: &str) -> Option<job_rows::Model> {
    let kinds = kinds_list();
    let mut claimed = q
        .claim(
            db,
            &ClaimRequest {
                worker_id: worker,
                queue: "default",
                kinds: &kinds,
                limit: 1,
                lease: Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
    assert!(claimed.len() <= 1);
    claimed.pop()
}

async fn count_jobs(db: &DatabaseConnection) -> u64 {
    job_rows::Entity::find().count(db).await.unwrap()
}

async fn count_in(db: &DatabaseConnection, st: &str) -> u64 {
    job_rows::Entity::find()
        .filter(job_rows::Column::State.eq(st))
        .count(db)
        .await
        .unwrap()
}

/// Runs `worker` until the returned sender fires (or is dropped).
fn spawn_worker(worker: Worker) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, handle)
}

fn config(id: &str) -> WorkerConfig {
    let mut c = WorkerConfig::new(1);
    c.id = id.to_string();
    c.poll_interval = Duration::from_millis(50);
    c.retention = None;
    c
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

support::db_test!(unique_jobs_collapse_while_waiting, |t: TestDb| async move {
    let db = &t.db;
    let q = Queue::default();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let e = q
            .enqueue(db, kinds::unique_job(JobKind::TradesSync, json!({})))
            .await
            .unwrap();
        ids.push((e.job.id, e.inserted));
    }
    assert!(ids[0].1, "the first click inserts");
    assert!(ids[1..].iter().all(|(id, ins)| *id == ids[0].0 && !ins));
    assert_eq!(count_jobs(db).await, 1);

    // The same payload written in another key order is the same job.
    let e = q
        .enqueue(
            db,
            kinds::unique_job(
                JobKind::TradesSync,
                json!({"lookback_days": 3, "gateway": "gw"}),
            ),
        )
        .await
        .unwrap();
    let again = q
        .enqueue(
            db,
            kinds::unique_job(
                JobKind::TradesSync,
                json!({"gateway": "gw", "lookback_days": 3}),
            ),
        )
        .await
        .unwrap();
    assert!(e.inserted && !again.inserted && e.job.id == again.job.id);

    // Once the first is running, exactly one follow-up waits.
    let kinds = vec![JobKind::TradesSync.to_string()];
    let running = q
        .claim(
            db,
            &ClaimRequest {
                worker_id: "w1",
                queue: "default",
                kinds: &kinds,
                limit: 1,
                lease: Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
    assert_eq!(running[0].id, ids[0].0);
    let mut follow_ups = Vec::new();
    for _ in 0..5 {
        let e = q
            .enqueue(db, kinds::unique_job(JobKind::TradesSync, json!({})))
            .await
            .unwrap();
        follow_ups.push((e.job.id, e.inserted));
    }
    assert!(follow_ups[0].1 && follow_ups[0].0 != ids[0].0);
    assert!(follow_ups[1..]
        .iter()
        .all(|(id, ins)| *id == follow_ups[0].0 && !ins));
    assert_eq!(count_jobs(db).await, 3);

    // The running one fails: the waiting follow-up covers it, so it is not retried as well.
    let outcome = q.fail(db, &running[0], "gateway down").await.unwrap();
    assert_eq!(outcome, Outcome::Discarded);
    let failed = queue::get(db, running[0].id).await.unwrap();
    assert!(failed.error.unwrap().contains("not retried"));

    // A payload problem is refused at enqueue, naming the key.
    let err = fillbook::work::handlers::enqueue(db, "positions.sync", json!({"lookback": 3}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { field, .. } if field == "payload.lookback"));
});

support::db_test!(
    enqueue_joins_the_callers_transaction,
    |t: TestDb| async move {
        let q = Queue::default();
        let txn = t.db.begin().await.unwrap();
        q.enqueue(&txn, NewJob::new(KIND, json!({}))).await.unwrap();
        txn.rollback().await.unwrap();
        assert_eq!(count_jobs(&t.db).await, 0);
        let txn = t.db.begin().await.unwrap();
        q.enqueue(&txn, NewJob::new(KIND, json!({}))).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(count_jobs(&t.db).await, 1);
    }
);

support::db_test!(
    eight_workers_run_each_of_1000_jobs_once,
    |t: TestDb| async move {
        let db = &t.db;
        let q = Queue::default();
        let txn = db.begin().await.unwrap();
        for i in 0..1000 {
            q.enqueue(&txn, NewJob::new(KIND, json!({ "n": i })))
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        let runs: Arc<Mutex<HashMap<i32, u32>>> = Arc::default();
        let mut workers = Vec::new();
        for w in 0..8 {
            let runs = runs.clone();
            let mut registry = HandlerRegistry::new();
            registry.register(KIND, move |ctx| {
                *runs.lock().unwrap().entry(ctx.job.id).or_default() += 1;
                async { Ok(json!({})) }
            });
            let mut c = config(&format!("w{w}"));
            c.concurrency = 2;
            c.listen = w == 0;
            workers.push(spawn_worker(Worker::new(db.clone(), registry, c)));
        }
        wait_until("1000 completed jobs", || async {
            count_in(db, state::COMPLETED).await == 1000
        })
        .await;
        for (stop, handle) in workers {
            stop.send(()).unwrap();
            handle.await.unwrap();
        }
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 1000);
        assert!(runs.values().all(|n| *n == 1), "a job ran twice");
        let rows = job_rows::Entity::find().all(db).await.unwrap();
        assert!(rows
            .iter()
            .all(|j| j.attempt == 1 && j.state == "completed"));
        let by_worker: std::collections::HashSet<_> =
            rows.iter().filter_map(|j| j.attempted_by.clone()).collect();
        assert!(by_worker.len() > 1, "the work was shared");
    }
);

support::db_test!(expired_leases_are_rescued, |t: TestDb| async move {
    let db = &t.db;
    let clock = clock();
    let q = queue_with(&clock, no_jitter());
    q.enqueue(db, NewJob::new(KIND, json!({})).max_attempts(2))
        .await
        .unwrap();
    let job = claim_one(&q, db, "w1").await.unwrap();
    assert_eq!((job.attempt, job.attempted_by.as_deref()), (1, Some("w1")));
    assert_eq!(
        job.lease_expires_at,
        Some(clock.now() + chrono::Duration::seconds(30))
    );
    assert!(
        claim_one(&q, db, "w2").await.is_none(),
        "a running job is not claimable"
    );

    // A heartbeat keeps it alive past the first lease.
    clock.advance(chrono::Duration::seconds(20));
    assert!(q.rescue(db).await.unwrap().is_empty());
    assert!(q
        .heartbeat(db, job.id, "w1", Duration::from_secs(30))
        .await
        .unwrap());
    assert!(!q
        .heartbeat(db, job.id, "w2", Duration::from_secs(30))
        .await
        .unwrap());
    clock.advance(chrono::Duration::seconds(20));
    assert!(q.rescue(db).await.unwrap().is_empty());

    // Silence past the lease: rescued to retryable, and the old owner can no longer write.
    clock.advance(chrono::Duration::seconds(11));
    assert_eq!(q.rescue(db).await.unwrap(), vec![job.id]);
    let rescued = queue::get(db, job.id).await.unwrap();
    assert_eq!(rescued.state, "retryable");
    assert!(rescued.error.as_deref().unwrap().contains("lease expired"));
    assert_eq!(
        rescued.errors.as_ref().unwrap().as_array().unwrap().len(),
        1
    );
    assert_eq!(
        q.complete(db, &job, json!({"late": true})).await.unwrap(),
        Outcome::NotOwner
    );
    assert_eq!(q.fail(db, &job, "late").await.unwrap(), Outcome::NotOwner);
    assert_eq!(queue::get(db, job.id).await.unwrap().state, "retryable");

    // Second (last) attempt also goes silent: discarded.
    clock.advance(chrono::Duration::seconds(2));
    let job = claim_one(&q, db, "w2").await.unwrap();
    assert_eq!(job.attempt, 2);
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(q.rescue(db).await.unwrap(), vec![job.id]);
    let gone = queue::get(db, job.id).await.unwrap();
    assert_eq!(gone.state, "discarded");
    assert_eq!(gone.finished_at, Some(clock.now()));
});

support::db_test!(failures_back_off_then_discard, |t: TestDb| async move {
    let db = &t.db;
    let clock = clock();
    let q = queue_with(&clock, no_jitter());
    let id = q
        .enqueue(db, NewJob::new(KIND, json!({})).max_attempts(6))
        .await
        .unwrap()
        .job
        .id;
    let mut delays = Vec::new();
    for attempt in 1..=6 {
        let job = claim_one(&q, db, "w1").await.expect("due job is claimable");
        assert_eq!(job.attempt, attempt);
        match q.fail(db, &job, &format!("boom {attempt}")).await.unwrap() {
            Outcome::Retryable(at) => {
                delays.push((at - clock.now()).num_seconds());
                let row = queue::get(db, id).await.unwrap();
                assert_eq!((row.state.as_str(), row.scheduled_at), ("retryable", at));
                // Not due yet: nobody can claim it a second early.
                clock.advance(chrono::Duration::seconds(
                    (at - clock.now()).num_seconds() - 1,
                ));
                assert!(claim_one(&q, db, "w1").await.is_none());
                clock.advance(chrono::Duration::seconds(1));
            }
            Outcome::Discarded => assert_eq!(attempt, 6),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(delays, vec![1, 2, 4, 8, 8], "capped exponential backoff");
    let job = queue::get(db, id).await.unwrap();
    assert_eq!(job.state, "discarded");
    assert_eq!(job.error.as_deref(), Some("boom 6"));
    let history = job.errors.unwrap();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 6);
    assert_eq!(history[0]["error"], "boom 1");
    assert_eq!(history[5]["attempt"], 6);
    assert!(claim_one(&q, db, "w1").await.is_none());

    // Retry: a fresh budget, history kept.
    let retried = q.retry(db, id).await.unwrap();
    assert_eq!((retried.state.as_str(), retried.attempt), ("available", 0));
    assert_eq!(retried.errors.unwrap().as_array().unwrap().len(), 6);
    assert!(matches!(q.retry(db, id).await, Err(Error::Conflict(_))));
    assert_eq!(claim_one(&q, db, "w1").await.unwrap().attempt, 1);
});

#[test]
fn jitter_stays_within_its_bound() {
    let b = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(100),
        jitter: 0.1,
    };
    let samples: Vec<Duration> = (0..200).map(|_| b.jittered(2)).collect();
    assert!(samples
        .iter()
        .all(|d| *d >= Duration::from_secs(20) && *d <= Duration::from_secs(22)));
    assert!(samples.iter().any(|d| *d != samples[0]), "jitter varies");
    assert_eq!(b.delay(10), Duration::from_secs(100));
}

support::db_test!(
    cancel_stops_waiting_and_running_jobs,
    |t: TestDb| async move {
        let db = &t.db;
        let clock = clock();
        let q = queue_with(&clock, no_jitter());
        let waiting = q
            .enqueue(db, NewJob::new(KIND, json!({})))
            .await
            .unwrap()
            .job;
        let cancelled = q.cancel(db, waiting.id).await.unwrap();
        assert_eq!(cancelled.state, "cancelled");
        assert_eq!(cancelled.finished_at, Some(clock.now()));
        assert!(claim_one(&q, db, "w1").await.is_none());
        assert!(matches!(
            q.cancel(db, waiting.id).await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            q.cancel(db, 999_999).await,
            Err(Error::NotFound(_))
        ));

        // Running: cancelled at once; its worker's heartbeat and completion are refused.
        q.enqueue(db, NewJob::new(KIND, json!({}))).await.unwrap();
        let running = claim_one(&q, db, "w1").await.unwrap();
        assert_eq!(q.cancel(db, running.id).await.unwrap().state, "cancelled");
        assert!(!q
            .heartbeat(db, running.id, "w1", Duration::from_secs(30))
            .await
            .unwrap());
        assert_eq!(
            q.complete(db, &running, json!({})).await.unwrap(),
            Outcome::NotOwner
        );
        assert_eq!(queue::get(db, running.id).await.unwrap().state, "cancelled");
    }
);

support::db_test!(
    a_worker_drops_the_handler_of_a_cancelled_job,
    |t: TestDb| async move {
        let db = &t.db;
        let dropped = Arc::new(AtomicBool::new(false));
        let (started_tx, mut started_rx) = mpsc::unbounded_channel::<i32>();
        let mut registry = HandlerRegistry::new();
        let flag = dropped.clone();
        registry.register(KIND, move |ctx| {
            struct SetOnDrop(Arc<AtomicBool>);
            impl Drop for SetOnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let guard = SetOnDrop(flag.clone());
            let _ = started_tx.send(ctx.job.id);
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok(json!({}))
            }
        });
        let mut c = config("w1");
        c.lease = Duration::from_millis(300);
        let (stop, handle) = spawn_worker(Worker::new(db.clone(), registry, c));
        let id = Queue::default()
            .enqueue(db, NewJob::new(KIND, json!({})))
            .await
            .unwrap()
            .job
            .id;
        assert_eq!(started_rx.recv().await, Some(id));
        Queue::default().cancel(db, id).await.unwrap();
        wait_until("the handler to be dropped", || async {
            dropped.load(Ordering::SeqCst)
        })
        .await;
        stop.send(()).unwrap();
        handle.await.unwrap();
        let job = queue::get(db, id).await.unwrap();
        assert_eq!((job.state.as_str(), job.result), ("cancelled", None));
    }
);

support::db_test!(
    a_panicking_handler_is_a_failed_attempt,
    |t: TestDb| async move {
        let db = &t.db;
        let mut registry = HandlerRegistry::new();
        registry.register(KIND, |ctx| async move {
            if ctx.job.attempt == 1 {
                panic!("boom in attempt {}", ctx.job.attempt);
            }
            Ok(json!({"attempt": ctx.job.attempt}))
        });
        let q = Queue::default().with_backoff(Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(10),
            jitter: 0.0,
        });
        let (stop, handle) =
            spawn_worker(Worker::new(db.clone(), registry, config("w1")).with_queue(q.clone()));
        let id = q
            .enqueue(db, NewJob::new(KIND, json!({})))
            .await
            .unwrap()
            .job
            .id;
        wait_until("the retried job to complete", || async {
            queue::get(db, id).await.unwrap().state == "completed"
        })
        .await;
        stop.send(()).unwrap();
        handle.await.unwrap();
        let job = queue::get(db, id).await.unwrap();
        assert_eq!(job.attempt, 2);
        assert_eq!(job.result, Some(json!({"attempt": 2})));
        let errors = job.errors.unwrap();
        assert_eq!(
            errors[0]["error"], "handler panicked: boom in attempt 1",
            "the panic is recorded as the first attempt's error"
        );
    }
);

support::db_test!(results_and_errors_are_stored, |t: TestDb| async move {
    let db = &t.db;
    let mut registry = HandlerRegistry::new();
    registry.register(KIND, |ctx| async move {
        match ctx.job.payload["ok"].as_bool() {
            Some(true) => Ok(json!({"fetched": 3, "inserted": 2})),
            _ => Err("gateway refused the connection".to_string()),
        }
    });
    let q = Queue::default();
    let ok = q
        .enqueue(db, NewJob::new(KIND, json!({"ok": true})))
        .await
        .unwrap()
        .job
        .id;
    let bad = q
        .enqueue(db, NewJob::new(KIND, json!({"ok": false})).max_attempts(1))
        .await
        .unwrap()
        .job
        .id;
    let (stop, handle) = spawn_worker(Worker::new(db.clone(), registry, config("w1")));
    wait_until("both jobs to finish", || async {
        count_in(db, state::COMPLETED).await + count_in(db, state::DISCARDED).await == 2
    })
    .await;
    stop.send(()).unwrap();
    handle.await.unwrap();
    let ok = queue::get(db, ok).await.unwrap();
    assert_eq!(ok.result, Some(json!({"fetched": 3, "inserted": 2})));
    assert!(ok.finished_at.is_some() && ok.error.is_none());
    let bad = queue::get(db, bad).await.unwrap();
    assert_eq!(bad.state, "discarded");
    assert_eq!(bad.error.as_deref(), Some("gateway refused the connection"));
});

support::db_test!(
    retention_deletes_only_old_finished_jobs,
    |t: TestDb| async move {
        let db = &t.db;
        let clock = clock();
        let q = queue_with(&clock, no_jitter());
        let old_done = q
            .enqueue(db, NewJob::new(KIND, json!({"n": 1})))
            .await
            .unwrap()
            .job;
        let job = claim_one(&q, db, "w1").await.unwrap();
        q.complete(db, &job, json!({})).await.unwrap();
        let old_waiting = q
            .enqueue(db, NewJob::new(KIND, json!({"n": 2})))
            .await
            .unwrap()
            .job;
        clock.advance(chrono::Duration::days(10));
        let recent = q
            .enqueue(db, NewJob::new(KIND, json!({"n": 3})))
            .await
            .unwrap()
            .job;
        q.cancel(db, recent.id).await.unwrap();
        clock.advance(chrono::Duration::days(5));
        let deleted = q
            .purge_finished(db, Duration::from_secs(14 * 24 * 3600))
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        assert!(queue::get(db, old_done.id).await.is_err());
        assert_eq!(
            queue::get(db, old_waiting.id).await.unwrap().state,
            "available"
        );
        assert_eq!(queue::get(db, recent.id).await.unwrap().state, "cancelled");
    }
);

support::db_test!(
    a_killed_workers_job_is_rescued_and_rerun,
    |t: TestDb| async move {
        let db = &t.db;
        let clock = clock();
        let q = queue_with(&clock, no_jitter());
        let (started_tx, mut started_rx) = mpsc::unbounded_channel::<String>();
        let mut hanging = HandlerRegistry::new();
        hanging.register(KIND, move |ctx| {
            let _ = started_tx.send(ctx.job.attempted_by.clone().unwrap());
            std::future::pending::<Result<serde_json::Value, String>>()
        });
        let (_stop_a, worker_a) = spawn_worker(
            Worker::new(db.clone(), hanging, config("worker-a")).with_queue(q.clone()),
        );
        let id = q
            .enqueue(db, NewJob::new(KIND, json!({})))
            .await
            .unwrap()
            .job
            .id;
        assert_eq!(started_rx.recv().await.as_deref(), Some("worker-a"));
        worker_a.abort(); // the process dies mid-job
        assert!(worker_a.await.unwrap_err().is_cancelled());
        let orphan = queue::get(db, id).await.unwrap();
        assert_eq!(
            (orphan.state.as_str(), orphan.attempted_by.as_deref()),
            ("running", Some("worker-a"))
        );

        // Past the 60 s lease of `config`.
        clock.advance(chrono::Duration::seconds(61));
        let mut ok = HandlerRegistry::new();
        ok.register(KIND, |ctx| async move {
            Ok(json!({"by": ctx.job.attempted_by}))
        });
        // Worker B's maintenance rescues the job and runs it again at once: its worker died,
        // the job did nothing wrong, so no backoff.
        let (stop_b, worker_b) =
            spawn_worker(Worker::new(db.clone(), ok, config("worker-b")).with_queue(q.clone()));
        wait_until("the rescue and the re-run", || async {
            queue::get(db, id).await.unwrap().state == "completed"
        })
        .await;
        stop_b.send(()).unwrap();
        worker_b.await.unwrap();
        let job = queue::get(db, id).await.unwrap();
        assert_eq!(job.attempt, 2);
        assert_eq!(job.result, Some(json!({"by": "worker-b"})));
        let errors = job.errors.unwrap();
        assert_eq!(errors.as_array().unwrap().len(), 1);
        assert!(
            errors[0]["error"]
                .as_str()
                .unwrap()
                .contains("lease expired"),
            "{errors}"
        );
    }
);

support::db_test!(
    a_dead_workers_job_is_rescued_about_one_lease_after_it_died,
    |t: TestDb| async move {
        // Real time, a 2 s lease and a maintenance period far longer than it: the rescue
        // looks again when the lease runs out instead of waiting for the next period.
        let db = &t.db;
        let q = Queue::default();
        let mut hanging = HandlerRegistry::new();
        let (started_tx, mut started_rx) = mpsc::unbounded_channel::<()>();
        hanging.register(KIND, move |_| {
            let _ = started_tx.send(());
            std::future::pending::<Result<serde_json::Value, String>>()
        });
        let short = |id: &str| {
            let mut c = config(id);
            c.lease = Duration::from_secs(2);
            c.maintenance_interval = Duration::from_secs(600);
            c
        };
        let (_stop_b, worker_b) = spawn_worker(
            Worker::new(db.clone(), HandlerRegistry::new(), short("worker-b"))
                .with_queue(q.clone()),
        );
        let (_stop_a, worker_a) =
            spawn_worker(Worker::new(db.clone(), hanging, short("worker-a")).with_queue(q.clone()));
        let id = q
            .enqueue(db, NewJob::new(KIND, json!({})))
            .await
            .unwrap()
            .job
            .id;
        started_rx.recv().await.unwrap();
        worker_a.abort();
        let died = std::time::Instant::now();
        wait_until("the rescue", || async {
            queue::get(db, id).await.unwrap().state != "running"
        })
        .await;
        // Well under the 600 s maintenance period.
        assert!(
            died.elapsed() < Duration::from_secs(30),
            "{:?}",
            died.elapsed()
        );
        worker_b.abort();
    }
);

/// Two `fillbook worker` processes share one PostgreSQL database: a burst of jobs is run with
/// no job run twice (every job completes on its first and only attempt), by both processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_one_postgres() {
    let t = support::postgres().await;
    let spawn = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fillbook"))
            .args([
                "bench",
                "worker",
                "--workers",
                "4",
                "--poll-interval-ms",
                "200",
            ])
            .args(["--worker-id", name])
            .env("DATABASE_URL", &t.url)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start fillbook worker")
    };
    let mut a = spawn("proc-a");
    let mut b = spawn("proc-b");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let q = Queue::default();
    let txn = t.db.begin().await.unwrap();
    for i in 0..600 {
        q.enqueue(&txn, NewJob::new(TEST_NOOP, json!({ "n": i })))
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let db = &t.db;
    let done = tokio::time::timeout(
        Duration::from_secs(90),
        wait_until("600 completed jobs", || async {
            count_in(db, state::COMPLETED).await == 600
        }),
    )
    .await;
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    done.expect("the burst finished");
    let rows = job_rows::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 600);
    for job in &rows {
        assert_eq!(job.attempt, 1, "job {} ran more than once", job.id);
        assert_eq!(job.result.as_ref().unwrap()["attempt"], 1);
    }
    let mut per_process: HashMap<&str, usize> = HashMap::new();
    for job in &rows {
        *per_process
            .entry(job.attempted_by.as_deref().unwrap())
            .or_default() += 1;
    }
    assert_eq!(
        per_process.len(),
        2,
        "both processes took jobs: {per_process:?}"
    );
}
