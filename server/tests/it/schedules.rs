//! Periodic jobs on SQLite and PostgreSQL under a controllable clock: a schedule fires when
//! its period starts (not in the period a process starts in), two schedulers enqueue one
//! job per period, a run still waiting absorbs the next period's, and next run times are
//! reported.

use crate::support;

use chrono::{Duration, TimeZone, Utc};
use fillbook::clock::ManualClock;
use fillbook::work::schedule::{self, ScheduleConfig};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use support::TestDb;

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

const SYNC_ONLY: ScheduleConfig = ScheduleConfig {
    sync_every_minutes: 15,
    positions_every_minutes: 0,
    flex_fetch_every_hours: 0,
};

async fn wait_for_jobs(db: &DatabaseConnection, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(db, "SELECT COUNT(*) FROM jobs").await < n {
        assert!(std::time::Instant::now() < deadline, "no scheduled job");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

support::db_test!(
    a_schedule_fires_on_time_once_and_never_stacks,
    |t: TestDb| async move {
        let db = &t.db;
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 2, 10, 7, 0).unwrap());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Two worker processes' schedulers.
        let a = tokio::spawn(schedule::run(
            db.clone(),
            SYNC_ONLY,
            clock.clone(),
            stopped.clone(),
        ));
        let b = tokio::spawn(schedule::run(
            db.clone(),
            SYNC_ONLY,
            clock.clone(),
            stopped.clone(),
        ));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM jobs").await,
            0,
            "not in the start period"
        );

        clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 10, 15, 0).unwrap());
        wait_for_jobs(db, 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM jobs").await,
            1,
            "one job per period"
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM schedule_runs").await, 1);

        // The next period while that sync still waits: absorbed, not stacked.
        clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 10, 30, 0).unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count(db, "SELECT COUNT(*) FROM schedule_runs").await < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the 10:30 period was not fired"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM jobs").await,
            1,
            "a waiting sync absorbs the next"
        );

        // Once it ran, the next period gets a job of its own.
        db.execute_unprepared("UPDATE jobs SET state = 'completed'")
            .await
            .unwrap();
        clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 10, 45, 0).unwrap());
        wait_for_jobs(db, 2).await;

        let status = schedule::worker_status(db, &SYNC_ONLY).await.unwrap();
        assert_eq!(status.schedules.len(), 1);
        let s = &status.schedules[0];
        assert_eq!((s.name.as_str(), s.every_seconds), ("trades.sync", 900));
        assert_eq!(
            s.last_run_at,
            Some(Utc.with_ymd_and_hms(2026, 12, 2, 10, 45, 0).unwrap())
        );
        assert!(s.next_run_at > Utc::now() - Duration::minutes(16));
        stop.send(true).unwrap();
        a.await.unwrap();
        b.await.unwrap();
    }
);

support::db_test!(fire_enqueues_once_per_period, |t: TestDb| async move {
    let db = &t.db;
    let list = schedule::schedules(db, &SYNC_ONLY).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 2, 11, 1, 0).unwrap();
    let (x, y) = tokio::join!(
        schedule::fire(db, &list[0], at),
        schedule::fire(db, &list[0], at)
    );
    let fired = [x.unwrap(), y.unwrap()];
    assert_eq!(fired.iter().filter(|f| f.is_some()).count(), 1, "{fired:?}");
    let later = at + Duration::minutes(5);
    assert_eq!(schedule::fire(db, &list[0], later).await.unwrap(), None);
    assert_eq!(count(db, "SELECT COUNT(*) FROM jobs").await, 1);
});

support::db_test!(
    waiting_orders_are_tried_again_every_minute,
    |t: TestDb| async move {
        let db = &t.db;
        let names = |list: Vec<schedule::Schedule>| -> Vec<String> {
            list.into_iter().map(|s| s.name).collect()
        };
        assert_eq!(
            names(schedule::schedules(db, &SYNC_ONLY).await.unwrap()),
            ["trades.sync"]
        );
        // A confirmed order waits for the gateway (its own orders.submit gave up).
        db.execute_unprepared(
            "INSERT INTO accounts (code, created_at, updated_at) VALUES ('DU0000001', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
        )
        .await
        .unwrap();
        let created = fillbook::orders::service::create_from_request(
            db,
            &fillbook::clock::SystemClock,
            app::models::NewOrderDto {
                account_id: 1,
                symbol: "AAPL".into(),
                sec_type: None,
                exchange: None,
                currency: None,
                side: "BUY".into(),
                order_type: "MKT".into(),
                quantity: 1.0,
                limit_price: None,
                tif: None,
                order_ref: None,
            },
        )
        .await
        .unwrap();
        fillbook::orders::confirm_order(
            db,
            &fillbook::clock::SystemClock,
            created.order.id,
            &created.confirmation_token,
        )
        .await
        .unwrap();
        db.execute_unprepared("UPDATE jobs SET state = 'discarded'")
            .await
            .unwrap();
        let list = schedule::schedules(db, &SYNC_ONLY).await.unwrap();
        let orders = list
            .iter()
            .find(|s| s.name == "orders.submit")
            .expect("an orders schedule");
        assert_eq!(orders.every, Duration::minutes(1));
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 11, 1, 0).unwrap();
        assert!(schedule::fire(db, orders, at).await.unwrap().is_some());
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'orders.submit' AND state = 'available'"
            )
            .await,
            1
        );
    }
);
