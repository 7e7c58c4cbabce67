//! SPEC: "Post-order flow can refresh both positions and trades via jobs", end to end on
//! both databases: create order → confirm → the orders worker submits it to the simulator
//! → the simulator fills it → positions.sync and trades.sync run → the trade is filled with
//! the right quantity and price, the position moved, and there is exactly one of each job.

use crate::support;

use fillbook::clock::SystemClock;
use fillbook::gateways::SyncSettings;
use fillbook::jobs::kinds::DEFAULT_LOOKBACK_DAYS;
use fillbook::jobs::{Worker, WorkerConfig};
use fillbook::work::handlers;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::time::Duration;
use support::TestDb;

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .unwrap()
}

async fn position(db: &DatabaseConnection, symbol: &str) -> f64 {
    rows(
        db,
        &format!("SELECT quantity FROM positions WHERE symbol = '{symbol}' AND account_id = 1"),
    )
    .await
    .first()
    .map(|r| r.try_get::<f64>("", "quantity").unwrap())
    .unwrap_or(0.0)
}

support::db_test!(
    post_order_flow_refreshes_positions_and_trades_via_jobs,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let settings = SyncSettings {
            host: "127.0.0.1".into(),
            port: sim.port(),
            client_id: 100,
            connect_timeout: Duration::from_secs(5),
            lookback_days: DEFAULT_LOOKBACK_DAYS,
            time_zone: chrono_tz::UTC,
        };
        let ib = settings.connect_options();
        // Accounts and the starting position come from the gateway.
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let before = position(&t.db, "AAPL").await;

        let created = fillbook::orders::service::create_from_request(
            &t.db,
            &SystemClock,
            app::models::NewOrderDto {
                account_id: 1,
                symbol: "AAPL".into(),
                sec_type: None,
                exchange: None,
                currency: None,
                side: "BUY".into(),
                order_type: "MKT".into(),
                quantity: 10.0,
                limit_price: None,
                tif: None,
                order_ref: Some("post-order-test".into()),
            },
        )
        .await
        .unwrap();
        fillbook::orders::confirm_order(
            &t.db,
            &SystemClock,
            created.order.id,
            &created.confirmation_token,
        )
        .await
        .unwrap();

        let mut config = WorkerConfig::new(2);
        config.poll_interval = Duration::from_millis(50);
        let worker = Worker::new(t.db.clone(), handlers::registry(settings), config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(worker.run(async {
            let _ = stopped.await;
        }));
        let mut done = false;
        for _ in 0..300 {
            let states = rows(&t.db, "SELECT kind, state FROM jobs ORDER BY id").await;
            let finished = states
                .iter()
                .filter(|r| r.try_get::<String>("", "state").unwrap() == "completed")
                .count();
            if states.len() == 3 && finished == 3 {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(());
        running.await.unwrap().unwrap();
        let jobs: Vec<(String, String)> = rows(&t.db, "SELECT kind, state FROM jobs ORDER BY kind")
            .await
            .iter()
            .map(|r| {
                (
                    r.try_get("", "kind").unwrap(),
                    r.try_get("", "state").unwrap(),
                )
            })
            .collect();
        assert!(done, "jobs did not all complete: {jobs:?}");
        assert_eq!(
            jobs,
            [
                ("orders.submit".to_string(), "completed".to_string()),
                ("positions.sync".to_string(), "completed".to_string()),
                ("trades.sync".to_string(), "completed".to_string()),
            ]
        );
        let order = rows(
            &t.db,
            "SELECT status, ib_perm_id, filled_quantity, avg_fill_price FROM orders",
        )
        .await;
        assert_eq!(order[0].try_get::<String>("", "status").unwrap(), "filled");
        let perm: i64 = order[0].try_get("", "ib_perm_id").unwrap();
        let fill_price: f64 = order[0].try_get("", "avg_fill_price").unwrap();
        let trade = rows(
        &t.db,
        &format!("SELECT status, total_quantity, avg_price FROM trades WHERE match_key = 'perm:{perm}'"),
    )
    .await;
        assert_eq!(trade.len(), 1, "the order's fills form one trade");
        assert_eq!(trade[0].try_get::<String>("", "status").unwrap(), "filled");
        assert_eq!(trade[0].try_get::<f64>("", "total_quantity").unwrap(), 10.0);
        assert!((trade[0].try_get::<f64>("", "avg_price").unwrap() - fill_price).abs() < 1e-9);
        assert_eq!(position(&t.db, "AAPL").await, before + 10.0);
    }
);
