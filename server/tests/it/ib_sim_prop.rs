//! Property: for a randomly generated scenario, the real `ibapi` client receives exactly
//! the scenario's executions and the commission reports due in that session, in order,
//! with nothing lost or invented — in the first session and in a later one.

use fillbook::ib::{Gateway, IbConnectOptions};
use fillbook_sim::{
    self as sim, CommissionDelivery, Faults, Scenario, Side, SimCommission, SimContract,
    SimExecution,
};
use ibapi::orders::ExecutionFilter;
use proptest::prelude::*;

const ACCOUNTS: [&str; 2] = ["DU0000001", "DU0000002"];

fn time() -> impl Strategy<Value = String> {
    (16u32..21, 0u32..24, 0u32..60, 0u32..60, 0usize..5).prop_map(|(d, h, m, s, shape)| match shape
    {
        0 => format!("202611{d:02}-{h:02}:{m:02}:{s:02}"),
        1 => format!("202611{d:02} {h:02}:{m:02}:{s:02} US/Eastern"),
        2 => format!("202611{d:02} {h:02}:{m:02}:{s:02} EST"),
        3 => format!("202611{d:02} {h:02}:{m:02}:{s:02} MET"),
        _ => format!("202611{d:02}  {h:02}:{m:02}:{s:02}"),
    })
}

fn commission() -> impl Strategy<Value = Option<SimCommission>> {
    let amount = prop_oneof![Just(-1.0), Just(f64::MAX), Just(0.0), 0.01f64..50.0];
    let delivery = prop_oneof![
        Just(CommissionDelivery::Inline),
        Just(CommissionDelivery::AfterEnd),
        Just(CommissionDelivery::LaterSession)
    ];
    proptest::option::of(
        (amount, delivery, proptest::option::of(-500.0f64..500.0)).prop_map(
            |(amount, delivery, realized_pnl)| SimCommission {
                amount,
                currency: "USD".into(),
                realized_pnl,
                delivery,
            },
        ),
    )
}

fn execution() -> impl Strategy<Value = (SimExecution, u32)> {
    (
        (
            0usize..2,
            0i32..50,
            prop_oneof![Just(0), Just(100), 0i32..1000],
            prop_oneof![Just(0i64), 1i64..i64::from(i32::MAX)],
        ),
        (
            proptest::option::of("[a-z0-9-]{1,12}"),
            "[A-Z]{1,5}",
            any::<bool>(),
            1u32..100_000,
            1u32..1_000_000,
        ),
        (time(), commission(), 1u32..4),
    )
        .prop_map(
            |(
                (acct, order_id, client_id, perm_id),
                (order_ref, symbol, buy, shares, cents),
                (time, commission, rev),
            )| {
                let con_id = symbol
                    .bytes()
                    .fold(7i32, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(b)))
                    .abs();
                (
                    SimExecution {
                        exec_id: String::new(),
                        account: ACCOUNTS[acct].into(),
                        order_id,
                        client_id,
                        perm_id,
                        order_ref,
                        contract: SimContract::stock(con_id, &symbol),
                        side: if buy { Side::Bought } else { Side::Sold },
                        shares: f64::from(shares) / 100.0,
                        price: f64::from(cents) / 100.0,
                        time,
                        exchange: "ISLAND".into(),
                        cum_qty: None,
                        avg_price: None,
                        commission,
                    },
                    rev,
                )
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    proptest::collection::vec(execution(), 0..60).prop_map(|rows| {
        let mut s = Scenario::new(ACCOUNTS.iter().map(|a| a.to_string()).collect());
        s.executions = rows
            .into_iter()
            .enumerate()
            .map(|(i, (mut e, rev))| {
                e.exec_id = format!("0000e0d5.{i:08x}.01.{rev:02}");
                e
            })
            .collect();
        s
    })
}

/// (exec id, commission, realized pnl) of the reports due before the end marker: in the
/// first session the inline ones, in later sessions all (late ones are late only once).
fn due(s: &Scenario, later: bool) -> Vec<(String, f64, Option<f64>)> {
    s.executions
        .iter()
        .filter_map(|e| e.commission.as_ref().map(|c| (e, c)))
        .filter(|(_, c)| later || c.delivery == CommissionDelivery::Inline)
        .map(|(e, c)| {
            (
                e.exec_id.clone(),
                c.amount,
                c.realized_pnl.filter(|p| *p != f64::MAX),
            )
        })
        .collect()
}

async fn session(
    port: u16,
    client_id: i32,
    s: &Scenario,
    later: bool,
) -> Result<(), TestCaseError> {
    let gw = Gateway::connect(&IbConnectOptions::new("127.0.0.1", port, client_id))
        .await
        .unwrap();
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    prop_assert_eq!(batch.executions.len(), s.executions.len());
    for (got, want) in batch.executions.iter().zip(&s.executions) {
        let x = &got.execution;
        prop_assert_eq!(&x.execution_id, &want.exec_id);
        prop_assert_eq!(&x.account_number, &want.account);
        prop_assert_eq!(x.order_id, want.order_id);
        prop_assert_eq!(x.client_id, want.client_id);
        prop_assert_eq!(x.perm_id, want.perm_id);
        prop_assert_eq!(
            &x.order_reference,
            &want.order_ref.clone().unwrap_or_default()
        );
        prop_assert_eq!(&x.time, &want.time);
        prop_assert_eq!(x.side.to_string(), want.side.as_str());
        prop_assert_eq!(x.shares, want.shares);
        prop_assert_eq!(x.price, want.price);
        prop_assert_eq!(got.contract.contract_id, want.contract.con_id);
        prop_assert_eq!(&got.contract.symbol.0, &want.contract.symbol);
    }
    let got: Vec<_> = batch
        .commissions
        .iter()
        .map(|c| (c.execution_id.clone(), c.commission, c.realized_pnl))
        .collect();
    prop_assert_eq!(got, due(s, later));
    gw.disconnect().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn executions_and_commissions_arrive_exactly(s in scenario()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let sim = sim::start(s.clone(), Faults::default()).await.unwrap();
            session(sim.port(), 100, &s, false).await?;
            session(sim.port(), 101, &s, true).await
        })?;
    }
}
