//! A soak of the JSON API: a server on PostgreSQL with the demo gateway's fills, read at a
//! steady 200 requests per second for `--soak-seconds` (600) across the read endpoints with
//! a bot's token. Fails on any 5xx or transport error; reports the server's resident memory
//! after warm-up and at the end (it should stay flat) and the latency percentiles.

use super::procs::{drop_postgres, fillbook, free_port, fresh_postgres, until};
use super::{DrillArgs, DrillReport};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE_PER_SECOND: u64 = 200;

/// Resident memory of process `pid` in MiB (Linux `VmRSS`).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("api-soak");
    let pg = &args.postgres_url;
    let (url, db, name) = fresh_postgres(pg).await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let outcome: Result<()> = async {
        let scopes = crate::auth::Scope::parse_list("trades:read,positions:read,jobs:write")?;
        let (_, token) = crate::auth::tokens::create(&db, "soak", &scopes, "soak").await?;
        let server = fillbook(
            &url,
            &["serve", "--demo", "--bind", &format!("127.0.0.1:{port}"), "--demo-fill-every", "0",
              "--sync-every", "0", "--positions-every", "0", "--flex-fetch-every", "0"],
        )?;
        let pid = server.0.id();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        until("the server up", Duration::from_secs(60), || async {
            let r = client.get(format!("{base}/readyz")).send().await;
            Ok(r.is_ok_and(|r| r.status().is_success()).then_some(()))
        })
        .await?;
        // The demo gateway's fills first.
        let sync = client
            .post(format!("{base}/api/v1/jobs"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(r#"{"type":"trades.sync"}"#)
            .send()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let job: serde_json::Value = serde_json::from_slice(&sync.bytes().await.unwrap_or_default())
            .unwrap_or_default();
        let job = job["id"].as_i64().unwrap_or_default();
        until("the demo sync", Duration::from_secs(120), || async {
            let j: serde_json::Value = match client
                .get(format!("{base}/api/v1/jobs/{job}"))
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(r) => serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            Ok((j["state"] == "completed").then_some(()))
        })
        .await?;
        let paths: Arc<Vec<String>> = Arc::new(vec![
            "/api/v1/trades?limit=50".into(),
            "/api/v1/trades?limit=20&status=filled".into(),
            "/api/v1/trades/1".into(),
            "/api/v1/trades/1/executions".into(),
            "/api/v1/trades/1/history".into(),
            "/api/v1/positions".into(),
            "/api/v1/jobs?limit=20".into(),
            "/api/v1/reconciliation".into(),
            "/api/v1/exports/trades?format=csv".into(),
            "/healthz".into(),
        ]);
        let seconds = args.soak_seconds;
        let warm_up = Duration::from_secs(seconds.min(30) / 3);
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let mut rss_start = None;
        let mut rss_max: f64 = 0.0;
        // Resident memory once a minute, to tell a warm-up that levels off from growth.
        let mut rss_per_minute: Vec<f64> = Vec::new();
        let mut sent = 0usize;
        let mut statuses = std::collections::BTreeMap::<String, usize>::new();
        let mut latencies: Vec<f64> = Vec::new();
        let mut record = |done: std::result::Result<(Option<u16>, f64), tokio::task::JoinError>| {
            if let Ok((status, ms)) = done {
                let key = status.map_or("transport error".into(), |s| s.to_string());
                *statuses.entry(key).or_default() += 1;
                latencies.push(ms);
            }
        };
        while started.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            if rss_start.is_none() && started.elapsed() >= warm_up {
                rss_start = rss_mib(pid);
            }
            if sent.is_multiple_of(RATE_PER_SECOND as usize) {
                let now = rss_mib(pid).unwrap_or(0.0);
                rss_max = rss_max.max(now);
                if sent.is_multiple_of(60 * RATE_PER_SECOND as usize) {
                    rss_per_minute.push(now);
                }
            }
            let url = format!("{base}{}", paths[sent % paths.len()]);
            sent += 1;
            let client = client.clone();
            let token = token.clone();
            tasks.spawn(async move {
                let t = Instant::now();
                let r = client.get(url).bearer_auth(token).send().await;
                let status = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        Some(s)
                    }
                    Err(_) => None,
                };
                (status, t.elapsed().as_secs_f64() * 1000.0)
            });
            while let Some(done) = tasks.try_join_next() {
                record(done);
            }
        }
        let rss_end = rss_mib(pid);
        while let Some(done) = tasks.join_next().await {
            record(done);
        }
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0);
        report.runs = 1;
        report.notes.push(format!(
            "{sent} requests in {seconds} s ({:.0}/s); server RSS {} MiB after warm-up, {} MiB at the end, max {rss_max:.0} MiB",
            sent as f64 / started.elapsed().as_secs_f64(),
            rss_start.map_or("?".into(), |m| format!("{m:.0}")),
            rss_end.map_or("?".into(), |m| format!("{m:.0}")),
        ));
        report.notes.push(format!(
            "server RSS per minute (MiB): {}",
            rss_per_minute
                .iter()
                .map(|m| format!("{m:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        report.notes.push(format!(
            "answers {statuses:?}; latency p50 {:.1} ms, p99 {:.1} ms",
            pct(0.5),
            pct(0.99)
        ));
        let bad: usize = statuses
            .iter()
            .filter(|(k, _)| k.starts_with('5') || k.starts_with('t'))
            .map(|(_, n)| n)
            .sum();
        if bad > 0 {
            report.fail(format!("{bad} answers were 5xx or transport errors"));
        }
        if let (Some(a), Some(b)) = (rss_start, rss_end) {
            if b > a * 1.5 + 20.0 {
                report.fail(format!("resident memory grew from {a:.0} MiB to {b:.0} MiB"));
            }
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
