//! Periodic jobs, as River and Oban have them: `trades.sync` every `--sync-every` minutes,
//! `positions.sync` every `--positions-every` minutes and `flex.fetch` of each stored Flex
//! credentials every `--flex-fetch-every` hours. Time is cut into periods of the schedule's
//! length (aligned on the Unix epoch); each worker process ticks every second and, when a
//! period starts, inserts `(schedule, period start)` into `schedule_runs` — only the process
//! whose insert succeeds enqueues that period's job, in the same transaction. So however many
//! processes tick, a period's job is enqueued once; and a run still waiting absorbs the next
//! (sync jobs are unique while waiting), so they never stack. A process does not fire the
//! period it starts in: that one belongs to whoever ran before it.
//!
//! While confirmed orders wait for the gateway (queued, or in doubt after a dropped
//! connection), `orders.submit` runs every minute too: a gateway that stays away longer
//! than one job's retries never strands an order.

use crate::clock::Clock;
use crate::db::statement;
use crate::error::Result;
use crate::jobs::kinds;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::watch;

/// How often each kind runs (0 = never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleConfig {
    pub sync_every_minutes: u64,
    pub positions_every_minutes: u64,
    pub flex_fetch_every_hours: u64,
}

impl Default for ScheduleConfig {
    /// The command line's defaults: syncs every 15 minutes, positions hourly, Flex daily.
    fn default() -> Self {
        ScheduleConfig {
            sync_every_minutes: 15,
            positions_every_minutes: 60,
            flex_fetch_every_hours: 24,
        }
    }
}

/// One periodic job.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Stable name, e.g. `trades.sync` or `flex.fetch:main`.
    pub name: String,
    pub kind: &'static str,
    pub payload: Value,
    pub every: Duration,
}

pub use app::models::ScheduleDto;

/// How often waiting orders are tried again.
pub const ORDERS_RETRY_EVERY_MINUTES: i64 = 1;

/// The schedules `config` describes (Flex fetches: one per stored credentials), and the
/// orders retry while orders wait.
pub async fn schedules(
    db: &impl ConnectionTrait,
    config: &ScheduleConfig,
) -> Result<Vec<Schedule>> {
    let mut out = Vec::new();
    let minutes = |m: u64| Duration::minutes(m as i64);
    if config.sync_every_minutes > 0 {
        out.push(Schedule {
            name: kinds::TRADES_SYNC.into(),
            kind: kinds::TRADES_SYNC,
            payload: json!({}),
            every: minutes(config.sync_every_minutes),
        });
    }
    if config.positions_every_minutes > 0 {
        out.push(Schedule {
            name: kinds::POSITIONS_SYNC.into(),
            kind: kinds::POSITIONS_SYNC,
            payload: json!({}),
            every: minutes(config.positions_every_minutes),
        });
    }
    let waiting = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT id FROM orders WHERE status IN ($1, $2) LIMIT 1",
            [
                crate::orders::status::QUEUED.into(),
                crate::orders::status::SUBMITTING.into(),
            ],
        ))
        .await?;
    if waiting.is_some() {
        out.push(Schedule {
            name: kinds::ORDERS_SUBMIT.into(),
            kind: kinds::ORDERS_SUBMIT,
            payload: json!({}),
            every: Duration::minutes(ORDERS_RETRY_EVERY_MINUTES),
        });
    }
    if config.flex_fetch_every_hours > 0 {
        for c in crate::flex::credentials::list(db).await? {
            out.push(Schedule {
                name: format!("{}:{}", kinds::FLEX_FETCH, c.name),
                kind: kinds::FLEX_FETCH,
                payload: json!({ "credentials": c.name }),
                every: Duration::hours(config.flex_fetch_every_hours as i64),
            });
        }
    }
    Ok(out)
}

/// The start of the period of length `every` that holds `now`.
pub fn period_start(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let len = every.num_seconds().max(1);
    let start = now.timestamp().div_euclid(len) * len;
    Utc.timestamp_opt(start, 0).single().unwrap_or(now)
}

/// Enqueues the job of `schedule`'s period at `now` unless some process already did; the
/// job when this call enqueued it.
pub async fn fire(
    db: &DatabaseConnection,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<Option<i32>> {
    let start = period_start(now, schedule.every);
    let txn = crate::db::begin_write(db).await?;
    let claimed = txn
        .execute_raw(statement(
            txn.get_database_backend(),
            "INSERT INTO schedule_runs (schedule, period_start, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            [schedule.name.clone().into(), start.into(), now.into()],
        ))
        .await?
        .rows_affected()
        == 1;
    if !claimed {
        txn.rollback().await?;
        return Ok(None);
    }
    let job = crate::jobs::enqueue_kind(&txn, schedule.kind, schedule.payload.clone()).await?;
    txn.execute_raw(statement(
        txn.get_database_backend(),
        "UPDATE schedule_runs SET job_id = $3 WHERE schedule = $1 AND period_start = $2",
        [
            schedule.name.clone().into(),
            start.into(),
            job.job.id.into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    tracing::info!(schedule = %schedule.name, job = job.job.id, "scheduled job enqueued");
    Ok(Some(job.job.id))
}

/// Ticks every second until `shutdown`: fires each schedule when a period starts after
/// this process started.
pub async fn run(
    db: DatabaseConnection,
    config: ScheduleConfig,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let started = clock.now();
    let mut fired: std::collections::HashMap<String, DateTime<Utc>> = Default::default();
    loop {
        match schedules(&db, &config).await {
            Ok(list) => {
                let now = clock.now();
                for s in list {
                    let start = period_start(now, s.every);
                    let seen = *fired
                        .entry(s.name.clone())
                        .or_insert_with(|| period_start(started, s.every));
                    if start > seen {
                        match fire(&db, &s, now).await {
                            Ok(_) => {
                                fired.insert(s.name.clone(), start);
                            }
                            Err(e) => {
                                tracing::warn!(schedule = %s.name, error = %e, "could not fire a schedule")
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list the schedules"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct LastRun {
    schedule: String,
    period_start: DateTime<Utc>,
    job_id: Option<i32>,
}

/// The schedules with their last and next runs, as of `now`.
pub async fn describe(
    db: &impl ConnectionTrait,
    config: &ScheduleConfig,
    now: DateTime<Utc>,
) -> Result<Vec<ScheduleDto>> {
    let runs = LastRun::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT r.schedule, r.period_start, r.job_id FROM schedule_runs r \
         WHERE r.period_start = (SELECT MAX(period_start) FROM schedule_runs x \
         WHERE x.schedule = r.schedule)",
        [],
    ))
    .all(db)
    .await?;
    Ok(schedules(db, config)
        .await?
        .into_iter()
        .map(|s| {
            let last = runs.iter().find(|r| r.schedule == s.name);
            ScheduleDto {
                name: s.name.clone(),
                kind: s.kind.to_string(),
                every_seconds: s.every.num_seconds(),
                last_run_at: last.map(|r| r.period_start),
                last_job_id: last.and_then(|r| r.job_id),
                next_run_at: period_start(now, s.every) + s.every,
            }
        })
        .collect())
}

/// The schedules (as of now) and the live subscriptions, for `/jobs`.
pub async fn worker_status(
    db: &impl ConnectionTrait,
    config: &ScheduleConfig,
) -> Result<app::models::WorkerStatusDto> {
    Ok(app::models::WorkerStatusDto {
        schedules: describe(db, config, Utc::now()).await?,
        live: crate::live::lease::list(db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_align_on_the_epoch() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 10, 7, 30).unwrap();
        let start = period_start(at, Duration::minutes(15));
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap());
        let day = period_start(at, Duration::hours(24));
        assert_eq!(day, Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
    }
}
