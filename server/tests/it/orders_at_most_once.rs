//! Orders are placed at most once, on both databases: an order whose placement reached the
//! simulator but whose answer was lost (the connection dropped) is reconciled with the
//! gateway's orders on the next run and never placed again; an order the gateway provably
//! never received is placed exactly once.

use crate::support;

use fillbook::clock::SystemClock;
use fillbook::ib::{Gateway, IbConnectOptions};
use fillbook::orders::worker::submit_queued;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use support::TestDb;

async fn order_row(db: &DatabaseConnection, id: i32) -> (String, Option<String>, Option<i64>) {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT status, last_error, ib_perm_id FROM orders WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "status").unwrap(),
        row.try_get("", "last_error").unwrap(),
        row.try_get("", "ib_perm_id").unwrap(),
    )
}

/// A confirmed (queued) market order with a reference of its own.
async fn confirmed_order(db: &DatabaseConnection, order_ref: &str) -> i32 {
    let created = fillbook::orders::service::create_from_request(
        db,
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
            order_ref: Some(order_ref.into()),
        },
    )
    .await
    .unwrap();
    fillbook::orders::confirm_order(
        db,
        &SystemClock,
        created.order.id,
        &created.confirmation_token,
    )
    .await
    .unwrap();
    created.order.id
}

/// How many orders with this reference the gateway holds (open and completed). Each look
/// uses a client id of its own: the simulator may still hold the previous look's session
/// for a moment after it disconnected (IB refuses a client id in use).
async fn at_gateway(sim: &sim::SimHandle, order_ref: &str) -> usize {
    static LOOKS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    let client_id = 777 + LOOKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let g = Gateway::connect(&IbConnectOptions::new("127.0.0.1", sim.port(), client_id))
        .await
        .unwrap();
    let mut all = g.open_orders().await.unwrap();
    all.extend(g.completed_orders().await.unwrap());
    g.disconnect().await;
    all.iter()
        .filter(|o| o.order.order_ref == order_ref)
        .count()
}

support::db_test!(
    an_order_whose_answer_was_lost_is_reconciled_not_resent,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let id = confirmed_order(&t.db, "once-1").await;
        // The gateway takes the order and drops the connection before answering.
        sim.set_faults(Faults {
            drop_on_place: true,
            ..Faults::default()
        });
        let err = submit_queued(&t.db, &ib).await.unwrap_err();
        assert!(
            err.to_string().contains("reconciled with the gateway"),
            "{err}"
        );
        let (status, error, _) = order_row(&t.db, id).await;
        assert_eq!(status, "submitting");
        assert!(error.unwrap().contains("outcome unknown"));
        sim.set_faults(Faults::default());
        assert_eq!(at_gateway(&sim, "once-1").await, 1);
        // The retry finds it at the gateway and does not place it again.
        let tally = submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(tally["reconciled"], 1, "{tally}");
        assert_eq!(tally["resent_absent"], 0, "{tally}");
        let (status, error, perm) = order_row(&t.db, id).await;
        assert_ne!(status, "submitting");
        assert_eq!(error, None);
        assert!(perm.is_some_and(|p| p > 0));
        assert_eq!(at_gateway(&sim, "once-1").await, 1, "placed exactly once");
        // Nothing is left to do.
        let again = submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(again["claimed"], 0, "{again}");
        assert_eq!(at_gateway(&sim, "once-1").await, 1);
    }
);

support::db_test!(
    an_order_the_gateway_never_received_is_placed_once,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let id = confirmed_order(&t.db, "once-2").await;
        // A worker recorded the id it was about to use and died before the order left.
        t.db.execute_unprepared(&format!(
            "UPDATE orders SET status = 'submitting', ib_order_id = 987654, client_id = 100, \
         last_error = 'worker stopped' WHERE id = {id}"
        ))
        .await
        .unwrap();
        let tally = submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(tally["resent_absent"], 1, "{tally}");
        assert_eq!(tally["reconciled"], 0, "{tally}");
        assert_eq!(at_gateway(&sim, "once-2").await, 1);
        let (status, _, perm) = order_row(&t.db, id).await;
        assert_ne!(status, "submitting");
        assert!(perm.is_some());
        submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(at_gateway(&sim, "once-2").await, 1, "placed exactly once");
    }
);

support::db_test!(
    an_order_in_doubt_is_not_resent_while_the_gateway_is_away,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let id = confirmed_order(&t.db, "once-3").await;
        sim.set_faults(Faults {
            drop_on_place: true,
            ..Faults::default()
        });
        submit_queued(&t.db, &ib).await.unwrap_err();
        // The gateway is away: the run fails, the order stays in doubt, nothing is placed.
        sim.set_faults(Faults {
            refuse_handshake: true,
            ..Faults::default()
        });
        submit_queued(&t.db, &ib).await.unwrap_err();
        let (status, error, _) = order_row(&t.db, id).await;
        assert_eq!(status, "submitting");
        assert!(error.is_some());
        sim.set_faults(Faults::default());
        submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(at_gateway(&sim, "once-3").await, 1);
    }
);

support::db_test!(
    orders_behind_a_dropped_one_go_back_to_the_queue_and_are_placed_once,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let first = confirmed_order(&t.db, "batch-1").await;
        let second = confirmed_order(&t.db, "batch-2").await;
        // The gateway takes the first order and drops the connection: the second never left
        // (it failed asking for an order id), so it is queued again, not in doubt forever.
        sim.set_faults(Faults {
            drop_on_place: true,
            ..Faults::default()
        });
        submit_queued(&t.db, &ib).await.unwrap_err();
        let (status, error, _) = order_row(&t.db, second).await;
        assert_eq!(status, "queued", "{error:?}");
        assert!(error.unwrap().contains("not placed"));
        assert_eq!(order_row(&t.db, first).await.0, "submitting");
        sim.set_faults(Faults::default());
        let tally = submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(tally["reconciled"], 1, "{tally}");
        for (id, r) in [(first, "batch-1"), (second, "batch-2")] {
            assert_eq!(at_gateway(&sim, r).await, 1, "{r} placed exactly once");
            let (status, _, _) = order_row(&t.db, id).await;
            assert!(
                !["queued", "submitting"].contains(&status.as_str()),
                "{r}: {status}"
            );
        }
    }
);

support::db_test!(
    a_claimed_order_without_an_order_id_is_queued_again_when_its_worker_died,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let id = confirmed_order(&t.db, "claimed-1").await;
        // A worker claimed it and died before asking for an order id, long ago.
        t.db.execute_unprepared(&format!(
            "UPDATE orders SET status = 'submitting', updated_at = '2026-01-01T00:00:00Z' WHERE id = {id}"
        ))
        .await
        .unwrap();
        submit_queued(&t.db, &ib).await.unwrap();
        assert_eq!(at_gateway(&sim, "claimed-1").await, 1);
        assert_ne!(order_row(&t.db, id).await.0, "submitting");
    }
);
