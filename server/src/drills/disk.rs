//! SQLite on a full disk: a sync into a database on a small tmpfs runs out of space. The
//! sync fails with a clear error and commits nothing; once space returns (the tmpfs grows)
//! the database passes `PRAGMA integrity_check` and the same sync completes. Needs root for
//! `mount`.

use super::{DrillArgs, DrillReport};
use crate::error::{Error, Result};
use crate::ib::IbConnectOptions;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, Statement};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const EXECUTIONS: usize = 50_000;

fn sh(program: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| Error::Config(format!("{program}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "`{program} {}` failed (the drill mounts a tmpfs: it needs root)",
            args.join(" ")
        )))
    }
}

pub async fn run(_args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("sqlite-full-disk");
    let dir = std::env::temp_dir().join(format!("fillbook-full-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(e.to_string()))?;
    let mount = dir.display().to_string();
    sh("mount", &["-t", "tmpfs", "-o", "size=6m", "tmpfs", &mount])?;
    let outcome = drill(&dir, &mut report).await;
    let _ = sh("umount", &[&mount]);
    let _ = std::fs::remove_dir(&dir);
    report.runs = 1;
    if let Err(e) = outcome {
        report.fail(format!("{e}"));
    }
    Ok(report)
}

async fn integrity(db: &sea_orm::DatabaseConnection) -> Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await?
        .ok_or_else(|| Error::Internal("no integrity_check row".into()))?;
    Ok(row.try_get_by_index::<String>(0)?)
}

async fn drill(dir: &Path, report: &mut DrillReport) -> Result<()> {
    let sim = sim::start(Scenario::generate(EXECUTIONS, 5), Faults::default()).await?;
    let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
    let url = format!("sqlite://{}", dir.join("fillbook.db").display());
    let db = crate::bench::sync::prepared(&url).await?;
    let err = match crate::sync::trades::sync_trades_once(&db, &ib, 7, None).await {
        Ok(m) => {
            return Err(Error::Internal(format!(
                "the sync of {} executions fit into 6 MB: make the disk smaller",
                m.inserted_executions_count
            )))
        }
        Err(e) => e.to_string(),
    };
    report.notes.push(format!("the failed sync said: {err}"));
    if !err.to_lowercase().contains("full") {
        report.fail(format!("the error does not say the disk is full: {err}"));
    }
    let stored = super::procs::count(&db, "SELECT COUNT(*) AS n FROM trade_executions").await?;
    if stored != 0 {
        report.fail(format!("{stored} executions of the failed sync were kept"));
    }
    // Space returns.
    let started = Instant::now();
    sh(
        "mount",
        &["-o", "remount,size=512m", &dir.display().to_string()],
    )?;
    let check = integrity(&db).await?;
    if check != "ok" {
        report.fail(format!("integrity_check after the full disk: {check}"));
    }
    let m = crate::sync::trades::sync_trades_once(&db, &ib, 7, None).await?;
    report
        .recovery_seconds
        .push(started.elapsed().as_secs_f64());
    let stored = super::procs::count(&db, "SELECT COUNT(*) AS n FROM trade_executions").await?;
    report.rows_lost = (EXECUTIONS as i64 - stored).max(0);
    report.rows_duplicated = (stored - EXECUTIONS as i64).max(0);
    if m.inserted_executions_count != EXECUTIONS || stored != EXECUTIONS as i64 {
        report.fail(format!(
            "after space returned the sync stored {stored} of {EXECUTIONS} executions"
        ));
    }
    let check = integrity(&db).await?;
    if check != "ok" {
        report.fail(format!("integrity_check at the end: {check}"));
    }
    db.close().await?;
    Ok(())
}
