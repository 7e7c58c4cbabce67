//! `kill -9` of a `fillbook worker` at random points of a large `trades.sync`: the job is
//! rescued once its lease lapses, another worker runs it to the end, and the ledger equals a
//! clean run's. Reports the rescue time (kill → the job claimed again) per kill.

use super::ledger;
use super::procs::{drop_postgres, fresh_postgres, job_state, until, worker};
use super::{DrillArgs, DrillReport};
use crate::error::Result;
use crate::jobs::kinds;
use crate::jobs::queue::Queue;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::DatabaseConnection;
use std::time::{Duration, Instant};

/// The job lease the drill's workers use (heartbeats every third of it).
const LEASE_SECONDS: u64 = 6;
const JOB_TIMEOUT: Duration = Duration::from_secs(900);

/// Enqueues one `trades.sync` on the default gateway; returns its id.
pub async fn enqueue_sync(db: &DatabaseConnection) -> Result<i32> {
    let job = kinds::unique_job(app::models::JobKind::TradesSync, serde_json::json!({}));
    Ok(Queue::default().enqueue(db, job).await?.job.id)
}

/// Waits for job `id` to complete; fails if it ends otherwise.
pub async fn completed(db: &DatabaseConnection, id: i32) -> Result<()> {
    until(&format!("job {id} completed"), JOB_TIMEOUT, || async {
        let s = job_state(db, id).await?;
        match s.state.as_str() {
            "completed" => Ok(Some(())),
            "discarded" | "cancelled" => Err(crate::Error::Internal(format!(
                "job {id} ended {}: {}",
                s.state,
                s.error.unwrap_or_default()
            ))),
            _ => Ok(None),
        }
    })
    .await
}

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("kill-worker");
    let sim = sim::start(Scenario::generate(args.executions, 7), Faults::default()).await?;
    let pg = &args.postgres_url;

    // The clean run every killed run is compared with.
    let (url, db, name) = fresh_postgres(pg).await?;
    let job = enqueue_sync(&db).await?;
    let started = Instant::now();
    let clean_worker = worker(&url, sim.port(), "drill-clean", LEASE_SECONDS)?;
    completed(&db, job).await?;
    let clean_seconds = started.elapsed().as_secs_f64();
    drop(clean_worker);
    let clean = ledger::read(&db).await?;
    drop_postgres(db, &name, pg).await;
    report.notes.push(format!(
        "clean run: {} executions, {} trades in {clean_seconds:.1} s; lease {LEASE_SECONDS} s",
        clean.executions, clean.trades
    ));

    let mut finish = Vec::new();
    for k in 0..args.kills {
        let (url, db, name) = fresh_postgres(pg).await?;
        let outcome: Result<()> = async {
            let job = enqueue_sync(&db).await?;
            let mut victim = worker(
                &url,
                sim.port(),
                &format!("drill-victim-{k}"),
                LEASE_SECONDS,
            )?;
            until("the job running", JOB_TIMEOUT, || async {
                Ok((job_state(&db, job).await?.state == "running").then_some(()))
            })
            .await?;
            let fraction = 0.05 + 0.9 * rand::random::<f64>();
            tokio::time::sleep(Duration::from_secs_f64(clean_seconds * fraction)).await;
            victim.kill9();
            let killed = Instant::now();
            let before = job_state(&db, job).await?;
            let _rescuer = worker(
                &url,
                sim.port(),
                &format!("drill-rescuer-{k}"),
                LEASE_SECONDS,
            )?;
            if before.state != "completed" {
                until("the job claimed again", JOB_TIMEOUT, || async {
                    let s = job_state(&db, job).await?;
                    Ok((s.attempt > before.attempt || s.state == "completed").then_some(()))
                })
                .await?;
                report.recovery_seconds.push(killed.elapsed().as_secs_f64());
            } else {
                report
                    .notes
                    .push(format!("kill {k} came after the job completed"));
            }
            completed(&db, job).await?;
            finish.push(killed.elapsed().as_secs_f64());
            let got = ledger::read(&db).await?;
            let (lost, duplicated) = ledger::compare(&clean, &got);
            report.rows_lost += lost;
            report.rows_duplicated += duplicated;
            if got != clean {
                report.fail(format!(
                    "kill {k} at {:.0}% of the sync: the ledger differs from the clean run's \
                     ({} executions, {} trades)",
                    fraction * 100.0,
                    got.executions,
                    got.trades
                ));
            }
            Ok(())
        }
        .await;
        report.runs += 1;
        if let Err(e) = outcome {
            report.fail(format!("kill {k}: {e}"));
        }
        drop_postgres(db, &name, pg).await;
    }
    if !finish.is_empty() {
        finish.sort_by(f64::total_cmp);
        report.notes.push(format!(
            "kill → job completed: median {:.1} s, max {:.1} s",
            finish[finish.len() / 2],
            finish[finish.len() - 1]
        ));
    }
    sim.stop();
    Ok(report)
}
