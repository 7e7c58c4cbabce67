//! The history of every fill and `fillbook rebuild`, on SQLite and PostgreSQL with the
//! simulator and real statements: a fill corrected, given a late commission, seen in a
//! statement and then cancelled has those events in order with their before/after values;
//! a rebuild after a normalisation change reports exactly the rows it would change without
//! writing, then changes them and nothing else; a changed parent key moves fills; an
//! unreadable raw record stops the rebuild with nothing changed.

use crate::support;

use fillbook::history::trade_history;
use fillbook::ib::IbConnectOptions;
use fillbook::sync::rebuild::{rebuild, RebuildOptions};
use fillbook_sim::{self as sim, Faults, Scenario, SimExecution};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{json, Value};
use support::TestDb;

const ACCOUNT: &str = "DU0000001";
const REV1: &str = "0000h001.00000001.01.01";
const REV2: &str = "0000h001.00000001.01.02";

fn execution(exec_id: &str, perm_id: i64, price: f64, commission: Option<f64>) -> SimExecution {
    let mut e = json!({
        "exec_id": exec_id, "account": ACCOUNT, "order_id": 7, "client_id": 100,
        "perm_id": perm_id, "order_ref": "bot-h",
        "contract": { "con_id": 265598, "symbol": "AAPL" },
        "side": "BOT", "shares": 10.0, "price": price, "time": "20261120-14:00:00",
        "exchange": "ISLAND"
    });
    if let Some(amount) = commission {
        e["commission"] = json!({ "amount": amount });
    }
    serde_json::from_value(e).unwrap()
}

/// One sync against a simulator serving exactly `executions`, named `source`.
async fn sync(db: &DatabaseConnection, executions: Vec<SimExecution>, source: &str) {
    let mut scenario = Scenario::new(vec![ACCOUNT.into()]);
    scenario.executions = executions;
    let sim = sim::start(scenario, Faults::default()).await.unwrap();
    let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
    fillbook::sync::trades::sync_trades_once(db, &ib, 7, Some(source.into()))
        .await
        .unwrap();
}

fn statement(rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="history" type="AF"><FlexStatements count="1">
<FlexStatement accountId="{ACCOUNT}" fromDate="20261120" toDate="20261120" period="Custom">
<Trades>{rows}</Trades></FlexStatement></FlexStatements></FlexQueryResponse>"#
    )
}

async fn import(db: &DatabaseConnection, xml: String, source: &str) {
    fillbook::sync::statement::import_flex(db, std::io::Cursor::new(xml), Some(source.into()))
        .await
        .unwrap();
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<String>> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let n = r.column_names().len();
            (0..n)
                .map(|i| {
                    r.try_get_by_index::<Option<String>>(i)
                        .map(|v| v.unwrap_or_default())
                        .or_else(|_| {
                            r.try_get_by_index::<Option<f64>>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .or_else(|_| {
                            r.try_get_by_index::<Option<i64>>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .or_else(|_| {
                            r.try_get_by_index::<Option<i32>>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .or_else(|_| {
                            r.try_get_by_index::<Option<bool>>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .unwrap_or_else(|_| "?".into())
                })
                .collect()
        })
        .collect()
}

/// Every stored fill and trade as text, `updated_at` included: equal snapshots mean
/// nothing was written.
async fn snapshot(db: &DatabaseConnection) -> Vec<Vec<String>> {
    let mut out = rows(
        db,
        "SELECT id, trade_id, CAST(price AS TEXT), exchange, CAST(commission AS TEXT), \
         CAST(is_canonical AS TEXT), CAST(updated_at AS TEXT) FROM trade_executions ORDER BY id",
    )
    .await;
    out.extend(
        rows(
            db,
            "SELECT id, match_key, CAST(avg_price AS TEXT), CAST(total_quantity AS TEXT), \
             status, CAST(updated_at AS TEXT) FROM trades ORDER BY id",
        )
        .await,
    );
    out.extend(rows(db, "SELECT CAST(COUNT(*) AS TEXT) FROM execution_events").await);
    out
}

async fn trade_of(db: &DatabaseConnection, exec_id: &str) -> i32 {
    rows(
        db,
        &format!(
            "SELECT CAST(trade_id AS TEXT) FROM trade_executions WHERE ib_exec_id = '{exec_id}'"
        ),
    )
    .await[0][0]
        .parse()
        .unwrap()
}

fn opts(dry_run: bool) -> RebuildOptions {
    RebuildOptions {
        dry_run,
        account: None,
        gateway_zone: chrono_tz::UTC,
    }
}

support::db_test!(
    a_corrected_commissioned_then_cancelled_fill_has_its_history_in_order,
    |t: TestDb| async move {
        sync(&t.db, vec![execution(REV1, 5001, 100.0, None)], "job:1").await;
        // The broker corrects the fill: revision 2 at another price supersedes revision 1.
        sync(
            &t.db,
            vec![
                execution(REV1, 5001, 100.0, None),
                execution(REV2, 5001, 100.5, None),
            ],
            "job:2",
        )
        .await;
        // The commission report arrives late.
        sync(
            &t.db,
            vec![execution(REV2, 5001, 100.5, Some(1.25))],
            "job:3",
        )
        .await;
        // A statement reports the fill with its ids, then cancels it.
        let fill = format!(
            r#"<Trade accountId="{ACCOUNT}" assetCategory="STK" symbol="AAPL" currency="USD" exchange="ISLAND" tradeID="9101" transactionID="8101" ibExecID="{REV2}" ibOrderID="7" dateTime="20261120;090000" quantity="10" tradePrice="100.5" buySell="BUY" ibCommission="-1.25" ibCommissionCurrency="USD" levelOfDetail="EXECUTION" transactionType="ExchTrade" notes=""/>"#
        );
        import(&t.db, statement(&fill), "import:1").await;
        let cancel = format!(
            r#"<Trade accountId="{ACCOUNT}" assetCategory="STK" symbol="AAPL" currency="USD" tradeID="9102" transactionID="8102" ibExecID="" origTradeID="9101" origTransactionID="8101" origOrderID="7" dateTime="20261120;100000" quantity="-10" tradePrice="100.5" buySell="BUY (Ca.)" levelOfDetail="EXECUTION" transactionType="TradeCancel" notes="Ca"/>"#
        );
        import(&t.db, statement(&cancel), "import:2").await;

        let trade = trade_of(&t.db, REV2).await;
        let h = trade_history(&t.db, trade).await.unwrap();
        let recorded: Vec<&str> = h.recorded.iter().map(|r| r.ib_exec_id.as_str()).collect();
        assert_eq!(recorded, [REV1, REV2]);
        let events: Vec<(&str, &str, Value, Value, &str)> = h
            .events
            .iter()
            .map(|e| {
                (
                    e.ib_exec_id.as_str(),
                    e.kind.as_str(),
                    e.before.clone(),
                    e.after.clone(),
                    e.source.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(events.len(), 6, "{events:#?}");
        assert_eq!(
            events[0],
            (
                REV1,
                "superseded",
                json!({"is_canonical": true}),
                json!({"is_canonical": false, "by_revision": 2}),
                "job:2"
            )
        );
        assert_eq!(
            events[1],
            (
                REV2,
                "commission",
                json!({"commission": null}),
                json!({"commission": 1.25}),
                "job:3"
            )
        );
        assert_eq!(
            events[2],
            (
                REV2,
                "source_added",
                json!({"sources": ["gateway"]}),
                json!({"sources": ["gateway", "statement"]}),
                "import:1"
            )
        );
        assert_eq!(events[3].1, "flex_ids");
        assert_eq!(events[3].2["transaction_id"], Value::Null);
        assert_eq!(events[3].3["transaction_id"], "8101");
        assert_eq!(events[3].3["trade_id"], "9101");
        assert_eq!(
            events[4],
            (
                REV2,
                "busted",
                json!({"busted_by": null}),
                json!({"busted_by": "flex-txn:8102"}),
                "import:2"
            )
        );
        // With revision 2 cancelled, revision 1 is the effective fill again.
        assert_eq!(
            events[5],
            (
                REV1,
                "canonical",
                json!({"is_canonical": false}),
                json!({"is_canonical": true}),
                "import:2"
            )
        );
        // The same deliveries again change nothing and add no event.
        sync(
            &t.db,
            vec![execution(REV2, 5001, 100.5, Some(1.25))],
            "job:4",
        )
        .await;
        import(&t.db, statement(&fill), "import:3").await;
        let again = trade_history(&t.db, trade).await.unwrap();
        assert_eq!(again.events.len(), 6);
        // A trade that does not exist.
        assert!(matches!(
            trade_history(&t.db, 999_999).await,
            Err(fillbook::Error::NotFound(_))
        ));
    }
);

support::db_test!(
    a_rebuild_reports_then_changes_exactly_the_rows_a_new_rule_reads_differently,
    |t: TestDb| async move {
        sync(
            &t.db,
            vec![
                execution("0000r001.00000001.01.01", 6001, 100.0, Some(1.0)),
                execution("0000r002.00000001.01.01", 6001, 101.0, Some(1.0)),
                execution("0000r003.00000001.01.01", 6002, 50.0, None),
            ],
            "job:1",
        )
        .await;
        let clean = snapshot(&t.db).await;
        // Nothing differs from what the rules read today: a rebuild changes nothing.
        let report = rebuild(&t.db, &opts(false)).await.unwrap();
        assert_eq!((report.examined, report.changed_executions), (3, 0));
        assert!(report.changes.is_empty(), "{:?}", report.changes);
        assert_eq!(snapshot(&t.db).await, clean);

        // Rows written by an older normalisation rule: two fills stored with values the
        // current rule reads differently from their raw records.
        t.db.execute_unprepared(
            "UPDATE trade_executions SET price = 99.0, exchange = 'OLDRULE' \
             WHERE ib_exec_id IN ('0000r001.00000001.01.01', '0000r003.00000001.01.01')",
        )
        .await
        .unwrap();
        let r1 = trade_of(&t.db, "0000r001.00000001.01.01").await;
        t.db.execute_unprepared(&format!(
            "UPDATE trades SET avg_price = 99.5 WHERE id = {r1}"
        ))
        .await
        .unwrap();
        let stale = snapshot(&t.db).await;

        let dry = rebuild(&t.db, &opts(true)).await.unwrap();
        assert!(dry.dry_run && !dry.applied);
        assert_eq!(dry.changed_executions, 2);
        let mut changed: Vec<(&str, &str)> = dry
            .changes
            .iter()
            .map(|c| (c.ib_exec_id.as_str(), c.kind))
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            [
                ("0000r001.00000001.01.01", "corrected"),
                ("0000r003.00000001.01.01", "corrected")
            ]
        );
        let c = &dry.changes[0];
        assert_eq!(c.before, json!({"price": 99.0, "exchange": "OLDRULE"}));
        assert!(c.after["exchange"] == "ISLAND" && c.after["price"].as_f64().unwrap() >= 50.0);
        assert_eq!(snapshot(&t.db).await, stale, "a dry run writes nothing");

        let done = rebuild(&t.db, &opts(false)).await.unwrap();
        assert!(done.applied);
        assert_eq!(done.changes, dry.changes);
        let after = snapshot(&t.db).await;
        // Only the two fills, their trades and the history changed; their values are the
        // clean sync's again.
        let fills = |s: &[Vec<String>]| -> Vec<Vec<String>> {
            s.iter()
                .filter(|r| r.len() == 7)
                .map(|r| r[..6].to_vec())
                .collect()
        };
        assert_eq!(fills(&after), fills(&clean));
        let differing: Vec<String> = after
            .iter()
            .zip(&stale)
            .filter(|(a, b)| a != b && a.len() == 7)
            .map(|(a, _)| a[0].clone())
            .collect();
        assert_eq!(differing.len(), 2, "{differing:?}");
        let avg = rows(
            &t.db,
            &format!("SELECT CAST(avg_price AS TEXT) FROM trades WHERE id = {r1}"),
        )
        .await;
        assert_eq!(avg[0][0].parse::<f64>().unwrap(), 100.5);
        let h = trade_history(&t.db, r1).await.unwrap();
        assert_eq!(h.events.len(), 1);
        assert_eq!(h.events[0].source.as_deref(), Some("rebuild"));
        // Rebuilding again finds nothing to do.
        let again = rebuild(&t.db, &opts(false)).await.unwrap();
        assert_eq!(again.changed_executions, 0);
    }
);

support::db_test!(
    a_rebuild_moves_fills_whose_parent_key_changed,
    |t: TestDb| async move {
        sync(
            &t.db,
            vec![
                execution("0000m001.00000001.01.01", 7001, 10.0, Some(1.0)),
                execution("0000m002.00000001.01.01", 7001, 12.0, Some(1.0)),
            ],
            "job:1",
        )
        .await;
        let old = trade_of(&t.db, "0000m001.00000001.01.01").await;
        // An older rule read the perm id wrongly and grouped the fills under it.
        t.db.execute_unprepared(&format!(
            "UPDATE trade_executions SET ib_perm_id = 999 WHERE trade_id = {old}; \
             UPDATE trades SET match_key = 'perm:999', ib_perm_id = 999 WHERE id = {old}"
        ))
        .await
        .unwrap();
        let report = rebuild(&t.db, &opts(false)).await.unwrap();
        assert_eq!(report.moved_executions, 2);
        assert_eq!(report.trades_removed, 1);
        let new = trade_of(&t.db, "0000m002.00000001.01.01").await;
        assert_ne!(new, old);
        assert_eq!(trade_of(&t.db, "0000m001.00000001.01.01").await, new);
        let trade = rows(
            &t.db,
            &format!("SELECT match_key, CAST(total_quantity AS TEXT) FROM trades WHERE id = {new}"),
        )
        .await;
        assert_eq!(trade[0][0], "perm:7001");
        assert_eq!(trade[0][1].parse::<f64>().unwrap(), 20.0);
        let h = trade_history(&t.db, new).await.unwrap();
        let kinds: Vec<&str> = h.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "moved").count(),
            2,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "corrected").count(),
            2,
            "{kinds:?}"
        );
        let moved = h.events.iter().find(|e| e.kind == "moved").unwrap();
        assert_eq!(moved.before, json!({"trade_id": old}));
        assert_eq!(moved.after["trade_id"], json!(new));
    }
);

support::db_test!(
    an_unreadable_raw_record_stops_the_rebuild_and_changes_nothing,
    |t: TestDb| async move {
        sync(
            &t.db,
            vec![
                execution("0000f001.00000001.01.01", 8001, 10.0, Some(1.0)),
                execution("0000f002.00000001.01.01", 8002, 11.0, Some(1.0)),
            ],
            "job:1",
        )
        .await;
        t.db.execute_unprepared(
            "UPDATE trade_executions SET price = 1.0 WHERE ib_exec_id = '0000f001.00000001.01.01'",
        )
        .await
        .unwrap();
        let broken = json!({"execution": {"execution_id": "0000f002.00000001.01.01", "side": "BOT", "shares": "many"}});
        t.db.execute_raw(Statement::from_sql_and_values(
            t.db.get_database_backend(),
            if t.is_postgres() {
                "UPDATE trade_executions SET raw = $1 WHERE ib_exec_id = '0000f002.00000001.01.01'"
            } else {
                "UPDATE trade_executions SET raw = ? WHERE ib_exec_id = '0000f002.00000001.01.01'"
            },
            [broken.into()],
        ))
        .await
        .unwrap();
        let before = snapshot(&t.db).await;
        let report = rebuild(&t.db, &opts(false)).await.unwrap();
        assert!(!report.applied);
        assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
        assert_eq!(report.failures[0].ib_exec_id, "0000f002.00000001.01.01");
        assert!(
            report.failures[0].reason.contains("shares"),
            "{}",
            report.failures[0].reason
        );
        assert_eq!(snapshot(&t.db).await, before, "nothing changed");
        // An unknown account is refused by name.
        let err = rebuild(
            &t.db,
            &RebuildOptions {
                account: Some("U404".into()),
                ..opts(true)
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, fillbook::Error::Invalid { ref field, .. } if field == "account"),
            "{err:?}"
        );
    }
);
