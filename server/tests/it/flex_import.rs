//! Flex statements merged into the ledger, on SQLite and PostgreSQL: the expected ledger of a
//! statement, re-imports that write nothing, a statement and a sync of the same fills in
//! either order ending in the same ledger, overlapping statements, cancellations that arrive
//! before their fill, malformed documents that write nothing, and the command line.

use crate::support;

use fillbook::ib::IbConnectOptions;
use fillbook::sync::statement::import_flex;
use fillbook::sync::trades::sync_trades_once;
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use support::TestDb;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/flex/{name}"))
}

async fn import(db: &DatabaseConnection, name: &str) -> fillbook::flex::ImportMetrics {
    let file = std::fs::File::open(fixture(name)).unwrap();
    import_flex(db, std::io::BufReader::new(file), Some(name.into()))
        .await
        .unwrap()
}

/// The two live fills of order 7001 that `statement_a.xml` also holds.
fn live_scenario() -> Scenario {
    let exec = |id: &str, shares: f64, price: f64, time: &str| {
        json!({
            "exec_id": id, "account": "DU0000001", "order_id": 1, "client_id": 100,
            "perm_id": 7001, "contract": { "con_id": 265598, "symbol": "AAPL" },
            "side": "BOT", "shares": shares, "price": price, "time": time,
            "exchange": "ISLAND", "commission": { "amount": 1.0 }
        })
    };
    serde_json::from_value(json!({
        "accounts": ["DU0000001"],
        "executions": [
            exec("00aa.1001.01.01", 40.0, 100.0, "20261120-14:00:00"),
            exec("00aa.1001.02.01", 60.0, 101.0, "20261120-14:00:05"),
        ]
    }))
    .expect("scenario")
}

async fn sync(db: &DatabaseConnection, sim: &sim::SimHandle) {
    sync_trades_once(
        db,
        &IbConnectOptions::new("127.0.0.1", sim.port(), 100),
        7,
        None,
    )
    .await
    .expect("sync");
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        let cols = r.column_names();
        cols.iter()
            .map(|c| {
                r.try_get::<Option<String>>("", c)
                    .map(|v| v.unwrap_or_else(|| "∅".into()))
                    .or_else(|_| r.try_get::<Option<f64>>("", c).map(|v| format!("{v:?}")))
                    .or_else(|_| r.try_get::<Option<i64>>("", c).map(|v| format!("{v:?}")))
                    .or_else(|_| r.try_get::<Option<i32>>("", c).map(|v| format!("{v:?}")))
                    .or_else(|_| r.try_get::<Option<bool>>("", c).map(|v| format!("{v:?}")))
                    .or_else(|_| {
                        r.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", c)
                            .map(|v| format!("{v:?}"))
                    })
                    .unwrap_or_else(|e| panic!("column {c}: {e}"))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    })
    .collect()
}

async fn count(db: &DatabaseConnection, sql: &str) -> usize {
    rows(db, sql).await[0]
        .trim_start_matches("Some(")
        .trim_end_matches(')')
        .parse()
        .unwrap()
}

/// Everything the ledger says about every fill and its trade, in a stable order.
async fn ledger(db: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT e.ib_exec_id, e.quantity, e.price, e.commission, e.commission_currency, \
        CASE WHEN e.is_canonical THEN 'true' ELSE 'false' END AS canonical, e.busted_by, \
        e.flex_transaction_id, e.flex_trade_id, \
        CASE WHEN e.time_unknown THEN 'time unknown' ELSE 'timed' END AS timed, \
        e.ib_perm_id, e.executed_at, t.match_key, t.total_quantity, t.avg_price, \
        t.first_executed_at, t.last_executed_at, t.status, \
        (SELECT MIN(x.ib_exec_id) FROM trade_executions x WHERE x.trade_id = t.id) AS trade_of \
        FROM trade_executions e JOIN trades t ON t.id = e.trade_id ORDER BY e.ib_exec_id";
    rows(db, sql).await
}

support::db_test!(
    a_statement_builds_the_expected_ledger,
    |t: TestDb| async move {
        let m = import(&t.db, "statement_a.xml").await;
        assert_eq!(m.rows_read, 10);
        assert_eq!(m.executions_read, 8);
        assert_eq!(m.executions_inserted, 8, "{m:?}");
        assert_eq!(m.cancellations_read, 1);
        assert_eq!(m.cancellations_recorded, 1);
        assert_eq!(m.executions_busted, 1);
        assert!(m.unmatched_cancellations.is_empty());
        assert_eq!(m.skipped_count, 1, "the row with an unreadable time");
        assert!(m.skipped[0].reason.contains("yesterday"), "{:?}", m.skipped);
        assert_eq!(m.skipped[0].raw["transactionID"], "8010");
        assert_eq!(m.summary_rows_skipped.values().sum::<usize>(), 3);
        assert_eq!(m.sections_ignored.len(), 3, "{:?}", m.sections_ignored);
        assert_eq!(m.statements.len(), 1);
        assert_eq!(m.statements[0].account, "DU0000001");
        // The account was created by the statement.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM accounts WHERE code = 'DU0000001'"
            )
            .await,
            1
        );

        let l = ledger(&t.db).await;
        assert_eq!(l.len(), 8, "{l:#?}");
        let row = |id: &str| {
            l.iter()
                .find(|r| r.starts_with(&format!("{id} |")))
                .unwrap_or_else(|| panic!("{id} in {l:#?}"))
                .clone()
        };
        // Three fills of order 7001 in one trade, grouped by IB's order id.
        for id in ["00aa.1001.01.01", "00aa.1001.02.01", "00aa.1001.03.01"] {
            assert!(
                row(id).contains("flexorder:7001 | Some(125.0)"),
                "{}",
                row(id)
            );
        }
        // Commission: a cost stored positive, in its own currency.
        assert!(
            row("00aa.1001.03.01").contains("| Some(0.5) | USD |"),
            "{}",
            row("00aa.1001.03.01")
        );
        assert!(row("00dd.4001.01.01").contains("| Some(2.0) | EUR |"));
        // The rebooking is the canonical revision; the original stays, not canonical.
        assert!(
            row("00bb.2001.01.01").contains("| false | ∅ | 8004 |"),
            "{}",
            row("00bb.2001.01.01")
        );
        assert!(row("00bb.2001.01.02").contains("| true | ∅ | 8005 |"));
        assert!(row("00bb.2001.01.02").contains("Some(10.0) | Some(400.5)"));
        // The cancelled fill stays in the ledger, busted and out of the aggregates.
        let cancelled = row("00cc.3001.01.01");
        assert!(
            cancelled.contains("| false | flex-txn:8007 | 8006 |"),
            "{cancelled}"
        );
        assert!(
            cancelled.contains("ref:bot-tsla | Some(0.0)"),
            "{cancelled}"
        );
        // A fill IB booked itself without an execution id is keyed by its transaction id.
        assert!(row("flex-txn:8008").contains("| true |"));
        // A date without a time is flagged, never given an invented time.
        assert!(
            row("00dd.4001.01.01").contains("| 9009 | time unknown |"),
            "{}",
            row("00dd.4001.01.01")
        );
        assert!(row("00aa.1001.01.01").contains("| 9001 | timed |"));
        // The cancellation is kept beside the ledger, not as a fill.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM flex_cancellations WHERE execution_id IS NOT NULL"
            )
            .await,
            1
        );
        // The statement's period is in the coverage map.
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM coverage WHERE source = 'flex'").await,
            1
        );
    }
);

support::db_test!(
    importing_the_same_statement_twice_writes_nothing,
    |t: TestDb| async move {
        import(&t.db, "statement_a.xml").await;
        let before = ledger(&t.db).await;
        let stamp = "SELECT MAX(updated_at) FROM trade_executions";
        let stamps = rows(&t.db, stamp).await;
        let again = import(&t.db, "statement_a.xml").await;
        assert_eq!(
            (
                again.executions_inserted,
                again.executions_updated,
                again.executions_busted,
                again.cancellations_recorded,
                again.canonical_changes,
            ),
            (0, 0, 0, 0, 0),
            "{again:?}"
        );
        assert_eq!(ledger(&t.db).await, before);
        assert_eq!(rows(&t.db, stamp).await, stamps);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM coverage").await, 1);
    }
);

support::db_test!(
    statement_and_sync_in_either_order_end_in_the_same_ledger,
    |t: TestDb| async move {
        let sim = sim::start(live_scenario(), Faults::default())
            .await
            .unwrap();
        // Sync, then import.
        sync(&t.db, &sim).await;
        let m = import(&t.db, "statement_a.xml").await;
        assert_eq!(
            m.executions_inserted, 6,
            "the two live fills are not inserted again: {m:?}"
        );
        assert_eq!(m.executions_updated, 2, "they gain the statement's ids");
        let sync_first = ledger(&t.db).await;
        // The fill seen only in the statement joined the live fills' trade.
        let aapl: Vec<&String> = sync_first
            .iter()
            .filter(|r| r.starts_with("00aa."))
            .collect();
        assert_eq!(aapl.len(), 3);
        for r in &aapl {
            assert!(r.contains("perm:7001 | Some(125.0)"), "{r}");
        }
        // Import, then sync, on a fresh database of the same backend.
        let other = if t.is_postgres() {
            support::postgres().await
        } else {
            support::sqlite().await
        };
        import(&other.db, "statement_a.xml").await;
        sync(&other.db, &sim).await;
        assert_eq!(ledger(&other.db).await, sync_first);
        // Syncing again after both changes nothing.
        sync(&t.db, &sim).await;
        assert_eq!(ledger(&t.db).await, sync_first);
        let live_rows =
            "SELECT COUNT(*) FROM trade_executions WHERE flex_raw IS NOT NULL AND raw IS NOT NULL";
        assert_eq!(count(&t.db, live_rows).await, 8);
    }
);

support::db_test!(
    overlapping_statements_add_no_duplicates,
    |t: TestDb| async move {
        import(&t.db, "statement_a.xml").await;
        let m = import(&t.db, "overlap_b.xml").await;
        assert_eq!(m.executions_read, 2);
        assert_eq!(m.executions_inserted, 1, "{m:?}");
        assert_eq!(m.summary_rows_skipped.values().sum::<usize>(), 0);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            9
        );
        let es = ledger(&t.db).await;
        let fut = es.iter().find(|r| r.starts_with("00ff.")).unwrap();
        assert!(fut.contains("Some(2.0) | Some(6000.25)"), "{fut}");
    }
);

support::db_test!(
    a_cancellation_before_its_fill_is_kept_and_applied_later,
    |t: TestDb| async move {
        let m = import(&t.db, "cancellation_only.xml").await;
        assert_eq!(m.cancellations_recorded, 1);
        assert_eq!(m.unmatched_cancellations, vec!["flex-txn:8007".to_string()]);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        let m = import(&t.db, "statement_a.xml").await;
        assert_eq!(
            m.cancellations_recorded, 0,
            "the same cancellation is not recorded twice"
        );
        assert_eq!(m.executions_busted, 1);
        assert!(m.unmatched_cancellations.is_empty());
        let busted = "SELECT COUNT(*) FROM trade_executions WHERE busted_by = 'flex-txn:8007' \
                  AND ib_exec_id = '00cc.3001.01.01' AND NOT is_canonical";
        assert_eq!(count(&t.db, busted).await, 1);
    }
);

support::db_test!(
    a_malformed_statement_writes_nothing,
    |t: TestDb| async move {
        let text = std::fs::read_to_string(fixture("statement_a.xml")).unwrap();
        // Cut the document inside a row: the first rows parse, then the error.
        let broken = text.replace(
            r#"<Trade accountId="DU0000001" assetCategory="OPT""#,
            r#"<Trade accountId="DU0000001 assetCategory="OPT""#,
        );
        let err = import_flex(&t.db, std::io::Cursor::new(broken), None)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 16, column 1"), "{message}");
        assert!(message.contains("column"), "{message}");
        assert!(matches!(err, fillbook::Error::Invalid { ref field, .. } if field == "statement"));
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM coverage").await, 0);
        let err = import_flex(&t.db, std::io::Cursor::new("<html><body/></html>"), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a Flex statement"), "{err}");
    }
);

support::db_test!(
    the_account_zone_reads_zoneless_times,
    |t: TestDb| async move {
        import(&t.db, "cancellation_only.xml").await; // creates the account
        fillbook::db::coverage::set_flex_time_zone(&t.db, 1, Some("Europe/Zurich"))
            .await
            .unwrap();
        let err = fillbook::db::coverage::set_flex_time_zone(&t.db, 1, Some("Mars/Olympus"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, fillbook::Error::Invalid { ref field, .. } if field == "flex_time_zone")
        );
        import(&t.db, "statement_a.xml").await;
        let l = ledger(&t.db).await;
        let first = l.iter().find(|r| r.starts_with("00aa.1001.01.01")).unwrap();
        // 09:00 in Zurich is 08:00 UTC (not 14:00 as in New York).
        assert!(first.contains("2026-11-20T08:00:00"), "{first}");
    }
);

#[test]
fn the_command_line_imports_and_reports() {
    let dir = std::env::temp_dir().join(format!("fillbook-flex-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/cli.db", dir.display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fillbook"))
            .arg("--database-url")
            .arg(&url)
            .args(args)
            .output()
            .unwrap()
    };
    let a = fixture("statement_a.xml");
    let out = run(&["import", "flex", a.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["executions_inserted"], 8);
    assert_eq!(m["skipped"][0]["raw"]["transactionID"], "8010");
    let out = run(&["import", "flex", a.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 new, 0 updated, 0 busted"), "{text}");
    assert!(
        text.contains("statement DU0000001 20261116 → 20261120"),
        "{text}"
    );
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, "<FlexQueryResponse><FlexStatements>").unwrap();
    let out = run(&["import", "flex", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.xml") && err.contains("line 1"), "{err}");
    let out = run(&["accounts", "set-flex-zone", "DU0000001", "Asia/Tokyo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["accounts", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("DU0000001\tflex time zone: Asia/Tokyo"));
    std::fs::remove_dir_all(&dir).ok();
}

support::db_test!(
    zoneless_gateway_times_are_read_in_the_gateway_zone,
    |t: TestDb| async move {
        let scenario: Scenario = serde_json::from_value(json!({
            "accounts": ["DU0000001"],
            "executions": [{
                "exec_id": "00ab.0001.01.01", "account": "DU0000001", "order_id": 1,
                "client_id": 100, "perm_id": 42, "contract": { "con_id": 1, "symbol": "AAPL" },
                "side": "BOT", "shares": 1.0, "price": 1.0, "time": "20261120  09:00:00"
            }]
        }))
        .unwrap();
        let sim = sim::start(scenario, Faults::default()).await.unwrap();
        let ib = IbConnectOptions {
            time_zone: chrono_tz::America::New_York,
            ..IbConnectOptions::new("127.0.0.1", sim.port(), 100)
        };
        sync_trades_once(&t.db, &ib, 7, None).await.unwrap();
        let l = ledger(&t.db).await;
        assert!(l[0].contains("2026-11-20T14:00:00"), "{l:?}");
    }
);

support::db_test!(
    a_sync_after_an_uncovered_period_says_so,
    |t: TestDb| async move {
        // The statement covers up to 2026-11-20; today's sync window starts later.
        import(&t.db, "statement_a.xml").await;
        let sim = sim::start(live_scenario(), Faults::default())
            .await
            .unwrap();
        let m = sync_trades_once(
            &t.db,
            &IbConnectOptions::new("127.0.0.1", sim.port(), 100),
            1,
            None,
        )
        .await
        .unwrap();
        assert_eq!(m.uncovered.len(), 1, "{:?}", m.uncovered);
        let message = &m.uncovered[0].message;
        assert!(
            message.contains("DU0000001: fills between 2026-11-21 05:00 UTC and")
                && message.contains("can only come from a Flex statement"),
            "{message}"
        );
        // The sync's own window is in the coverage map now: an immediate re-sync reports no gap.
        let again = sync_trades_once(
            &t.db,
            &IbConnectOptions::new("127.0.0.1", sim.port(), 100),
            1,
            None,
        )
        .await
        .unwrap();
        assert!(again.uncovered.is_empty(), "{:?}", again.uncovered);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM coverage WHERE source = 'sync'").await,
            2
        );
    }
);

support::db_test!(
    a_statement_written_in_small_batches_ends_the_same,
    |t: TestDb| async move {
        use fillbook::sync::statement::import_flex_in_batches;
        let text = std::fs::read_to_string(fixture("statement_a.xml")).unwrap();
        // Batches of two rows: the rebooking and the cancellation land in later batches than
        // the fills they revise and cancel.
        let m = import_flex_in_batches(&t.db, std::io::Cursor::new(text.clone()), None, 2)
            .await
            .unwrap();
        assert_eq!(
            (m.executions_inserted, m.executions_busted),
            (8, 1),
            "{m:?}"
        );
        assert!(m.unmatched_cancellations.is_empty(), "{m:?}");
        let batched = ledger(&t.db).await;
        let other = if t.is_postgres() {
            support::postgres().await
        } else {
            support::sqlite().await
        };
        import(&other.db, "statement_a.xml").await;
        assert_eq!(ledger(&other.db).await, batched);
        // A document that breaks after several batches were written rolls all of them back.
        let broken = text.replace(
            "</Trades>",
            "<Trade levelOfDetail=\"EXECUTION\" ibExecID=\"x\"</Trades>",
        );
        let fresh = if t.is_postgres() {
            support::postgres().await
        } else {
            support::sqlite().await
        };
        let err = import_flex_in_batches(&fresh.db, std::io::Cursor::new(broken), None, 2)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("malformed XML"), "{err}");
        assert_eq!(
            count(&fresh.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        assert_eq!(
            count(&fresh.db, "SELECT COUNT(*) FROM flex_cancellations").await,
            0
        );
        assert_eq!(count(&fresh.db, "SELECT COUNT(*) FROM accounts").await, 0);
    }
);
