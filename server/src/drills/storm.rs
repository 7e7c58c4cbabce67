//! 1,000 concurrent "Sync now" requests (`POST /api/v1/jobs` trades.sync, the service the
//! button calls) against a running server: one waiting job, every answer a 202 or a 200
//! naming that job, no 5xx.

use super::procs::{count, drop_postgres, fillbook, free_port, fresh_postgres, until};
use super::{DrillArgs, DrillReport};
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

const REQUESTS: usize = 1_000;

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("sync-now-storm");
    let pg = &args.postgres_url;
    let (url, db, name) = fresh_postgres(pg).await?;
    let port = free_port()?;
    let bind = format!("127.0.0.1:{port}");
    let outcome: Result<()> = async {
        let scopes = crate::auth::Scope::parse_list("jobs:write")?;
        let (_, token) = crate::auth::tokens::create(&db, "drill", &scopes, "drill").await?;
        // No worker: the job stays waiting, so every request meets it.
        let _server = fillbook(
            &url,
            &[
                "serve",
                "--bind",
                &bind,
                "--workers",
                "0",
                "--no-live",
                "--sync-every",
                "0",
                "--positions-every",
                "0",
                "--flex-fetch-every",
                "0",
            ],
        )?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        until("the server up", Duration::from_secs(60), || async {
            let r = client.get(format!("http://{bind}/readyz")).send().await;
            Ok(r.is_ok_and(|r| r.status().is_success()).then_some(()))
        })
        .await?;
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..REQUESTS {
            let client = client.clone();
            let url = format!("http://{bind}/api/v1/jobs");
            let token = token.clone();
            tasks.spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(r#"{"type":"trades.sync"}"#)
                    .send()
                    .await?;
                let status = r.status().as_u16();
                let body: serde_json::Value =
                    serde_json::from_slice(&r.bytes().await?).unwrap_or_default();
                Ok::<_, reqwest::Error>((status, body["id"].as_i64()))
            });
        }
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let mut ids = std::collections::BTreeSet::new();
        let mut transport = 0;
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok((status, id))) => {
                    *statuses.entry(status).or_default() += 1;
                    ids.extend(id);
                }
                _ => transport += 1,
            }
        }
        report
            .recovery_seconds
            .push(started.elapsed().as_secs_f64());
        let jobs = count(
            &db,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'trades.sync'",
        )
        .await?;
        report.runs = 1;
        report.rows_duplicated = (jobs - 1).max(0);
        report.rows_lost = if jobs == 0 { 1 } else { 0 };
        report.notes.push(format!(
            "{REQUESTS} requests in {:.1} s: statuses {statuses:?}, {transport} transport errors, \
             {} distinct job ids answered, {jobs} jobs stored; 'recovery' is the storm's duration",
            report.recovery_seconds[0],
            ids.len()
        ));
        if jobs != 1 || ids.len() != 1 {
            report.fail(format!(
                "{jobs} jobs stored, {} job ids answered",
                ids.len()
            ));
        }
        if statuses.keys().any(|s| !(*s == 200 || *s == 202)) || transport > 0 {
            report.fail(format!(
                "answers other than 200/202: {statuses:?}, {transport} transport errors"
            ));
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        report.fail(format!("{e}"));
    }
    drop_postgres(db, &name, pg).await;
    Ok(report)
}
