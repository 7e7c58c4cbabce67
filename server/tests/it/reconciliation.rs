//! Reconciliation on SQLite and PostgreSQL with the simulator: a fill the ledger misses
//! shows as a position mismatch naming the symbol and the difference, and clears once the
//! fill arrives; a baseline accounts for a position held before the fills; missing
//! commissions, unknown orders and coverage gaps are findings; bad input names its field.

use crate::support;

use chrono::{Duration, Utc};
use fillbook::ib::IbConnectOptions;
use fillbook::reconcile::{reconcile, set_baseline, ReconcileOptions};
use fillbook_sim::{self as sim, Faults, Scenario, SimExecution};
use serde_json::json;
use std::collections::BTreeMap;
use support::TestDb;

const ACCOUNT: &str = "DU0000001";

fn execution(
    exec_id: &str,
    symbol: &str,
    con_id: i32,
    side: &str,
    shares: f64,
    time: &str,
    commission: bool,
) -> SimExecution {
    let mut e = json!({
        "exec_id": exec_id, "account": ACCOUNT, "order_id": 7, "client_id": 100,
        "perm_id": 0, "order_ref": exec_id,
        "contract": { "con_id": con_id, "symbol": symbol },
        "side": side, "shares": shares, "price": 100.0, "time": time
    });
    if commission {
        e["commission"] = json!({ "amount": 1.0 });
    }
    serde_json::from_value(e).unwrap()
}

async fn sync_all(t: &TestDb, sim: &sim::SimHandle) {
    let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
    fillbook::sync::trades::sync_trades_once(&t.db, &ib, 7, None)
        .await
        .unwrap();
    fillbook::sync::positions::sync_positions_once(&t.db, &ib)
        .await
        .unwrap();
}

fn codes(r: &app::models::ReconciliationDto) -> Vec<(String, String)> {
    r.findings
        .iter()
        .map(|f| (f.code.clone(), f.subject.clone()))
        .collect()
}

fn field_of(e: fillbook::Error) -> String {
    match e {
        fillbook::Error::Invalid { field, .. } => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

support::db_test!(
    a_missing_fill_is_a_position_mismatch_until_it_arrives,
    |t: TestDb| async move {
        let now = Utc::now();
        let recent = (now - Duration::hours(1))
            .format("%Y%m%d-%H:%M:%S")
            .to_string();
        let mut scenario = Scenario::new(vec![ACCOUNT.into()]);
        scenario.executions = vec![execution(
            "0000f001.00000001.01.01",
            "AAPL",
            265598,
            "BOT",
            10.0,
            &recent,
            true,
        )];
        let sim = sim::start(scenario, Faults::default()).await.unwrap();
        sync_all(&t, &sim).await;
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        assert!(
            !report.findings.iter().any(|f| f.severity == "error"),
            "{:?}",
            codes(&report)
        );
        assert_eq!(report.accounts[0].instruments[0].difference, Some(0.0));

        // The gateway books a fill the ledger has not seen; positions.sync sees its position.
        assert!(sim.emit_fill(execution(
            "0000f002.00000002.01.01",
            "AAPL",
            265598,
            "BOT",
            5.0,
            "",
            true
        )));
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::positions::sync_positions_once(&t.db, &ib)
            .await
            .unwrap();
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        let mismatch = report
            .findings
            .iter()
            .find(|f| f.code == "position_mismatch")
            .expect("a position mismatch");
        assert_eq!(mismatch.severity, "error");
        assert_eq!(mismatch.subject, "AAPL");
        assert_eq!(mismatch.difference, Some(5.0));
        assert_eq!(mismatch.execution_ids.len(), 1, "the fills involved");
        assert!(
            mismatch.message.contains("reports 15 AAPL"),
            "{}",
            mismatch.message
        );
        assert_eq!(
            report.findings[0].code, "position_mismatch",
            "most severe first"
        );

        // The fill arrives: the finding clears.
        sync_all(&t, &sim).await;
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        assert!(
            !codes(&report).iter().any(|(c, _)| c == "position_mismatch"),
            "{:?}",
            codes(&report)
        );
    }
);

support::db_test!(
    a_baseline_accounts_for_positions_held_before_the_fills,
    |t: TestDb| async move {
        let recent = (Utc::now() - Duration::hours(1))
            .format("%Y%m%d-%H:%M:%S")
            .to_string();
        let scenario: Scenario = serde_json::from_value(json!({
        "accounts": [ACCOUNT],
        "opening_positions": [{ "account": ACCOUNT, "contract": { "con_id": 272093, "symbol": "MSFT" },
                                "position": 50.0, "avg_cost": 300.0 }],
    }))
    .unwrap();
        let mut scenario = scenario;
        scenario.executions = vec![execution(
            "0000f101.00000001.01.01",
            "MSFT",
            272093,
            "SLD",
            20.0,
            &recent,
            true,
        )];
        let sim = sim::start(scenario, Faults::default()).await.unwrap();
        sync_all(&t, &sim).await;
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        let m = report
            .findings
            .iter()
            .find(|f| f.code == "position_mismatch")
            .expect("mismatch");
        assert_eq!((m.subject.as_str(), m.difference), ("MSFT", Some(50.0)));
        assert!(codes(&report).contains(&("no_baseline".into(), "positions".into())));

        let actor = fillbook::cli::cli_actor();
        let at = Utc::now() - Duration::days(1);
        set_baseline(
            &t.db,
            &actor,
            ACCOUNT,
            at,
            BTreeMap::from([("MSFT".to_string(), 50.0)]),
        )
        .await
        .unwrap();
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        assert!(
            !codes(&report)
                .iter()
                .any(|(c, _)| c == "position_mismatch" || c == "no_baseline"),
            "{:?}",
            codes(&report)
        );
        let msft = &report.accounts[0].instruments[0];
        assert_eq!((msft.implied, msft.gateway), (30.0, Some(30.0)));

        // Bad input names its field and changes nothing.
        let future = Utc::now() + Duration::days(1);
        let e = set_baseline(&t.db, &actor, ACCOUNT, future, BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(field_of(e), "as_of");
        let e = set_baseline(&t.db, &actor, "U404", at, BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(field_of(e), "account");
        let opts = ReconcileOptions {
            account: Some("U404".into()),
            ..Default::default()
        };
        assert_eq!(
            field_of(reconcile(&t.db, &opts).await.unwrap_err()),
            "account"
        );
        assert_eq!(
            field_of(ReconcileOptions::new(None, Some(0)).unwrap_err()),
            "commission_hours"
        );
    }
);

support::db_test!(
    late_commissions_unknown_orders_and_gaps_are_findings,
    |t: TestDb| async move {
        let old = (Utc::now() - Duration::days(3))
            .format("%Y%m%d-%H:%M:%S")
            .to_string();
        let mut scenario = Scenario::new(vec![ACCOUNT.into()]);
        scenario.executions = vec![execution(
            "0000f201.00000001.01.01",
            "IBM",
            8314,
            "BOT",
            3.0,
            &old,
            false,
        )];
        let sim = sim::start(scenario, Faults::default()).await.unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::trades::sync_trades_once(&t.db, &ib, 1, None)
            .await
            .unwrap();
        let report = reconcile(&t.db, &ReconcileOptions::default())
            .await
            .unwrap();
        let found = codes(&report);
        let commission = report
            .findings
            .iter()
            .find(|f| f.code == "commission_missing")
            .expect("late commission");
        assert_eq!(commission.execution_ids.len(), 1);
        assert!(
            found
                .iter()
                .any(|(c, s)| c == "order_unknown" && s.starts_with("trade ")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|(c, _)| c == "positions_unknown"),
            "{found:?}"
        );
        // The fill is 3 days old and the sync covered 1 day: the days between are a gap.
        assert!(found.iter().any(|(c, _)| c == "coverage_gap"), "{found:?}");
        let gap = report
            .findings
            .iter()
            .find(|f| f.code == "coverage_gap")
            .unwrap();
        assert_eq!(gap.links, vec!["/accounts".to_string()]);
    }
);
