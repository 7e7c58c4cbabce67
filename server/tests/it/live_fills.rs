//! Fills as they happen, on SQLite and PostgreSQL, through the real `ibapi` client and the
//! simulator: a fill the gateway reports by itself reaches the ledger within a second (its
//! own client's and, as the gateway's master client, another client's); a gateway restart
//! ends in a reconnect and a gap sync with no duplicate; two followers hold one
//! subscription and the survivor takes over when the holder dies.

use crate::support;

use fillbook::gateways::SyncSettings;
use fillbook::live::{self, lease, LiveConfig, LIVE_CLIENT_OFFSET};
use fillbook_sim::{self as sim, Faults, Scenario, SimExecution};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use std::time::{Duration, Instant};
use support::TestDb;
use tokio::sync::watch;

const CLIENT: i32 = 100;
const ACCOUNT: &str = "DU0000001";

/// A gateway with one account whose master client is the live connection.
async fn gateway() -> sim::SimHandle {
    let mut scenario = Scenario::new(vec![ACCOUNT.into()]);
    scenario.master_client_id = Some(CLIENT + LIVE_CLIENT_OFFSET);
    sim::start(scenario, Faults::default())
        .await
        .expect("simulator")
}

fn config(sim: &sim::SimHandle, holder: &str, lease: Duration) -> LiveConfig {
    LiveConfig {
        holder: holder.into(),
        lease,
        catch_up: Duration::from_secs(30),
        defaults: SyncSettings {
            host: "127.0.0.1".into(),
            port: sim.port(),
            client_id: CLIENT,
            connect_timeout: Duration::from_secs(5),
            lookback_days: 7,
            time_zone: chrono_tz::UTC,
        },
    }
}

/// A fill of `client_id`'s order, timed when it is emitted.
fn fill(exec_id: &str, client_id: i32, perm_id: i64) -> SimExecution {
    serde_json::from_value(json!({
        "exec_id": exec_id, "account": ACCOUNT, "order_id": 7, "client_id": client_id,
        "perm_id": perm_id, "contract": { "con_id": 265598, "symbol": "AAPL" },
        "side": "BOT", "shares": 10.0, "price": 190.5, "time": "",
        "commission": { "amount": 1.25 }
    }))
    .expect("execution")
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

async fn rows_of(db: &DatabaseConnection, exec_id: &str) -> i64 {
    scalar(
        db,
        &format!("SELECT COUNT(*) FROM trade_executions WHERE ib_exec_id = '{exec_id}'"),
    )
    .await
}

/// Waits until `check` holds, failing after `limit`; returns how long it took.
async fn within<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < limit,
            "timed out ({limit:?}) waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

async fn session(db: &DatabaseConnection) -> lease::LiveSession {
    lease::current(db, "default")
        .await
        .expect("read live_sessions")
        .expect("a live session row")
}

async fn connected(db: &DatabaseConnection) -> bool {
    lease::current(db, "default")
        .await
        .ok()
        .flatten()
        .is_some_and(|s| s.connected_since.is_some())
}

fn follow(
    db: &DatabaseConnection,
    config: LiveConfig,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(live::supervise(db.clone(), config, stopped));
    (stop, task)
}

support::db_test!(
    a_fill_reaches_the_ledger_within_a_second,
    |t: TestDb| async move {
        let sim = gateway().await;
        let db = &t.db;
        let (stop, task) = follow(db, config(&sim, "proc-a", Duration::from_secs(10)));
        within("the live connection", Duration::from_secs(10), || {
            connected(db)
        })
        .await;

        // A fill of the live client's own order arrives on its order update stream.
        assert!(sim.emit_fill(fill(
            "0000a001.00000001.01.01",
            CLIENT + LIVE_CLIENT_OFFSET,
            9001
        )));
        within("the own client's fill", Duration::from_secs(1), || async {
            rows_of(db, "0000a001.00000001.01.01").await == 1
        })
        .await;
        // Another client's (or TWS's) fill: ibapi keeps it off this connection's stream, its
        // commission report announces it and a catch-up read brings it.
        assert!(sim.emit_fill(fill("0000a002.00000002.01.01", 0, 9002)));
        within("another client's fill", Duration::from_secs(1), || async {
            rows_of(db, "0000a002.00000002.01.01").await == 1
        })
        .await;
        within("both commissions", Duration::from_secs(1), || async {
            scalar(
                db,
                "SELECT COUNT(*) FROM trade_executions WHERE commission = 1.25",
            )
            .await
                == 2
        })
        .await;
        within("the session's count", Duration::from_secs(1), || async {
            session(db).await.fills_count == 2
        })
        .await;
        let s = session(db).await;
        assert_eq!(s.holder.as_deref(), Some("proc-a"));
        assert_eq!(s.client_id, Some(CLIENT + LIVE_CLIENT_OFFSET));
        assert!(s.last_fill_at.is_some());
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM trades").await, 2);
        // A clean stop gives the subscription up.
        stop.send(true).unwrap();
        task.await.unwrap();
        let s = session(db).await;
        assert_eq!((s.holder, s.connected_since), (None, None));
    }
);

support::db_test!(
    a_burst_of_fills_never_makes_the_session_fall_behind,
    |t: TestDb| async move {
        let sim = gateway().await;
        let db = &t.db;
        let (stop, task) = follow(db, config(&sim, "proc-a", Duration::from_secs(10)));
        within("the live connection", Duration::from_secs(10), || {
            connected(db)
        })
        .await;
        // 1,500 fills of this and other clients, one every 2 ms: other clients' fills make the
        // session read executions back while its order stream keeps arriving.
        for i in 0..1500 {
            let client = if i % 2 == 0 {
                CLIENT + LIVE_CLIENT_OFFSET
            } else {
                0
            };
            let id = format!("0000b{i:04}.00000001.01.01");
            assert!(sim.emit_fill(fill(&id, client, 8000 + i)));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        within("every fill", Duration::from_secs(30), || async {
            scalar(db, "SELECT COUNT(*) FROM trade_executions").await == 1500
        })
        .await;
        let s = session(db).await;
        assert_eq!(s.reconnects, 0, "the session dropped: {:?}", s.last_error);
        stop.send(true).unwrap();
        task.await.unwrap();
    }
);

support::db_test!(
    a_gateway_restart_reconnects_and_syncs_the_gap,
    |t: TestDb| async move {
        let sim = gateway().await;
        let db = &t.db;
        let (stop, task) = follow(db, config(&sim, "proc-a", Duration::from_secs(10)));
        within("the live connection", Duration::from_secs(10), || {
            connected(db)
        })
        .await;
        assert!(sim.emit_fill(fill("0000b001.00000001.01.01", 0, 9101)));
        within("the first fill", Duration::from_secs(5), || async {
            rows_of(db, "0000b001.00000001.01.01").await == 1
        })
        .await;
        assert_eq!(
            scalar(db, "SELECT COUNT(*) FROM jobs").await,
            0,
            "no sync on a first connect"
        );

        // The gateway restarts; a fill booked while nobody is connected is the gap.
        sim.restart(Duration::from_millis(1500));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(sim.emit_fill(fill("0000b002.00000002.01.01", 0, 9102)));
        within("the reconnect", Duration::from_secs(15), || async {
            session(db).await.reconnects == 1 && connected(db).await
        })
        .await;
        within("the gap sync job", Duration::from_secs(5), || async {
            scalar(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'trades.sync'").await == 1
        })
        .await;
        // The gap sync brings the missed fill and duplicates nothing.
        let options = fillbook::ib::IbConnectOptions::new("127.0.0.1", sim.port(), CLIENT);
        fillbook::sync::trades::sync_trades_once(db, &options, 7, None)
            .await
            .expect("gap sync");
        assert_eq!(rows_of(db, "0000b002.00000002.01.01").await, 1);
        assert_eq!(rows_of(db, "0000b001.00000001.01.01").await, 1);
        // And the new connection follows fills again.
        assert!(sim.emit_fill(fill("0000b003.00000003.01.01", 0, 9103)));
        within(
            "a fill after the restart",
            Duration::from_secs(5),
            || async { rows_of(db, "0000b003.00000003.01.01").await == 1 },
        )
        .await;
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM trade_executions").await, 3);
        stop.send(true).unwrap();
        task.await.unwrap();
    }
);

support::db_test!(
    one_follower_holds_a_gateway_and_another_takes_over,
    |t: TestDb| async move {
        let sim = gateway().await;
        let db = &t.db;
        let lease = Duration::from_secs(2);
        let (stop_a, task_a) = follow(db, config(&sim, "proc-a", lease));
        within("proc-a's connection", Duration::from_secs(10), || {
            connected(db)
        })
        .await;
        let (stop_b, task_b) = follow(db, config(&sim, "proc-b", lease));
        // proc-b waits: one holder, and one live connection at the gateway.
        tokio::time::sleep(lease * 2).await;
        assert_eq!(session(db).await.holder.as_deref(), Some("proc-a"));
        assert_eq!(session(db).await.reconnects, 0);

        // proc-a dies without a word (its task is dropped: no release, no disconnect).
        task_a.abort();
        let _ = task_a.await;
        drop(stop_a);
        sim.restart(Duration::from_millis(10)); // the dead process's socket closes
        let took = within("the takeover", Duration::from_secs(15), || async {
            let s = session(db).await;
            s.holder.as_deref() == Some("proc-b") && s.connected_since.is_some()
        })
        .await;
        assert!(
            took <= lease * 3,
            "took over after {took:?} with a {lease:?} lease"
        );
        // The takeover closes the gap with a sync, and proc-b follows fills.
        within("the gap sync job", Duration::from_secs(5), || async {
            scalar(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'trades.sync'").await == 1
        })
        .await;
        assert!(sim.emit_fill(fill("0000c001.00000001.01.01", 0, 9201)));
        within(
            "a fill followed by proc-b",
            Duration::from_secs(5),
            || async { rows_of(db, "0000c001.00000001.01.01").await == 1 },
        )
        .await;
        stop_b.send(true).unwrap();
        task_b.await.unwrap();
    }
);

/// Two `fillbook worker` processes on one PostgreSQL database: one follows the gateway;
/// after `kill -9` of that one the other takes over within its lease and follows fills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survivor_of_two_worker_processes_takes_over_after_kill_9() {
    let t = support::postgres().await;
    let sim = gateway().await;
    let db = &t.db;
    let spawn = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fillbook"))
            .args(["worker", "--workers", "1", "--live-lease-seconds", "2"])
            .args(["--worker-id", name, "--ib-port", &sim.port().to_string()])
            .args(["--ib-client-id", &CLIENT.to_string()])
            .env("DATABASE_URL", &t.url)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start fillbook worker")
    };
    let a = spawn("proc-a");
    let b = spawn("proc-b");
    within("a live connection", Duration::from_secs(30), || {
        connected(db)
    })
    .await;
    let first = session(db).await.holder.expect("a holder");
    let (mut holder, mut survivor) = if first == "proc-a" { (a, b) } else { (b, a) };
    let other = if first == "proc-a" {
        "proc-b"
    } else {
        "proc-a"
    };
    assert!(sim.emit_fill(fill("0000d001.00000001.01.01", 0, 9301)));
    within(
        "a fill followed by the holder",
        Duration::from_secs(5),
        || async { rows_of(db, "0000d001.00000001.01.01").await == 1 },
    )
    .await;

    holder.kill().expect("kill -9 the holder"); // SIGKILL: no release, no goodbye
    let _ = holder.wait();
    let took = within("the takeover", Duration::from_secs(20), || async {
        let s = session(db).await;
        s.holder.as_deref() == Some(other) && s.connected_since.is_some()
    })
    .await;
    eprintln!("takeover after kill -9 of {first}: {took:?} (lease 2 s)");
    assert!(sim.emit_fill(fill("0000d002.00000002.01.01", 0, 9302)));
    within(
        "a fill followed by the survivor",
        Duration::from_secs(5),
        || async { rows_of(db, "0000d002.00000002.01.01").await == 1 },
    )
    .await;
    let _ = survivor.kill();
    let _ = survivor.wait();
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM trade_executions").await, 2);
}
