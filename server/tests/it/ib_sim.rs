//! The real `ibapi` client, through Fillbook's gateway adapter, against the IB Gateway
//! simulator over loopback: every request Fillbook makes, and every injected fault
//! surfacing as its typed error.

use fillbook::ib::{Gateway, IbConnectOptions, IbError};
use fillbook_sim::{self as sim, exec_revision, CommissionDelivery, Faults, Scenario, SimHandle};
use ibapi::contracts::Contract;
use ibapi::orders::{Action, ExecutionFilter, Order};
use std::collections::HashMap;
use std::time::Duration;

async fn demo() -> SimHandle {
    sim::start(Scenario::demo(), Faults::default())
        .await
        .unwrap()
}

fn opts(port: u16, client_id: i32) -> IbConnectOptions {
    let mut o = IbConnectOptions::new("127.0.0.1", port, client_id);
    o.connect_timeout = Duration::from_secs(5);
    o
}

async fn connect(sim: &SimHandle, client_id: i32) -> Gateway {
    Gateway::connect(&opts(sim.port(), client_id))
        .await
        .unwrap()
}

fn order(action: Action, qty: f64, order_ref: &str) -> Order {
    Order {
        action,
        total_quantity: qty,
        order_type: "MKT".into(),
        order_ref: order_ref.into(),
        account: "DU1234567".into(),
        ..Order::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_reports_accounts_and_version() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    assert_eq!(
        gw.managed_accounts().await.unwrap(),
        ["DU1234567", "DU7654321"]
    );
    assert!((sim::MIN_SERVER_VERSION..=sim::MAX_SERVER_VERSION).contains(&gw.server_version()));
    assert_eq!(gw.next_order_id().await.unwrap(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_arrive_exactly_with_inline_commissions() {
    let scenario = Scenario::demo();
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();

    let got: Vec<_> = batch
        .executions
        .iter()
        .map(|e| e.execution.execution_id.clone())
        .collect();
    let want: Vec<_> = scenario
        .executions
        .iter()
        .map(|e| e.exec_id.clone())
        .collect();
    assert_eq!(got, want);
    for (e, s) in batch.executions.iter().zip(&scenario.executions) {
        assert_eq!(
            e.execution.time, s.time,
            "time strings pass through verbatim"
        );
        assert_eq!(e.execution.shares, s.shares);
        assert_eq!(e.execution.price, s.price);
        assert_eq!(e.execution.perm_id, s.perm_id);
        assert_eq!(e.execution.client_id, s.client_id);
        assert_eq!(e.execution.order_id, s.order_id);
        assert_eq!(e.execution.account_number, s.account);
        assert_eq!(
            e.execution.order_reference,
            s.order_ref.clone().unwrap_or_default()
        );
        assert_eq!(e.contract.contract_id, s.contract.con_id);
    }
    let inline: Vec<_> = scenario
        .executions
        .iter()
        .filter(|e| {
            e.commission
                .as_ref()
                .is_some_and(|c| c.delivery == CommissionDelivery::Inline)
        })
        .map(|e| e.exec_id.clone())
        .collect();
    let commissions: Vec<_> = batch
        .commissions
        .iter()
        .map(|c| c.execution_id.clone())
        .collect();
    assert_eq!(commissions, inline);
    let by_id: HashMap<_, _> = batch
        .commissions
        .iter()
        .map(|c| (c.execution_id.as_str(), c.commission))
        .collect();
    assert_eq!(by_id["0000e0d5.72000000.02.01"], -1.0);
    assert_eq!(by_id["0000e0d5.72000000.03.01"], f64::MAX);
    assert!(
        !by_id.contains_key("0000e0d5.72000000.01.01"),
        "missing commission"
    );
    assert!(
        !by_id.contains_key("0000e0d5.72000000.04.01"),
        "after the end marker: lost to executions()"
    );
    assert!(
        !by_id.contains_key("0000e0d5.72000000.05.01"),
        "only in a later session"
    );

    // The demo covers corrections, perm_id 0, reused order ids, midnight.
    let revs: Vec<_> = got
        .iter()
        .filter(|id| id.starts_with("0000e0d5.6576ba1b.01."))
        .map(|id| exec_revision(id).1)
        .collect();
    assert_eq!(revs, [1, 2, 3]);
    let perm0: Vec<_> = batch
        .executions
        .iter()
        .filter(|e| e.execution.perm_id == 0)
        .map(|e| e.execution.order_reference.as_str())
        .collect();
    assert_eq!(perm0, ["manual-hedge", ""]);
    let reused: Vec<_> = batch
        .executions
        .iter()
        .filter(|e| e.execution.order_id == 91)
        .map(|e| e.execution.client_id)
        .collect();
    assert_eq!(reused, [100, 7]);
    let shapes = ["US/Eastern", " EST", " MET", "  ", "-"];
    for shape in shapes {
        assert!(
            got.len() == batch.executions.len()
                && batch
                    .executions
                    .iter()
                    .any(|e| e.execution.time.contains(shape)),
            "{shape}"
        );
    }

    // A later session gets the late commission inline.
    drop(gw);
    let again = connect(&sim, 101).await;
    let batch = again.executions(ExecutionFilter::default()).await.unwrap();
    let late: Vec<_> = batch
        .commissions
        .iter()
        .filter(|c| c.execution_id.starts_with("0000e0d5.72000000.0"))
        .map(|c| (c.execution_id.as_str(), c.commission))
        .collect();
    assert_eq!(
        late[2..],
        [
            ("0000e0d5.72000000.04.01", 1.05),
            ("0000e0d5.72000000.05.01", 1.10)
        ],
        "late reports come inline in a later session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commission_after_the_end_marker_arrives_on_the_order_update_stream() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let mut updates = gw.order_updates().await.unwrap();
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    assert!(!batch
        .commissions
        .iter()
        .any(|c| c.execution_id == "0000e0d5.72000000.04.01"));
    let late = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(update) = updates.next().await {
            if let ibapi::orders::OrderUpdate::CommissionReport(c) = update.unwrap() {
                if c.execution_id == "0000e0d5.72000000.04.01" {
                    return c;
                }
            }
        }
        panic!("order update stream ended");
    })
    .await
    .expect("the late commission report");
    assert_eq!(late.commission, 1.05);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_filter_narrows() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let filter = ExecutionFilter {
        account_code: "DU7654321".into(),
        symbol: "SPY".into(),
        ..ExecutionFilter::default()
    };
    let batch = gw.executions(filter).await.unwrap();
    assert!(!batch.executions.is_empty());
    assert!(batch
        .executions
        .iter()
        .all(|e| e.execution.account_number == "DU7654321" && e.contract.symbol.0 == "SPY"));
    let filter = ExecutionFilter {
        client_id: Some(7),
        ..ExecutionFilter::default()
    };
    let batch = gw.executions(filter).await.unwrap();
    assert_eq!(batch.executions.len(), 1);
    let filter = ExecutionFilter {
        time: "20261120-00:00:00".into(),
        ..ExecutionFilter::default()
    };
    let batch = gw.executions(filter).await.unwrap();
    let ids: Vec<_> = batch
        .executions
        .iter()
        .map(|e| e.execution.execution_id.as_str())
        .collect();
    assert!(
        ids.contains(&"0000e0d5.71000000.02.01") && !ids.contains(&"0000e0d5.71000000.01.01"),
        "{ids:?}"
    );
}

/// Net position per (account, con_id) from the effective (latest-revision) fills.
fn expected_positions(s: &Scenario) -> HashMap<(String, i32), f64> {
    let mut latest: HashMap<String, (u32, usize)> = HashMap::new();
    for (i, e) in s.executions.iter().enumerate() {
        let (base, rev) = exec_revision(&e.exec_id);
        let slot = latest.entry(base.to_string()).or_insert((rev, i));
        if rev >= slot.0 {
            *slot = (rev, i);
        }
    }
    let mut pos = HashMap::new();
    for (_, i) in latest.into_values() {
        let e = &s.executions[i];
        *pos.entry((e.account.clone(), e.contract.con_id))
            .or_insert(0.0) += e.side.sign() * e.shares;
    }
    pos
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_are_consistent_with_fills() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let rows = gw.positions().await.unwrap();
    let got: HashMap<_, _> = rows
        .iter()
        .map(|r| ((r.account.clone(), r.contract.con_id), r.position))
        .collect();
    assert_eq!(got, expected_positions(&Scenario::demo()));
    let aapl = rows
        .iter()
        .find(|r| r.account == "DU1234567" && r.contract.symbol == "AAPL")
        .unwrap();
    assert_eq!(aapl.position, 40.0, "only the last correction counts");
    assert_eq!(
        (
            aapl.contract.sec_type.as_str(),
            aapl.contract.currency.as_str()
        ),
        ("STK", "USD")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_and_completed_orders() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let open = gw.open_orders().await.unwrap();
    let ids: Vec<_> = open.iter().map(|o| o.order_id).collect();
    assert_eq!(ids, [94, 95, 96]);
    assert!(open
        .iter()
        .all(|o| o.order_state.status.to_string() == "Submitted"));
    assert_eq!(open[1].order.order_type, "STP");
    let done = gw.completed_orders().await.unwrap();
    assert_eq!(done.len(), Scenario::demo().completed_orders.len());
    let cancelled = done.iter().find(|o| o.order.order_id == 97).unwrap();
    assert_eq!(cancelled.order_state.status.to_string(), "Cancelled");
    assert_eq!(cancelled.order.total_quantity, 30.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placed_orders_fill_and_show_up_in_later_requests() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let before = gw.positions().await.unwrap();
    let aapl = Contract::stock("AAPL").build();
    let id = gw.next_order_id().await.unwrap();
    let out = gw
        .place_order(id, &aapl, &order(Action::Buy, 10.0, ""))
        .await
        .unwrap();
    assert_eq!(out.status.as_deref(), Some("Filled"));
    assert_eq!(out.executions.len(), 1);
    assert_eq!(out.commissions.len(), 1);
    assert_eq!(out.executions[0].execution.price, 228.5);
    assert!(out.perm_id > 0);
    let exec_id = out.executions[0].execution.execution_id.clone();

    // The partial rule: half now, the rest shortly after.
    let id2 = gw.next_order_id().await.unwrap();
    assert!(id2 > id);
    let out = gw
        .place_order(id2, &aapl, &order(Action::Buy, 11.0, "partial"))
        .await
        .unwrap();
    assert_eq!(out.status.as_deref(), Some("Filled"));
    let shares: Vec<_> = out.executions.iter().map(|e| e.execution.shares).collect();
    assert_eq!(shares, [5.0, 6.0]);
    assert_eq!(out.commissions.len(), 2);

    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    assert!(batch
        .executions
        .iter()
        .any(|e| e.execution.execution_id == exec_id));
    assert!(batch.commissions.iter().any(|c| c.execution_id == exec_id));
    let after = gw.positions().await.unwrap();
    let pos = |rows: &[fillbook::ib::PositionRow]| {
        rows.iter()
            .find(|r| r.account == "DU1234567" && r.contract.symbol == "AAPL")
            .unwrap()
            .position
    };
    assert_eq!(pos(&after), pos(&before) + 21.0);
    let done = gw.completed_orders().await.unwrap();
    assert!(done
        .iter()
        .any(|o| o.order.order_id == id && o.order_state.status.to_string() == "Filled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_filled_orders_stay_open_until_cancelled() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let msft = Contract::stock("MSFT").build();
    let id = gw.next_order_id().await.unwrap();
    let out = gw
        .place_order(id, &msft, &order(Action::Sell, 5.0, "never"))
        .await
        .unwrap();
    assert_eq!(out.status.as_deref(), Some("Submitted"));
    assert!(out.executions.is_empty() && !out.is_final());
    assert!(gw
        .open_orders()
        .await
        .unwrap()
        .iter()
        .any(|o| o.order_id == id));
    gw.cancel_order(id).await.unwrap();
    assert!(!gw
        .open_orders()
        .await
        .unwrap()
        .iter()
        .any(|o| o.order_id == id));
    let done = gw.completed_orders().await.unwrap();
    assert!(done
        .iter()
        .any(|o| o.order.order_id == id && o.order_state.status.to_string() == "Cancelled"));
    match gw.cancel_order(id).await {
        Err(IbError::Gateway { code: 10147, .. }) => {}
        other => panic!("cancelling a finished order: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_orders_are_an_outcome() {
    let sim = demo().await;
    let gw = connect(&sim, 100).await;
    let gme = Contract::stock("GME").build();
    let id = gw.next_order_id().await.unwrap();
    let out = gw
        .place_order(id, &gme, &order(Action::Buy, 1.0, ""))
        .await
        .unwrap();
    let rejection = out.rejection.clone().expect("rejected");
    assert_eq!(rejection.code, 201);
    assert!(out.is_final());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_clients_at_once_and_duplicate_client_id() {
    let sim = demo().await;
    let a = connect(&sim, 1).await;
    let b = connect(&sim, 2).await;
    let (ra, rb) = tokio::join!(
        a.executions(ExecutionFilter::default()),
        b.executions(ExecutionFilter::default())
    );
    assert_eq!(ra.unwrap().executions.len(), rb.unwrap().executions.len());
    match Gateway::connect(&opts(sim.port(), 1)).await {
        Err(IbError::ClientIdInUse { client_id: 1, .. }) => {}
        other => panic!("duplicate client id: {other:?}"),
    }
    drop(a);
    // The id is free again once its session closes.
    let mut last = None;
    for _ in 0..50 {
        match Gateway::connect(&opts(sim.port(), 1)).await {
            Ok(_) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("client id 1 never freed: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_actionable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Gateway::connect(&opts(port, 100)).await.unwrap_err();
    assert!(matches!(err, IbError::ConnectionRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("could not connect to IB Gateway at 127.0.0.1:{port} within 5 s: connection refused (is the gateway running with API access enabled?)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_port_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut o = opts(port, 100);
    o.connect_timeout = Duration::from_millis(300);
    let err = Gateway::connect(&o).await.unwrap_err();
    assert!(matches!(err, IbError::ConnectTimeout { .. }), "{err:?}");
}

async fn connect_err(faults: Faults) -> IbError {
    let sim = sim::start(Scenario::demo(), faults).await.unwrap();
    Gateway::connect(&opts(sim.port(), 100)).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_handshake_is_typed() {
    let err = connect_err(Faults {
        refuse_handshake: true,
        ..Faults::default()
    })
    .await;
    assert!(matches!(err, IbError::HandshakeRejected { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_server_version_is_typed() {
    let err = connect_err(Faults {
        server_version: Some(200),
        ..Faults::default()
    })
    .await;
    match err {
        IbError::UnsupportedServerVersion {
            found: 200,
            required: 213,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_mid_stream_is_disconnected_then_recovers() {
    let sim = sim::start(
        Scenario::demo(),
        Faults {
            drop_after: Some(10),
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let gw = connect(&sim, 100).await;
    let err = gw.executions(ExecutionFilter::default()).await.unwrap_err();
    assert!(matches!(err, IbError::Disconnected { .. }), "{err:?}");
    assert!(err.is_transient());
    // The next sync, after the fault is lifted, succeeds.
    sim.set_faults(Faults::default());
    let gw = connect(&sim, 101).await;
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    assert_eq!(batch.executions.len(), Scenario::demo().executions.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frame_is_typed() {
    let sim = sim::start(
        Scenario::demo(),
        Faults {
            malformed_after: Some(3),
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let gw = connect(&sim, 100).await;
    let err = gw.executions(ExecutionFilter::default()).await.unwrap_err();
    assert!(matches!(err, IbError::Malformed { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_frames_still_arrive_complete() {
    let sim = sim::start(
        Scenario::demo(),
        Faults {
            delay_ms: 1,
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let gw = connect(&sim, 100).await;
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    assert_eq!(batch.executions.len(), Scenario::demo().executions.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_scenario_drains_completely() {
    let scenario = Scenario::generate(20_000, 7);
    let ids: Vec<_> = scenario
        .executions
        .iter()
        .map(|e| e.exec_id.clone())
        .collect();
    let sim = sim::start(scenario, Faults::default()).await.unwrap();
    let gw = connect(&sim, 100).await;
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    let got: Vec<_> = batch
        .executions
        .into_iter()
        .map(|e| e.execution.execution_id)
        .collect();
    assert_eq!(got, ids);
    assert_eq!(batch.commissions.len(), ids.len());
}

#[test]
fn scenario_json_round_trips_and_validates() {
    let demo = Scenario::demo();
    let json = serde_json::to_string_pretty(&demo).unwrap();
    assert!(
        Scenario::from_json(&json).unwrap() == demo,
        "the demo survives JSON exactly"
    );
    let mut bad = demo.clone();
    bad.accounts.pop();
    let err = Scenario::from_json(&serde_json::to_string(&bad).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown account DU7654321"), "{err}");
    assert!(Scenario::from_json("{\"accounts\": []}").is_err());
}

#[test]
fn gateway_errors_map_to_bad_gateway() {
    let err = fillbook::Error::from(IbError::Disconnected {
        operation: "reading executions".into(),
    });
    let (status, code) = err.status_and_code();
    assert_eq!((status.as_u16(), code), (502, "gateway_error"));
    assert!(err
        .to_app_error()
        .message
        .contains("IB Gateway closed the connection while reading executions"));
}

#[test]
fn documented_example_scenario_is_valid() {
    let doc = include_str!("../../../docs/ib-sim.md");
    let start = doc.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let scenario = Scenario::from_json(&doc[start..end]).unwrap();
    assert_eq!(scenario.executions.len(), 3);
    assert_eq!(scenario.fill_rules.len(), 3);
}
