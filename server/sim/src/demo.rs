//! The built-in `demo` scenario: two accounts, tens of orders over a trading week, and
//! every case the gateway protocol has — corrections, perm_id 0 with and without order_ref, an order
//! id reused by another client id, fills across midnight UTC, every execution-time
//! shape, commissions missing / -1 / f64::MAX / after the end marker / only in a later
//! session — plus open and completed orders and fill rules for placed orders.

use super::scenario::{
    CommissionDelivery, FillRule, FillRuleEntry, Scenario, Side, SimCommission, SimContract,
    SimExecution, SimOrder,
};

/// First account of the demo.
pub const DEMO_ACCOUNT_A: &str = "DU1234567";
/// Second account of the demo.
pub const DEMO_ACCOUNT_B: &str = "DU7654321";
/// Fillbook's default client id, which placed most demo orders.
const CLIENT: i32 = 100;

struct Stock {
    con_id: i32,
    symbol: &'static str,
    price: f64,
    primary: &'static str,
}

const STOCKS: [Stock; 6] = [
    Stock {
        con_id: 265_598,
        symbol: "AAPL",
        price: 228.5,
        primary: "NASDAQ",
    },
    Stock {
        con_id: 272_093,
        symbol: "MSFT",
        price: 415.2,
        primary: "NASDAQ",
    },
    Stock {
        con_id: 76_792_991,
        symbol: "TSLA",
        price: 251.1,
        primary: "NASDAQ",
    },
    Stock {
        con_id: 4_815_747,
        symbol: "NVDA",
        price: 138.4,
        primary: "NASDAQ",
    },
    Stock {
        con_id: 756_733,
        symbol: "SPY",
        price: 592.3,
        primary: "ARCA",
    },
    Stock {
        con_id: 3_691_937,
        symbol: "AMZN",
        price: 197.6,
        primary: "NASDAQ",
    },
];

fn contract(s: &Stock) -> SimContract {
    let mut c = SimContract::stock(s.con_id, s.symbol);
    c.primary_exchange = Some(s.primary.to_string());
    c
}

fn commission(amount: f64) -> Option<SimCommission> {
    Some(SimCommission {
        amount,
        currency: "USD".into(),
        realized_pnl: None,
        delivery: CommissionDelivery::Inline,
    })
}

struct Fill<'a> {
    exec_id: String,
    account: &'a str,
    order_id: i32,
    client_id: i32,
    perm_id: i64,
    order_ref: Option<&'a str>,
    stock: &'a Stock,
    side: Side,
    shares: f64,
    price: f64,
    time: String,
}

impl Fill<'_> {
    fn build(self) -> SimExecution {
        SimExecution {
            commission: commission((self.shares * 0.005).max(1.0)),
            exec_id: self.exec_id,
            account: self.account.to_string(),
            order_id: self.order_id,
            client_id: self.client_id,
            perm_id: self.perm_id,
            order_ref: self.order_ref.map(str::to_string),
            contract: contract(self.stock),
            side: self.side,
            shares: self.shares,
            price: self.price,
            time: self.time,
            exchange: "ISLAND".into(),
            cum_qty: None,
            avg_price: None,
        }
    }
}

impl Scenario {
    /// The built-in demo scenario.
    pub fn demo() -> Self {
        let mut s = Scenario::new(vec![DEMO_ACCOUNT_A.into(), DEMO_ACCOUNT_B.into()]);
        s.next_order_id = 500;
        let mut execs = Vec::new();
        let mut orders = Vec::new();

        // Regular round trips: one buy and one sell order per stock and account over
        // 16-20 Nov 2026, buys filled in two parts, times in the UTC `-` shape.
        let mut order_id = 10;
        let mut perm = 1_800_000_000i64;
        for (day, stock) in STOCKS.iter().enumerate() {
            for (k, account) in [DEMO_ACCOUNT_A, DEMO_ACCOUNT_B].into_iter().enumerate() {
                let date = format!("202611{:02}", 16 + day % 5);
                let qty = 100.0 * (k as f64 + 1.0);
                for (leg, side) in [Side::Bought, Side::Sold].into_iter().enumerate() {
                    order_id += 1;
                    perm += 1;
                    let price = stock.price
                        + if leg == 0 {
                            0.0
                        } else {
                            1.25 * (day as f64 - 2.0)
                        };
                    let parts: &[f64] = if leg == 0 { &[0.4, 0.6] } else { &[1.0] };
                    let mut cum = 0.0;
                    for (p, share) in parts.iter().enumerate() {
                        let shares = qty * share;
                        cum += shares;
                        let mut fill = Fill {
                            exec_id: format!("0000e0d5.{perm:08x}.{:02}.01", p + 1),
                            account,
                            order_id,
                            client_id: CLIENT,
                            perm_id: perm,
                            order_ref: Some("fillbook"),
                            stock,
                            side,
                            shares,
                            price: price + p as f64 * 0.01,
                            time: format!("{date}-{:02}:{:02}:{:02}", 14 + leg * 3, 31 + p, 7 * k),
                        }
                        .build();
                        fill.cum_qty = Some(cum);
                        execs.push(fill);
                    }
                    orders.push(SimOrder {
                        order_id,
                        client_id: CLIENT,
                        perm_id: perm,
                        account: account.into(),
                        contract: contract(stock),
                        action: if leg == 0 { "BUY" } else { "SELL" }.into(),
                        total_quantity: qty,
                        order_type: "LMT".into(),
                        limit_price: Some(price + 0.05),
                        aux_price: None,
                        tif: "DAY".into(),
                        order_ref: Some("fillbook".into()),
                        status: "Filled".into(),
                        filled: qty,
                        avg_fill_price: price,
                        completed_time: Some(format!("{date} {:02}:32:00 UTC", 14 + leg * 3)),
                        completed_status: Some("Filled".into()),
                    });
                }
            }
        }

        let [aapl, msft, tsla, nvda, spy, amzn] = &STOCKS;
        let mut special = |fill: Fill| execs.push(fill.build());
        // A fill corrected twice: .01 -> .02 -> .03, each with a different qty/price.
        for (rev, (shares, price)) in [(50.0, 227.10), (45.0, 227.15), (40.0, 227.05)]
            .into_iter()
            .enumerate()
        {
            special(Fill {
                exec_id: format!("0000e0d5.6576ba1b.01.{:02}", rev + 1),
                account: DEMO_ACCOUNT_A,
                order_id: 90,
                client_id: CLIENT,
                perm_id: 1_900_000_001,
                order_ref: Some("corrected"),
                stock: aapl,
                side: Side::Bought,
                shares,
                price,
                time: "20261118 10:30:00 US/Eastern".into(),
            });
        }
        // perm_id 0 with an order_ref, and without one (manual TWS orders, client 0).
        special(Fill {
            exec_id: "0000e0d5.70000001.01.01".into(),
            account: DEMO_ACCOUNT_A,
            order_id: 0,
            client_id: 0,
            perm_id: 0,
            order_ref: Some("manual-hedge"),
            stock: spy,
            side: Side::Sold,
            shares: 10.0,
            price: 590.4,
            time: "20261117 11:05:12 EST".into(),
        });
        special(Fill {
            exec_id: "0000e0d5.70000002.01.01".into(),
            account: DEMO_ACCOUNT_B,
            order_id: 0,
            client_id: 0,
            perm_id: 0,
            order_ref: None,
            stock: spy,
            side: Side::Bought,
            shares: 10.0,
            price: 589.9,
            time: "20261117  11:06:40".into(),
        });
        // Order id 91 used by client 100 and, for another order, by client 7.
        for (client_id, perm_id, stock, price, time) in [
            (CLIENT, 1_900_000_010, msft, 414.0, "20261119 16:45:00 MET"),
            (7, 1_900_000_011, nvda, 137.9, "20261119 16:46:30 MET"),
        ] {
            special(Fill {
                exec_id: format!("0000e0d5.{perm_id:08x}.01.01"),
                account: DEMO_ACCOUNT_B,
                order_id: 91,
                client_id,
                perm_id,
                order_ref: None,
                stock,
                side: Side::Bought,
                shares: 20.0,
                price,
                time: time.into(),
            });
        }
        // One order filled across midnight UTC.
        for (part, time) in ["20261119-23:59:30", "20261120-00:00:45"]
            .into_iter()
            .enumerate()
        {
            special(Fill {
                exec_id: format!("0000e0d5.71000000.{:02}.01", part + 1),
                account: DEMO_ACCOUNT_A,
                order_id: 92,
                client_id: CLIENT,
                perm_id: 1_900_000_020,
                order_ref: Some("overnight"),
                stock: tsla,
                side: Side::Sold,
                shares: 15.0,
                price: 249.5 + part as f64,
                time: time.into(),
            });
        }
        // Commission variants on AMZN fills of order 93.
        let variants: [(Option<f64>, CommissionDelivery); 5] = [
            (None, CommissionDelivery::Inline),
            (Some(-1.0), CommissionDelivery::Inline),
            (Some(f64::MAX), CommissionDelivery::Inline),
            (Some(1.05), CommissionDelivery::AfterEnd),
            (Some(1.10), CommissionDelivery::LaterSession),
        ];
        for (i, (amount, delivery)) in variants.into_iter().enumerate() {
            let mut e = Fill {
                exec_id: format!("0000e0d5.72000000.{:02}.01", i + 1),
                account: DEMO_ACCOUNT_B,
                order_id: 93,
                client_id: CLIENT,
                perm_id: 1_900_000_030,
                order_ref: Some("commissions"),
                stock: amzn,
                side: Side::Bought,
                shares: 5.0,
                price: 197.0 + i as f64 * 0.1,
                time: format!("20261120 09:4{i}:00 US/Eastern"),
            }
            .build();
            e.commission = amount.map(|amount| SimCommission {
                amount,
                currency: "USD".into(),
                realized_pnl: None,
                delivery,
            });
            e.cum_qty = Some(5.0 * (i as f64 + 1.0));
            execs.push(e);
        }

        // Working orders: a resting limit buy and a stop for each account.
        for (order_id, account, stock, action, qty, order_type, lmt, aux) in [
            (
                94,
                DEMO_ACCOUNT_A,
                aapl,
                "BUY",
                25.0,
                "LMT",
                Some(210.0),
                None,
            ),
            (
                95,
                DEMO_ACCOUNT_B,
                msft,
                "SELL",
                20.0,
                "STP",
                None,
                Some(395.0),
            ),
            (
                96,
                DEMO_ACCOUNT_A,
                nvda,
                "BUY",
                50.0,
                "LMT",
                Some(120.0),
                None,
            ),
        ] {
            orders.push(SimOrder {
                order_id,
                client_id: CLIENT,
                perm_id: 1_900_000_000 + i64::from(order_id),
                account: account.into(),
                contract: contract(stock),
                action: action.into(),
                total_quantity: qty,
                order_type: order_type.into(),
                limit_price: lmt,
                aux_price: aux,
                tif: "GTC".into(),
                order_ref: Some("fillbook".into()),
                status: "Submitted".into(),
                filled: 0.0,
                avg_fill_price: 0.0,
                completed_time: None,
                completed_status: None,
            });
        }
        // A cancelled order among the completed ones.
        orders.push(SimOrder {
            order_id: 97,
            client_id: CLIENT,
            perm_id: 1_900_000_097,
            account: DEMO_ACCOUNT_B.into(),
            contract: contract(tsla),
            action: "BUY".into(),
            total_quantity: 30.0,
            order_type: "LMT".into(),
            limit_price: Some(230.0),
            aux_price: None,
            tif: "DAY".into(),
            order_ref: None,
            status: "Cancelled".into(),
            filled: 0.0,
            avg_fill_price: 0.0,
            completed_time: Some("20261118 20:00:00 UTC".into()),
            completed_status: Some("Cancelled by Trader".into()),
        });

        let (open, completed): (Vec<_>, Vec<_>) =
            orders.into_iter().partition(|o| o.status == "Submitted");
        s.executions = execs;
        s.open_orders = open;
        s.completed_orders = completed;
        s.prices = STOCKS
            .iter()
            .map(|st| (st.symbol.to_string(), st.price))
            .collect();
        s.fill_rules = vec![
            FillRuleEntry {
                symbol: None,
                order_ref: Some("partial".into()),
                rule: FillRule::Partial,
            },
            FillRuleEntry {
                symbol: None,
                order_ref: Some("never".into()),
                rule: FillRule::Never,
            },
            FillRuleEntry {
                symbol: None,
                order_ref: Some("reject".into()),
                rule: FillRule::Reject,
            },
            FillRuleEntry {
                symbol: Some("GME".into()),
                order_ref: None,
                rule: FillRule::Reject,
            },
        ];
        s
    }
}
