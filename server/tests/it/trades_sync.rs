//! trades.sync through the real `ibapi` client and the simulator, on SQLite and PostgreSQL:
//! every acceptance criterion of the sync as its own test, plus re-runs, corrections across runs
//! and out of order, late commissions, a mid-stream disconnect and concurrent syncs.

use crate::support;

use fillbook::ib::IbConnectOptions;
use fillbook::sync::trades::{sync_trades_in_batches, sync_trades_once, SyncMetrics};
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use support::TestDb;

async fn start(scenario: Scenario) -> sim::SimHandle {
    sim::start(scenario, Faults::default())
        .await
        .expect("simulator")
}

fn options(sim: &sim::SimHandle) -> IbConnectOptions {
    IbConnectOptions::new("127.0.0.1", sim.port(), 100)
}

async fn sync(db: &DatabaseConnection, sim: &sim::SimHandle) -> SyncMetrics {
    sync_trades_once(db, &options(sim), 7, None)
        .await
        .expect("sync")
}

/// One scenario execution: `(exec_id, perm_id, order_ref, order_id, symbol, side, shares, price, time)`.
type Fill<'a> = (
    &'a str,
    i64,
    Option<&'a str>,
    i32,
    &'a str,
    &'a str,
    f64,
    f64,
    &'a str,
);

/// A scenario of one account from a list of fills.
fn scenario(execs: &[Fill]) -> Scenario {
    let executions: Vec<_> = execs
        .iter()
        .map(|(id, perm, r, order, sym, side, shares, price, time)| {
            json!({
                "exec_id": id, "account": "DU0000001", "order_id": order, "client_id": 100,
                "perm_id": perm, "order_ref": r,
                "contract": { "con_id": 265598, "symbol": sym },
                "side": side, "shares": shares, "price": price, "time": time,
                "commission": { "amount": 1.0 }
            })
        })
        .collect();
    serde_json::from_value(json!({ "accounts": ["DU0000001"], "executions": executions }))
        .expect("scenario")
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> f64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<Option<f64>>(0)
        .ok()
        .flatten()
        .or_else(|| row.try_get_by_index::<i64>(0).ok().map(|v| v as f64))
        .or_else(|| row.try_get_by_index::<i32>(0).ok().map(f64::from))
        .unwrap_or(0.0)
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    scalar(db, sql).await as i64
}

support::db_test!(
    rerunning_the_same_window_does_not_duplicate_executions,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        let first = sync(&t.db, &sim).await;
        assert_eq!(
            first.inserted_executions_count,
            first.fetched_executions_count
        );
        assert!(first.inserted_executions_count > 40);
        // The demo holds commissions that only arrive in a later session: the second run
        // updates those rows and nothing else.
        let second = sync(&t.db, &sim).await;
        assert_eq!(second.inserted_executions_count, 0);
        let rows = count(&t.db, "SELECT COUNT(*) FROM trade_executions").await;
        let trades = count(&t.db, "SELECT COUNT(*) FROM trades").await;
        let stamp = |db: DatabaseConnection| async move {
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT MAX(updated_at) AS a FROM trade_executions".to_string(),
                ))
                .await
                .unwrap()
                .unwrap();
            let e: chrono::DateTime<chrono::Utc> = row.try_get("", "a").unwrap();
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT MAX(updated_at) AS a FROM trades".to_string(),
                ))
                .await
                .unwrap()
                .unwrap();
            let t: chrono::DateTime<chrono::Utc> = row.try_get("", "a").unwrap();
            (e, t)
        };
        let before = stamp(t.db.clone()).await;
        let third = sync(&t.db, &sim).await;
        assert_eq!(
            (
                third.inserted_executions_count,
                third.updated_executions_count,
                third.canonical_changes_count,
                third.touched_trades_count
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            rows
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM trades").await, trades);
        assert_eq!(
            stamp(t.db.clone()).await,
            before,
            "a re-sync must not touch updated_at"
        );
    }
);

support::db_test!(
    multiple_executions_for_one_trade_are_stored_and_queryable,
    |t: TestDb| async move {
        let sim = start(scenario(&[
            (
                "0001.aa.01.01",
                5001,
                None,
                1,
                "AAPL",
                "BOT",
                40.0,
                100.0,
                "20261120-14:00:00",
            ),
            (
                "0001.aa.02.01",
                5001,
                None,
                1,
                "AAPL",
                "BOT",
                60.0,
                101.0,
                "20261120-14:00:05",
            ),
        ]))
        .await;
        sync(&t.db, &sim).await;
        let page = fillbook::db::read::list_trades(&t.db, Default::default())
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let trade = &page.items[0];
        assert_eq!(trade.fills_count, 2);
        let execs = fillbook::db::read::list_executions(&t.db, trade.id, false)
            .await
            .unwrap();
        assert_eq!(execs.len(), 2);
        assert_eq!(trade.total_quantity, 100.0);
        assert!((trade.avg_price.unwrap() - 100.6).abs() < 1e-9);
    }
);

support::db_test!(
    corrected_executions_produce_one_canonical_execution_per_base,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        sync(&t.db, &sim).await;
        // Exactly one canonical row per (account, base), and it is the highest revision.
        assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM (SELECT account_id, exec_id_base FROM trade_executions GROUP BY account_id, exec_id_base HAVING SUM(CASE WHEN is_canonical THEN 1 ELSE 0 END) <> 1) x").await,
        0
    );
        assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trade_executions e WHERE e.is_canonical AND e.exec_revision < (SELECT MAX(x.exec_revision) FROM trade_executions x WHERE x.account_id = e.account_id AND x.exec_id_base = e.exec_id_base)").await,
        0
    );
        // The demo's fill corrected .01 -> .02 -> .03 keeps three rows, .03 canonical.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM trade_executions WHERE exec_id_base = '0000e0d5.6576ba1b.01'"
            )
            .await,
            3
        );
        assert_eq!(count(&t.db, "SELECT exec_revision FROM trade_executions WHERE exec_id_base = '0000e0d5.6576ba1b.01' AND is_canonical").await, 3);
    }
);

support::db_test!(
    trade_aggregates_match_canonical_execution_totals,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        sync(&t.db, &sim).await;
        sync(&t.db, &sim).await;
        assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trades t WHERE ABS(t.total_quantity - (SELECT COALESCE(SUM(e.quantity), 0) FROM trade_executions e WHERE e.trade_id = t.id AND e.is_canonical)) > 0.000001").await,
        0
    );
        assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trades t WHERE ABS(t.avg_price - (SELECT SUM(e.quantity * e.price) / SUM(e.quantity) FROM trade_executions e WHERE e.trade_id = t.id AND e.is_canonical)) > 0.000001").await,
        0
    );
        let corrected = count(
            &t.db,
            "SELECT t.total_quantity FROM trades t WHERE t.match_key = 'perm:1900000001'",
        )
        .await;
        assert_eq!(
            corrected, 40,
            "the corrected fill's last revision (40 shares) counts, not 50 or 45"
        );
    }
);

support::db_test!(
    perm_id_trades_are_unique_by_account_and_perm_id,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        sync(&t.db, &sim).await;
        assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM (SELECT account_id, ib_perm_id FROM trades WHERE ib_perm_id > 0 GROUP BY account_id, ib_perm_id HAVING COUNT(*) > 1) x").await,
        0
    );
        // The database itself refuses a second trade for the same (account, perm id).
        let dup = t
        .db
        .execute_unprepared(
            "INSERT INTO trades (account_id, match_key, ib_perm_id, status, total_quantity, fetched_at, created_at, updated_at) \
             SELECT account_id, 'other', ib_perm_id, 'unknown', 0, fetched_at, created_at, updated_at FROM trades WHERE ib_perm_id > 0 LIMIT 1",
        )
        .await;
        assert!(
            dup.is_err(),
            "the partial unique index must reject a duplicate perm id"
        );
    }
);

support::db_test!(
    perm_id_zero_resolves_via_order_ref_or_composite_key,
    |t: TestDb| async move {
        let sim = start(scenario(&[
            (
                "0002.bb.01.01",
                0,
                Some("hedge-1"),
                7,
                "SPY",
                "SLD",
                10.0,
                500.0,
                "20261120-15:00:00",
            ),
            (
                "0002.bb.02.01",
                0,
                Some("hedge-1"),
                7,
                "SPY",
                "SLD",
                5.0,
                501.0,
                "20261120-15:00:01",
            ),
            (
                "0003.cc.01.01",
                0,
                None,
                9,
                "QQQ",
                "BOT",
                3.0,
                400.0,
                "20261120-23:59:59",
            ),
            (
                "0003.cc.02.01",
                0,
                None,
                9,
                "QQQ",
                "BOT",
                2.0,
                401.0,
                "20261121-00:00:01",
            ),
        ]))
        .await;
        sync(&t.db, &sim).await;
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM trades WHERE match_key = 'ref:hedge-1' AND total_quantity = 15").await, 1);
        // Composite key uses the UTC trade date: fills either side of midnight are two trades.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM trades WHERE match_key LIKE 'ord:100:9:QQQ:BUY:%'"
            )
            .await,
            2
        );
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM trades WHERE match_key = 'ord:100:9:QQQ:BUY:2026-11-20'"
            )
            .await,
            1
        );
    }
);

support::db_test!(
    corrections_across_runs_and_out_of_order_keep_the_highest_revision,
    |t: TestDb| async move {
        let first = start(scenario(&[(
            "0004.dd.01.02",
            7001,
            None,
            3,
            "MSFT",
            "BOT",
            45.0,
            400.0,
            "20261120-14:00:00",
        )]))
        .await;
        sync(&t.db, &first).await;
        let later = start(scenario(&[
            (
                "0004.dd.01.03",
                7001,
                None,
                3,
                "MSFT",
                "BOT",
                40.0,
                399.0,
                "20261120-14:00:00",
            ),
            (
                "0004.dd.01.01",
                7001,
                None,
                3,
                "MSFT",
                "BOT",
                50.0,
                401.0,
                "20261120-14:00:00",
            ),
            (
                "0004.dd.01.02",
                7001,
                None,
                3,
                "MSFT",
                "BOT",
                45.0,
                400.0,
                "20261120-14:00:00",
            ),
        ]))
        .await;
        let m = sync(&t.db, &later).await;
        assert_eq!(m.inserted_executions_count, 2);
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM trade_executions WHERE is_canonical"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &t.db,
                "SELECT exec_revision FROM trade_executions WHERE is_canonical"
            )
            .await,
            3
        );
        assert_eq!(
            scalar(&t.db, "SELECT total_quantity FROM trades").await,
            40.0
        );
        assert_eq!(scalar(&t.db, "SELECT avg_price FROM trades").await, 399.0);
    }
);

support::db_test!(
    a_late_commission_updates_the_existing_row,
    |t: TestDb| async move {
        let mut s = scenario(&[(
            "0005.ee.01.01",
            8001,
            None,
            4,
            "TSLA",
            "BOT",
            10.0,
            250.0,
            "20261120-14:00:00",
        )]);
        s.executions[0].commission = Some(fillbook_sim::SimCommission {
            amount: 1.25,
            currency: "USD".into(),
            realized_pnl: None,
            delivery: fillbook_sim::CommissionDelivery::LaterSession,
        });
        let sim = start(s).await;
        let first = sync(&t.db, &sim).await;
        assert_eq!(first.inserted_executions_count, 1);
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM trade_executions WHERE commission IS NULL"
            )
            .await,
            1
        );
        let second = sync(&t.db, &sim).await;
        assert_eq!(
            (
                second.inserted_executions_count,
                second.updated_executions_count
            ),
            (0, 1)
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            1
        );
        assert_eq!(
            scalar(&t.db, "SELECT commission FROM trade_executions").await,
            1.25
        );
    }
);

support::db_test!(
    a_mid_stream_disconnect_commits_nothing_and_the_next_run_ingests_once,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        sim.set_faults(Faults {
            drop_after: Some(20),
            ..Faults::default()
        });
        let err = sync_trades_once(&t.db, &options(&sim), 7, None)
            .await
            .expect_err("must fail");
        assert!(!err.to_string().is_empty());
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM trades").await, 0);
        sim.set_faults(Faults::default());
        let m = sync(&t.db, &sim).await;
        assert_eq!(m.inserted_executions_count, m.fetched_executions_count);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await as usize,
            m.fetched_executions_count
        );
    }
);

support::db_test!(
    concurrent_syncs_neither_duplicate_nor_fail,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        // Two workers of one deployment share the client id: the second connection finds it
        // in use and syncs under the next free one.
        let a = IbConnectOptions::new("127.0.0.1", sim.port(), 101);
        let b = a.clone();
        let (ra, rb) = tokio::join!(
            sync_trades_once(&t.db, &a, 7, None),
            sync_trades_once(&t.db, &b, 7, None)
        );
        let (ra, rb) = (ra.expect("first sync"), rb.expect("second sync"));
        assert_eq!(
            ra.inserted_executions_count + rb.inserted_executions_count,
            ra.fetched_executions_count
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await as usize,
            ra.fetched_executions_count
        );
    }
);

support::db_test!(
    a_resync_compares_record_digests_and_fills_without_one_in_full,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        sync(&t.db, &sim).await;
        sync(&t.db, &sim).await; // the demo's late commissions arrive in the second session
        let rows = count(&t.db, "SELECT COUNT(*) FROM trade_executions").await;
        assert!(rows > 40);
        let undigested = "SELECT COUNT(*) FROM trade_executions WHERE gateway_hash IS NULL";
        assert_eq!(
            count(&t.db, undigested).await,
            0,
            "every gateway fill has a digest"
        );
        // A stored value no record carries: a re-sync whose records match their digests
        // reads and compares nothing more, so it is left as it is.
        t.db.execute_unprepared("UPDATE trade_executions SET price = price + 1")
            .await
            .unwrap();
        let matched = sync(&t.db, &sim).await;
        assert_eq!(matched.fetched_executions_count as i64, rows);
        assert_eq!(matched.updated_executions_count, 0);
        // Fills stored before digests existed are compared field by field: the gateway's
        // price comes back, and the digest is recorded with the change.
        t.db.execute_unprepared("UPDATE trade_executions SET gateway_hash = NULL")
            .await
            .unwrap();
        let compared = sync(&t.db, &sim).await;
        assert_eq!(compared.updated_executions_count as i64, rows);
        assert_eq!(count(&t.db, undigested).await, 0);
        let again = sync(&t.db, &sim).await;
        assert_eq!(again.updated_executions_count, 0);
        assert_eq!(again.inserted_executions_count, 0);
    }
);

/// The ledger as text rows: every fill with its flags and its trade's totals, first and last
/// fill time and status.
async fn ledger(db: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT e.ib_exec_id || '|' || CASE WHEN e.is_canonical THEN 'c' ELSE '-' END \
        || '|' || t.match_key || '|' || CAST(t.total_quantity AS TEXT) || '|' \
        || COALESCE(CAST(ROUND(CAST(t.avg_price AS NUMERIC), 6) AS TEXT), '') || '|' \
        || CAST(t.fills_count AS TEXT) || '|' \
        || COALESCE(CAST(ROUND(CAST(t.commission_total AS NUMERIC), 6) AS TEXT), '') || '|' \
        || CAST(t.first_executed_at AS TEXT) || '|' || CAST(t.last_executed_at AS TEXT) || '|' \
        || t.status FROM trade_executions e JOIN trades t ON t.id = e.trade_id \
        ORDER BY e.ib_exec_id";
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

support::db_test!(
    a_sync_written_in_small_batches_ends_the_same,
    |t: TestDb| async move {
        let sim = start(Scenario::demo()).await;
        // Batches of three: fills of one trade, and revisions of one fill, land in
        // different batches; totals and status are settled once at the end.
        let small = sync_trades_in_batches(&t.db, &options(&sim), 7, None, 3)
            .await
            .unwrap();
        let other = if t.is_postgres() {
            support::postgres().await
        } else {
            support::sqlite().await
        };
        // A simulator of its own: the demo delivers some commissions only in a later
        // session, so both ledgers must come from a first session.
        let first_session = start(Scenario::demo()).await;
        let whole = sync(&other.db, &first_session).await;
        assert!(small.inserted_executions_count > 40, "{small:?}");
        assert_eq!(
            small.inserted_executions_count,
            whole.inserted_executions_count
        );
        assert_eq!(small.touched_trades_count, whole.touched_trades_count);
        let batched = ledger(&t.db).await;
        assert_eq!(batched.len(), small.inserted_executions_count);
        assert_eq!(batched, ledger(&other.db).await);
    }
);

/// Whether `value` holds the string `wanted` anywhere.
fn holds(value: &serde_json::Value, wanted: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s == wanted,
        serde_json::Value::Array(items) => items.iter().any(|v| holds(v, wanted)),
        serde_json::Value::Object(map) => map.values().any(|v| holds(v, wanted)),
        _ => false,
    }
}

// PostgreSQL loads new fills with COPY in CSV form: quotes, commas, line breaks and
// backslashes in a field must arrive as sent, in its column and in the raw record.
support::db_test!(
    text_with_quotes_commas_and_line_breaks_is_stored_as_sent,
    |t: TestDb| async move {
        let order_ref = "q\"uote, comma\nline \\N \\ é,\"\"";
        let sim = start(scenario(&[(
            "0001.ab.01.01",
            5002,
            Some(order_ref),
            1,
            "AAPL",
            "BOT",
            10.0,
            100.0,
            "20261120-14:00:00",
        )]))
        .await;
        let first = sync(&t.db, &sim).await;
        assert_eq!(first.inserted_executions_count, 1);
        let row =
            t.db.query_one_raw(Statement::from_string(
                t.db.get_database_backend(),
                "SELECT order_ref, raw, symbol FROM trade_executions".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        let stored: String = row.try_get_by_index(0).unwrap();
        assert_eq!(stored, order_ref);
        let raw: String = row
            .try_get_by_index::<serde_json::Value>(1)
            .map(|v| v.to_string())
            .or_else(|_| row.try_get_by_index::<String>(1))
            .unwrap();
        let raw: serde_json::Value = serde_json::from_str(&raw).expect("raw is JSON");
        assert!(
            holds(&raw, order_ref),
            "raw record lost the order ref: {raw}"
        );
        assert_eq!(row.try_get_by_index::<String>(2).unwrap(), "AAPL");
        // And the stored digest matches what the gateway sends: a re-sync writes nothing.
        let again = sync(&t.db, &sim).await;
        assert_eq!(
            again.inserted_executions_count + again.updated_executions_count,
            0
        );
    }
);
