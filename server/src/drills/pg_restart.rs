//! PostgreSQL restarted while a server and two `fillbook bench worker` processes run and
//! no-op jobs keep arriving: all reconnect, every job enqueued runs to completion exactly
//! once across the two workers, and the server answers `/readyz` again. Reports how long
//! `/readyz` took to recover.

use super::procs::{count, drop_postgres, fillbook, free_port, fresh_postgres, until};
use super::{DrillArgs, DrillReport};
use crate::bench::jobs::TEST_NOOP;
use crate::error::{Error, Result};
use crate::jobs::queue::{NewJob, Queue};
use std::time::{Duration, Instant};

/// The PostgreSQL cluster of this machine, as `pg_lsclusters` lists it first.
fn cluster() -> Result<(String, String)> {
    let out = std::process::Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .map_err(|e| {
            Error::Config(format!(
                "pg_lsclusters: {e} (the drill restarts the local PostgreSQL)"
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(v), Some(c)) => Ok((v.to_string(), c.to_string())),
        _ => Err(Error::Config("pg_lsclusters lists no cluster".into())),
    }
}

fn restart_postgres() -> Result<()> {
    let (version, name) = cluster()?;
    let status = std::process::Command::new("pg_ctlcluster")
        .args([&version, &name, "restart", "-m", "fast"])
        .status()
        .map_err(|e| Error::Config(format!("pg_ctlcluster: {e}")))?;
    if !status.success() {
        return Err(Error::Config(format!(
            "pg_ctlcluster {version} {name} restart failed"
        )));
    }
    Ok(())
}

async fn ready(client: &reqwest::Client, url: &str) -> bool {
    client
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("postgres-restart");
    let pg = &args.postgres_url;
    let (url, db, name) = fresh_postgres(pg).await?;
    let port = free_port()?;
    let bind = format!("127.0.0.1:{port}");
    let outcome: Result<()> = async {
        let _server = fillbook(
            &url,
            &[
                "serve", "--bind", &bind, "--workers", "1", "--lease-seconds", "6",
                "--poll-interval-ms", "200", "--no-live", "--sync-every", "0",
                "--positions-every", "0", "--flex-fetch-every", "0",
            ],
        )?;
        // Two processes compete for the drill's no-op jobs (the server's own worker does not
        // run that kind), so "ran more than once" covers claims across processes.
        let _workers = (0..2)
            .map(|_| {
                fillbook(
                    &url,
                    &[
                        "bench", "worker", "--workers", "1", "--lease-seconds", "6",
                        "--poll-interval-ms", "200", "--no-live", "--sync-every", "0",
                        "--positions-every", "0", "--flex-fetch-every", "0",
                    ],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let readyz = format!("http://{bind}/readyz");
        until("the server up", Duration::from_secs(60), || async {
            Ok(ready(&client, &readyz).await.then_some(()))
        })
        .await?;
        // Jobs arrive every 50 ms for 20 s; PostgreSQL restarts 5 s in.
        let enqueuer = {
            let db = db.clone();
            tokio::spawn(async move {
                let queue = Queue::default();
                let (mut enqueued, mut refused) = (0usize, 0usize);
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(20) {
                    match queue
                        .enqueue(&db, NewJob::new(TEST_NOOP, serde_json::json!({})))
                        .await
                    {
                        Ok(_) => enqueued += 1,
                        Err(_) => refused += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (enqueued, refused)
            })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        let restarted = Instant::now();
        tokio::task::spawn_blocking(restart_postgres)
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let back = restarted.elapsed().as_secs_f64();
        until("the server ready again", Duration::from_secs(120), || async {
            Ok(ready(&client, &readyz).await.then_some(()))
        })
        .await?;
        report.recovery_seconds.push(restarted.elapsed().as_secs_f64());
        let (enqueued, refused) = enqueuer
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let done = until("every job finished", Duration::from_secs(180), || async {
            let waiting = count(
                &db,
                "SELECT COUNT(*) AS n FROM jobs WHERE state NOT IN ('completed', 'discarded', 'cancelled')",
            )
            .await
            .unwrap_or(1);
            Ok((waiting == 0).then_some(()))
        })
        .await;
        let completed = count(&db, "SELECT COUNT(*) AS n FROM jobs WHERE state = 'completed'").await?;
        let twice = count(&db, "SELECT COUNT(*) AS n FROM jobs WHERE attempt > 1").await?;
        let total = count(&db, "SELECT COUNT(*) AS n FROM jobs").await?;
        report.rows_lost = total - completed;
        report.rows_duplicated = twice;
        report.notes.push(format!(
            "{enqueued} jobs enqueued ({refused} enqueues refused while the database was down): \
             {completed} completed, {twice} ran more than once; PostgreSQL back after {back:.1} s, \
             /readyz {:.1} s after the restart began",
            report.recovery_seconds[0]
        ));
        done?;
        if total as usize != enqueued {
            report.fail(format!("{enqueued} enqueues succeeded but {total} jobs exist"));
        }
        if completed != total {
            report.fail(format!("{} jobs did not complete", total - completed));
        }
        if twice > 0 {
            report.fail(format!("{twice} jobs ran more than once"));
        }
        Ok(())
    }
    .await;
    report.runs += 1;
    if let Err(e) = outcome {
        report.fail(format!("{e}"));
    }
    drop_postgres(db, &name, pg).await;
    Ok(report)
}
