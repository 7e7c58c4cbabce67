//! Two `fillbook worker` processes and a CLI `fillbook sync trades` syncing the same gateway
//! at once, round after round: never a duplicate fill, never a deadlock or serialization
//! error, and the ledger after each round equals a clean run's.

use super::kill_worker::{completed, enqueue_sync};
use super::ledger;
use super::procs::{count, drop_postgres, fillbook, fresh_postgres, job_state, until, worker};
use super::{DrillArgs, DrillReport};
use crate::error::{Error, Result};
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::ConnectionTrait;
use std::time::{Duration, Instant};

/// Executions the gateway serves in this drill (each round re-syncs them all three times).
const EXECUTIONS: usize = 5_000;

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("concurrent-syncs");
    let sim = sim::start(Scenario::generate(EXECUTIONS, 3), Faults::default()).await?;
    let pg = &args.postgres_url;
    let (url, db, name) = fresh_postgres(pg).await?;
    let outcome: Result<()> = async {
        let _a = worker(&url, sim.port(), "drill-a", 30)?;
        let _b = worker(&url, sim.port(), "drill-b", 30)?;
        let mut clean: Option<ledger::Ledger> = None;
        let port = sim.port().to_string();
        for round in 0..args.rounds {
            let started = Instant::now();
            let first = enqueue_sync(&db).await?;
            until(
                "the first sync running",
                Duration::from_secs(60),
                || async { Ok((job_state(&db, first).await?.state != "available").then_some(())) },
            )
            .await?;
            // A second job while the first runs (a waiting duplicate would be refused).
            let second = enqueue_sync(&db).await?;
            let mut cli = fillbook(
                &url,
                &["sync", "trades", "--port", &port, "--client-id", "150"],
            )?;
            completed(&db, first).await?;
            if second != first {
                completed(&db, second).await?;
            }
            let status = tokio::task::spawn_blocking(move || cli.0.wait())
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Internal(e.to_string()))?;
            if !status.success() {
                report.fail(format!("round {round}: the CLI sync exited with {status}"));
            }
            report
                .recovery_seconds
                .push(started.elapsed().as_secs_f64());
            let errors = count(
                &db,
                "SELECT COUNT(*) AS n FROM jobs WHERE attempt > 1 OR errors IS NOT NULL",
            )
            .await?;
            if errors > 0 {
                let texts = db
                    .query_all_raw(crate::db::statement(
                        db.get_database_backend(),
                        "SELECT CAST(errors AS TEXT) AS e FROM jobs WHERE errors IS NOT NULL",
                        Vec::<sea_orm::Value>::new(),
                    ))
                    .await?
                    .into_iter()
                    .filter_map(|r| r.try_get::<String>("", "e").ok())
                    .collect::<Vec<_>>()
                    .join("; ");
                report.fail(format!(
                    "round {round}: {errors} sync jobs needed a second attempt: {texts}"
                ));
            }
            let got = ledger::read(&db).await?;
            let want = clean.get_or_insert_with(|| got.clone()).clone();
            if got.executions != EXECUTIONS as i64 {
                report.rows_lost += (EXECUTIONS as i64 - got.distinct_exec_ids).max(0);
            }
            let (lost, duplicated) = ledger::compare(&want, &got);
            report.rows_lost += lost;
            report.rows_duplicated += duplicated;
            if got != want {
                report.fail(format!("round {round}: the ledger changed"));
            }
            report.runs += 1;
        }
        report.notes.push(format!(
            "{EXECUTIONS} executions; per round two worker jobs and one CLI sync at once; \
             'recovery' is the round's duration"
        ));
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        report.fail(format!("{e}"));
    }
    drop_postgres(db, &name, pg).await;
    Ok(report)
}
