//! Property test of the sync's write path: random deliveries of a random set of executions —
//! duplicates, reorderings, corrections, late (and then missing) commissions, split over
//! several runs — always end in the state a simple model computes from the distinct
//! executions: the rows, their commissions, the canonical flags and every trade aggregate
//! (quantity, average price, fill count, commission total, first and last fill time).

use crate::support;

use chrono::{TimeZone, Utc};
use fillbook::normalize::{NormalizedExecution, RawRecord};
use fillbook::sync::trades::{apply_executions, match_key};
use proptest::prelude::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::collections::{BTreeMap, HashMap};

/// One execution revision of the generated set, with its final commission.
#[derive(Clone, Debug)]
struct Exec {
    base: usize,
    revision: i32,
    order: usize,
    quantity: f64,
    price: f64,
    commission: Option<f64>,
}

/// One delivery of an execution: which one, and whether its commission report came along.
type Delivery = (usize, bool);

const ORDERS: [(i64, Option<&str>); 4] = [
    (5001, None),
    (5002, Some("x")),
    (0, Some("ref-a")),
    (0, None),
];

fn row(e: &Exec, with_commission: bool) -> NormalizedExecution {
    let (perm_id, order_ref) = ORDERS[e.order];
    let commission = if with_commission { e.commission } else { None };
    NormalizedExecution {
        ib_exec_id: format!("00aa.{:04}.01.{:02}", e.base, e.revision),
        exec_revision: e.revision,
        order_id: 10 + e.order as i64,
        order_ref: order_ref.map(str::to_string),
        executed_at: Utc
            .with_ymd_and_hms(2026, 11, 20, 14, e.base as u32 % 60, 0)
            .unwrap(),
        quantity: e.quantity,
        price: e.price,
        commission,
        raw: RawRecord::of(&serde_json::json!({
            "execution": { "id": format!("{}.{}", e.base, e.revision) },
            "commission_report": commission.map(|c| serde_json::json!({ "commission": c })),
        })),
        ..support::fill("DU0000001", &format!("00aa.{:04}.01", e.base), perm_id)
    }
}

fn execs() -> impl Strategy<Value = Vec<Exec>> {
    // Up to four bases with one to three revisions each; a base keeps one order.
    prop::collection::vec(
        (
            0usize..4,
            1i32..4,
            1u32..50,
            100u32..110,
            prop::option::of(1u32..5),
        ),
        1..10,
    )
    .prop_map(|raw| {
        let mut by_id: BTreeMap<(usize, i32), Exec> = BTreeMap::new();
        for (base, revision, qty, price, commission) in raw {
            by_id.insert(
                (base, revision),
                Exec {
                    base,
                    revision,
                    order: base % ORDERS.len(),
                    quantity: f64::from(qty),
                    price: f64::from(price),
                    commission: commission.map(|c| f64::from(c) / 4.0),
                },
            );
        }
        by_id.into_values().collect()
    })
}

fn case() -> impl Strategy<Value = (Vec<Exec>, Vec<Vec<Delivery>>)> {
    execs().prop_flat_map(|execs| {
        let n = execs.len();
        let runs = prop::collection::vec(
            prop::collection::vec((0..n, any::<bool>()), 0..(2 * n + 1)),
            1..5,
        );
        (Just(execs), runs)
    })
}

async fn scalar_rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .unwrap()
}

async fn check(t: &support::TestDb, execs: &[Exec], runs: &[Vec<Delivery>]) {
    for (i, run) in runs.iter().enumerate() {
        let rows: Vec<NormalizedExecution> = run.iter().map(|(k, c)| row(&execs[*k], *c)).collect();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, i as u32, 0).unwrap();
        apply_executions(&t.db, &["DU0000001".to_string()], rows, &[], now)
            .await
            .unwrap();
    }
    // The model: every delivered execution once, with the last commission that arrived.
    let mut delivered: BTreeMap<String, (Exec, Option<f64>)> = BTreeMap::new();
    for run in runs {
        for (k, with) in run {
            let e = &execs[*k];
            let entry = delivered
                .entry(row(e, false).ib_exec_id)
                .or_insert_with(|| (e.clone(), None));
            if *with && e.commission.is_some() {
                entry.1 = e.commission;
            }
        }
    }
    let mut best: HashMap<usize, i32> = HashMap::new();
    for (e, _) in delivered.values() {
        let b = best.entry(e.base).or_insert(e.revision);
        *b = (*b).max(e.revision);
    }
    let db_rows = scalar_rows(
        &t.db,
        "SELECT ib_exec_id, is_canonical, commission FROM trade_executions ORDER BY ib_exec_id",
    )
    .await;
    assert_eq!(
        db_rows.len(),
        delivered.len(),
        "one row per distinct execution"
    );
    for (r, (id, (e, commission))) in db_rows.iter().zip(delivered.iter()) {
        assert_eq!(&r.try_get::<String>("", "ib_exec_id").unwrap(), id);
        assert_eq!(
            r.try_get::<bool>("", "is_canonical").unwrap(),
            best[&e.base] == e.revision,
            "{id}"
        );
        assert_eq!(
            r.try_get::<Option<f64>>("", "commission").unwrap(),
            *commission,
            "{id}"
        );
    }
    // Trade aggregates from canonical executions only: quantity, notional, fill count and
    // commission total (none while no canonical fill has a commission).
    #[derive(Default)]
    struct Totals {
        quantity: f64,
        notional: f64,
        fills: i64,
        commission: Option<f64>,
        first: Option<chrono::DateTime<Utc>>,
        last: Option<chrono::DateTime<Utc>>,
    }
    let mut model: BTreeMap<String, Totals> = BTreeMap::new();
    for (e, commission) in delivered
        .values()
        .filter(|(e, _)| best[&e.base] == e.revision)
    {
        let a = model.entry(match_key(&row(e, false))).or_default();
        a.quantity += e.quantity;
        a.notional += e.quantity * e.price;
        a.fills += 1;
        let at = row(e, false).executed_at;
        a.first = Some(a.first.map_or(at, |f| f.min(at)));
        a.last = Some(a.last.map_or(at, |l| l.max(at)));
        if let Some(c) = commission {
            a.commission = Some(a.commission.unwrap_or(0.0) + c);
        }
    }
    let trades = scalar_rows(
        &t.db,
        "SELECT match_key, total_quantity, avg_price, fills_count, commission_total, \
         first_executed_at, last_executed_at FROM trades ORDER BY match_key",
    )
    .await;
    type Stored = (f64, Option<f64>, i64, Option<f64>, (Time, Time));
    type Time = Option<chrono::DateTime<Utc>>;
    let stored: BTreeMap<String, Stored> = trades
        .iter()
        .map(|r| {
            (
                r.try_get("", "match_key").unwrap(),
                (
                    r.try_get("", "total_quantity").unwrap(),
                    r.try_get("", "avg_price").unwrap(),
                    r.try_get("", "fills_count").unwrap(),
                    r.try_get("", "commission_total").unwrap(),
                    (
                        r.try_get("", "first_executed_at").unwrap(),
                        r.try_get("", "last_executed_at").unwrap(),
                    ),
                ),
            )
        })
        .collect();
    for (key, m) in &model {
        let (q, avg, fills, commission, (first, last)) = stored[key];
        assert_eq!(
            (first, last),
            (m.first, m.last),
            "{key}: first and last fill time"
        );
        assert!(
            (q - m.quantity).abs() < 1e-9,
            "{key}: {q} vs {}",
            m.quantity
        );
        assert!(
            (avg.unwrap() - m.notional / m.quantity).abs() < 1e-9,
            "{key}"
        );
        assert_eq!(fills, m.fills, "{key}: fills");
        match (commission, m.commission) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{key}: {a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{key}: commission total"),
        }
    }
    assert_eq!(
        stored.len(),
        model.len(),
        "no trade without canonical fills"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn random_deliveries_end_in_the_model_state_sqlite((execs, runs) in case()) {
        runtime().block_on(async {
            let t = support::sqlite().await;
            check(&t, &execs, &runs).await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn random_deliveries_end_in_the_model_state_postgres((execs, runs) in case()) {
        runtime().block_on(async {
            let t = support::postgres().await;
            check(&t, &execs, &runs).await;
        });
    }
}
