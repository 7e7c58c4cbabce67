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
use crate::db::entities::{orders, schedule_runs};
use crate::error::Result;
use app::models::JobKind;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
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
    pub kind: JobKind,
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
            name: JobKind::TradesSync.to_string(),
            kind: JobKind::TradesSync,
            payload: json!({}),
            every: minutes(config.sync_every_minutes),
        });
    }
    if config.positions_every_minutes > 0 {
        out.push(Schedule {
            name: JobKind::PositionsSync.to_string(),
            kind: JobKind::PositionsSync,
            payload: json!({}),
            every: minutes(config.positions_every_minutes),
        });
    }
    let waiting = orders::Entity::find()
        .filter(orders::Column::Status.is_in([
            crate::orders::status::QUEUED,
            crate::orders::status::SUBMITTING,
        ]))
        .one(db)
        .await?;
    if waiting.is_some() {
        out.push(Schedule {
            name: JobKind::OrdersSubmit.to_string(),
            kind: JobKind::OrdersSubmit,
            payload: json!({}),
            every: Duration::minutes(ORDERS_RETRY_EVERY_MINUTES),
        });
    }
    if config.flex_fetch_every_hours > 0 {
        for c in crate::flex::credentials::list(db).await? {
            out.push(Schedule {
                name: format!("{}:{}", JobKind::FlexFetch, c.name),
                kind: JobKind::FlexFetch,
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
    let run = schedule_runs::ActiveModel {
        schedule: Set(schedule.name.clone()),
        period_start: Set(start),
        job_id: Set(None),
        created_at: Set(now),
    };
    let claimed = schedule_runs::Entity::insert(run)
        .on_conflict(
            OnConflict::columns([
                schedule_runs::Column::Schedule,
                schedule_runs::Column::PeriodStart,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
        == 1;
    if !claimed {
        txn.rollback().await?;
        return Ok(None);
    }
    let job =
        crate::work::handlers::enqueue(&txn, schedule.kind.as_str(), schedule.payload.clone())
            .await?;
    schedule_runs::Entity::update_many()
        .col_expr(schedule_runs::Column::JobId, Expr::value(job.job.id))
        .filter(schedule_runs::Column::Schedule.eq(schedule.name.as_str()))
        .filter(schedule_runs::Column::PeriodStart.eq(start))
        .exec(&txn)
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

/// The schedules with their last and next runs, as of `now`.
pub async fn describe(
    db: &impl ConnectionTrait,
    config: &ScheduleConfig,
    now: DateTime<Utc>,
) -> Result<Vec<ScheduleDto>> {
    let mut out = Vec::new();
    for s in schedules(db, config).await? {
        // The schedule's latest period: the last row of its primary key (schedule, period_start).
        let last = schedule_runs::Entity::find()
            .filter(schedule_runs::Column::Schedule.eq(s.name.as_str()))
            .order_by_desc(schedule_runs::Column::PeriodStart)
            .one(db)
            .await?;
        out.push(ScheduleDto {
            name: s.name.clone(),
            kind: s.kind.to_string(),
            every_seconds: s.every.num_seconds(),
            last_run_at: last.as_ref().map(|r| r.period_start),
            last_job_id: last.and_then(|r| r.job_id),
            next_run_at: period_start(now, s.every) + s.every,
        });
    }
    Ok(out)
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
