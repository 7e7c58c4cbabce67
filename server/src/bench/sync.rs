//! `fillbook bench sync`: one run against the simulator's generator, on PostgreSQL and
//! SQLite: (1) protocol only — the client drains the stream and discards it; (2) the write
//! floor — the same normalised rows bulk-loaded into an empty, indexed `trade_executions`
//! in one transaction by the ledger's own insert (PostgreSQL `COPY`, SQLite bound
//! multi-row inserts), without the ledger's other work; (3) a
//! first full sync into an empty database; (4) a re-sync of the unchanged window. Prints
//! times, executions/s and the process's peak memory.

use crate::error::{Error, Result};
use crate::ib::{execution_requests, Gateway, IbConnectOptions};
use crate::sync::intake::{raw_spool, Intake};
use crate::sync::trades::{insert_executions, sync_trades_once};
use chrono::Utc;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::time::Instant;

/// Options of `fillbook bench sync`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSyncArgs {
    /// Executions the simulator generates.
    #[arg(long, default_value_t = 100_000)]
    pub executions: usize,
    /// PostgreSQL server for the PostgreSQL run (a fresh `fillbook_bench_sync_*` database
    /// is created on it and dropped afterwards).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Which databases to measure.
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    pub targets: Vec<String>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Phase {
    seconds: f64,
    executions_per_second: f64,
}

#[derive(Debug, Serialize)]
struct TargetReport {
    database: String,
    write_floor: Phase,
    first_sync: Phase,
    re_sync: Phase,
    re_sync_writes: usize,
    first_sync_vs_target: f64,
    re_sync_vs_target: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    executions: usize,
    generate_seconds: f64,
    protocol_only: Phase,
    targets: Vec<TargetReport>,
    peak_memory_mib: Option<f64>,
}

fn phase(seconds: f64, n: usize) -> Phase {
    Phase {
        seconds,
        executions_per_second: n as f64 / seconds.max(1e-9),
    }
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchSyncArgs) -> Result<()> {
    let started = Instant::now();
    let scenario = Scenario::generate(args.executions, 1);
    let generate_seconds = started.elapsed().as_secs_f64();
    let sim = sim::start(scenario, Faults::default()).await?;
    let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 900);

    // 1. Protocol only: the requests a sync asks (one per managed account and side),
    // drained into a raw spool as a sync drains them (a collector that falls behind the
    // client's channel loses frames). The rows for the floor are read back afterwards.
    let started = Instant::now();
    let gateway = Gateway::connect(&ib).await?;
    let requests = execution_requests(&gateway.managed_accounts().await?, 7);
    let (mut raw, reader) = raw_spool()?;
    gateway
        .each_execution_of(requests, |item| raw.push(&item))
        .await?;
    raw.finish()?;
    gateway.disconnect().await;
    let protocol = started.elapsed().as_secs_f64();
    let (intake, mut records) = Intake::new(chrono_tz::UTC);
    let intake = tokio::task::spawn_blocking(move || intake.take_all(reader));
    let mut rows = Vec::new();
    while let Some(chunk) = records.recv().await {
        rows.extend(chunk);
    }
    let fetched = intake
        .await
        .map_err(|e| Error::Internal(format!("the benchmark's intake failed: {e}")))??
        .fetched;

    let mut targets = Vec::new();
    for target in &args.targets {
        let (url, cleanup) = fresh_database(target, &args.postgres_url).await?;
        let floor = {
            let db = prepared(&url).await?;
            let seconds = write_floor(&db, &rows).await?;
            db.close().await?;
            seconds
        };
        drop_database(&cleanup, &args.postgres_url).await?;
        let (url, cleanup) = fresh_database(target, &args.postgres_url).await?;
        let db = prepared(&url).await?;
        let started = Instant::now();
        let first = sync_trades_once(&db, &ib, 7, None).await?;
        let first_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let again = sync_trades_once(&db, &ib, 7, None).await?;
        let again_seconds = started.elapsed().as_secs_f64();
        db.close().await?;
        drop_database(&cleanup, &args.postgres_url).await?;
        if first.inserted_executions_count != rows.len() {
            return Err(Error::Internal(format!(
                "first sync inserted {} of {} executions",
                first.inserted_executions_count,
                rows.len()
            )));
        }
        targets.push(TargetReport {
            database: target.clone(),
            write_floor: phase(floor, rows.len()),
            first_sync: phase(first_seconds, fetched),
            re_sync: phase(again_seconds, fetched),
            re_sync_writes: again.inserted_executions_count
                + again.updated_executions_count
                + again.canonical_changes_count,
            first_sync_vs_target: first_seconds / (1.25 * (protocol + floor)),
            re_sync_vs_target: again_seconds / (protocol + 0.5 * floor),
        });
    }
    sim.stop();
    let report = Report {
        executions: fetched,
        generate_seconds,
        protocol_only: phase(protocol, fetched),
        targets,
        peak_memory_mib: super::peak_memory_mib(),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &Report) {
    println!(
        "bench sync: {} executions (generated in {:.2} s); protocol only {:.2} s ({:.0}/s); peak memory {}",
        r.executions,
        r.generate_seconds,
        r.protocol_only.seconds,
        r.protocol_only.executions_per_second,
        r.peak_memory_mib
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "n/a".into())
    );
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>10} {:>18} {:>16}",
        "database",
        "write floor",
        "first sync",
        "re-sync",
        "re-writes",
        "first/target(≤1)",
        "re/target(≤1)"
    );
    for t in &r.targets {
        println!(
            "{:<10} {:>10.2} s {:>10.2} s {:>10.2} s {:>10} {:>18.2} {:>16.2}",
            t.database,
            t.write_floor.seconds,
            t.first_sync.seconds,
            t.re_sync.seconds,
            t.re_sync_writes,
            t.first_sync_vs_target,
            t.re_sync_vs_target
        );
    }
}

/// A fresh database URL for `target` and what to remove afterwards.
pub(crate) async fn fresh_database(target: &str, postgres_url: &str) -> Result<(String, String)> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    match target {
        "sqlite" => {
            let path = std::env::temp_dir().join(format!("fillbook-bench-{suffix}.db"));
            Ok((
                format!("sqlite://{}", path.display()),
                path.display().to_string(),
            ))
        }
        "postgres" => {
            let name = format!("fillbook_bench_sync_{suffix}");
            let admin = crate::db::connect(postgres_url).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            admin.close().await?;
            let cut = postgres_url.rfind('/').unwrap_or(postgres_url.len());
            Ok((format!("{}/{name}", &postgres_url[..cut]), name))
        }
        other => Err(Error::invalid(
            "targets",
            format!("unknown target `{other}`; use postgres and/or sqlite"),
        )),
    }
}

pub(crate) async fn drop_database(cleanup: &str, postgres_url: &str) -> Result<()> {
    if cleanup.starts_with("fillbook_bench_sync_") {
        let admin = crate::db::connect(postgres_url).await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{cleanup}\" WITH (FORCE)"
            ))
            .await?;
        admin.close().await?;
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{cleanup}{suffix}"));
        }
    }
    Ok(())
}

pub(crate) async fn prepared(url: &str) -> Result<DatabaseConnection> {
    let db = crate::db::connect(url).await?;
    crate::db::migrate(&db).await?;
    Ok(db)
}

/// Bulk-loads `rows` into an empty `trade_executions` (one parent trade per account) and
/// returns the seconds the load took.
pub(crate) async fn write_floor(
    db: &DatabaseConnection,
    rows: &[crate::normalize::NormalizedExecution],
) -> Result<f64> {
    let now = Utc::now();
    let codes: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.account_code.clone()).collect();
    let accounts = crate::db::accounts::upsert_accounts(db, &codes, now).await?;
    let mut trade_of = std::collections::HashMap::new();
    for (code, id) in &accounts {
        db.execute_raw(crate::db::statement(
            db.get_database_backend(),
            "INSERT INTO trades (account_id, match_key, status, total_quantity, fetched_at, created_at, updated_at) \
             VALUES ($1, 'bench', 'unknown', 0, $2, $2, $2)",
            [(*id).into(), now.into()],
        ))
        .await?;
        trade_of.insert(code.clone(), *id);
    }
    let inserts: Vec<_> = rows
        .iter()
        .map(|r| (r, accounts[&r.account_code], trade_of[&r.account_code]))
        .collect();
    let started = Instant::now();
    let txn = crate::db::run::RunTxn::begin(db).await?;
    insert_executions(&txn, &inserts, now).await?;
    txn.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}
