//! Large synthetic scenarios for benchmarks: `n` executions across thousands of orders,
//! two accounts, forty symbols, five days, every time shape, about 1% corrections.
//! Deterministic for a given seed.

use super::scenario::{
    CommissionDelivery, Scenario, Side, SimCommission, SimContract, SimExecution,
};

/// Executions per order on average in a generated scenario.
const FILLS_PER_ORDER: usize = 20;

/// splitmix64: small, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl Scenario {
    /// A scenario of `n` executions spread over `n / 20` (at least one) orders.
    pub fn generate(n: usize, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mut s = Scenario::new(vec!["DU1000001".into(), "DU1000002".into()]);
        let symbols: Vec<SimContract> = (0..40)
            .map(|i| SimContract::stock(10_000 + i, &format!("SYM{i:02}")))
            .collect();
        let orders = (n / FILLS_PER_ORDER).max(1);
        s.next_order_id = orders as i32 + 1;
        s.executions.reserve(n);
        for i in 0..n {
            let order = i % orders;
            let contract = symbols[order % symbols.len()].clone();
            let day = 16 + (order * 5 / orders) as u32;
            let secs = rng.below(6 * 3600) + 14 * 3600 + 1800;
            let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
            let time = match rng.below(10) {
                0 => format!("202611{day:02} {:02}:{m:02}:{sec:02} US/Eastern", h - 5),
                1 => format!("202611{day:02}  {:02}:{m:02}:{sec:02}", h - 5),
                _ => format!("202611{day:02}-{h:02}:{m:02}:{sec:02}"),
            };
            let shares = (1 + rng.below(20)) as f64 * 10.0;
            // About 1% of fills are followed by a correction: same fill, new quantity
            // and price, revision `.02` of the same exec id.
            let previous = s.executions.last();
            if rng.below(100) == 0 && previous.is_some_and(|p| p.exec_id.ends_with(".01")) {
                let mut fix = previous.expect("checked").clone();
                fix.exec_id.replace_range(fix.exec_id.len() - 2.., "02");
                fix.shares = shares;
                fix.price += 0.01;
                fix.commission = Some(commission(shares));
                s.executions.push(fix);
                continue;
            }
            let exec_id = format!("{:08x}.{i:08x}.01.01", seed as u32);
            s.executions.push(SimExecution {
                exec_id,
                account: s.accounts[order % 2].clone(),
                order_id: order as i32 + 1,
                client_id: 100,
                perm_id: 1_000_000_000 + order as i64,
                order_ref: order.is_multiple_of(3).then(|| format!("bench-{order}")),
                contract,
                side: if (order / 40).is_multiple_of(2) {
                    Side::Bought
                } else {
                    Side::Sold
                },
                shares,
                price: 50.0 + rng.below(10_000) as f64 / 100.0,
                time,
                exchange: "ISLAND".into(),
                cum_qty: None,
                avg_price: None,
                commission: Some(commission(shares)),
            });
        }
        s
    }
}

/// The usual fixed-rate commission report of a fill.
fn commission(shares: f64) -> SimCommission {
    SimCommission {
        amount: (shares * 0.005).max(1.0),
        currency: "USD".into(),
        realized_pnl: None,
        delivery: CommissionDelivery::Inline,
    }
}

#[cfg(test)]
mod tests {
    use crate::{exec_revision, Scenario};
    use std::collections::HashSet;

    #[test]
    fn generated_scenarios_are_valid_and_corrections_correct_their_fill() {
        let s = Scenario::generate(5_000, 3);
        assert_eq!(s.executions.len(), 5_000);
        s.validate().unwrap();
        assert_eq!(s, Scenario::generate(5_000, 3), "deterministic");
        let orders: HashSet<_> = s.executions.iter().map(|e| e.order_id).collect();
        assert_eq!(orders.len(), 250);
        let fixes: Vec<_> = s
            .executions
            .windows(2)
            .filter(|w| exec_revision(&w[1].exec_id).1 == 2)
            .collect();
        assert!(!fixes.is_empty());
        for w in fixes {
            assert_eq!(
                exec_revision(&w[0].exec_id).0,
                exec_revision(&w[1].exec_id).0
            );
            assert_eq!(
                (w[0].order_id, &w[0].contract, &w[0].account),
                (w[1].order_id, &w[1].contract, &w[1].account)
            );
        }
    }
}
