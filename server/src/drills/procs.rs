//! The processes a drill runs: `fillbook worker` and `fillbook serve` spawned from this
//! executable (killed with SIGKILL when dropped), throwaway databases, and waiting.

use crate::error::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A spawned `fillbook` process; `kill -9` when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// `kill -9`, then reaps it.
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A loopback port nothing listens on right now (for a server process to bind).
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Internal(e.to_string()))
}

/// `fillbook ARGS` with the database and quiet logs.
pub fn fillbook(database_url: &str, args: &[&str]) -> Result<Proc> {
    let exe = std::env::current_exe().map_err(|e| Error::Internal(e.to_string()))?;
    Command::new(exe)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .map_err(|e| Error::Internal(format!("cannot start fillbook {}: {e}", args.join(" "))))
}

/// A `fillbook worker` on the gateway at `ib_port`: one job at a time, a short lease, no
/// schedules and no live subscription (the drills enqueue what they need).
pub fn worker(database_url: &str, ib_port: u16, id: &str, lease_seconds: u64) -> Result<Proc> {
    let port = ib_port.to_string();
    let lease = lease_seconds.to_string();
    fillbook(
        database_url,
        &[
            "worker",
            "--workers",
            "1",
            "--worker-id",
            id,
            "--ib-port",
            &port,
            "--lease-seconds",
            &lease,
            "--poll-interval-ms",
            "200",
            "--no-live",
            "--sync-every",
            "0",
            "--positions-every",
            "0",
            "--flex-fetch-every",
            "0",
        ],
    )
}

/// Polls `check` every 100 ms until it answers `Some`, or fails after `timeout`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if started.elapsed() > timeout {
            return Err(Error::Internal(format!(
                "{what}: not within {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A job's state and attempt.
#[derive(Debug, Clone, FromQueryResult)]
pub struct JobState {
    pub state: String,
    pub attempt: i32,
    pub error: Option<String>,
}

pub async fn job_state(db: &DatabaseConnection, id: i32) -> Result<JobState> {
    JobState::find_by_statement(crate::db::statement(
        db.get_database_backend(),
        "SELECT state, attempt, error FROM jobs WHERE id = $1",
        [id.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("job {id}")))
}

/// A fresh PostgreSQL database (migrated) for one run: its URL, connection and name.
pub async fn fresh_postgres(postgres_url: &str) -> Result<(String, DatabaseConnection, String)> {
    let (url, name) = crate::bench::sync::fresh_database("postgres", postgres_url).await?;
    let db = crate::bench::sync::prepared(&url).await?;
    Ok((url, db, name))
}

/// Drops a database made by [`fresh_postgres`].
pub async fn drop_postgres(db: DatabaseConnection, name: &str, postgres_url: &str) {
    let _ = db.close().await;
    if let Err(e) = crate::bench::sync::drop_database(name, postgres_url).await {
        tracing::warn!(error = %e, "could not drop the drill database {name}");
    }
}

/// Counts rows of `sql` (a `SELECT COUNT(*) AS n …`).
pub async fn count(db: &impl ConnectionTrait, sql: &str) -> Result<i64> {
    let row = db
        .query_one_raw(crate::db::statement(
            db.get_database_backend(),
            sql,
            Vec::<sea_orm::Value>::new(),
        ))
        .await?
        .ok_or_else(|| Error::Internal("count returned no row".into()))?;
    Ok(row.try_get::<i64>("", "n")?)
}
