//! A trade's totals summed in memory from the fills a run inserts into it. A trade the run
//! created and whose fills no later step of the run changed (no merge, no bust, no
//! canonical flag flipped) has exactly these fills, all canonical, so its totals are
//! written from memory instead of being recomputed by reading every fill back; any other
//! trade is recomputed from its stored canonical fills.

use crate::normalize::NormalizedExecution;
use chrono::{DateTime, Utc};

/// The aggregates of a trade's canonical fills, as the recompute in SQL defines them:
/// quantity and notional summed, first and last fill time, fill count, commission summed
/// over the fills that have one (none when no fill has one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub quantity: f64,
    notional: f64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub fills: i64,
    pub commission: Option<f64>,
}

impl Totals {
    /// The totals of one fill.
    pub fn of(r: &NormalizedExecution) -> Self {
        Totals {
            quantity: r.quantity,
            notional: r.quantity * r.price,
            first_at: r.executed_at,
            last_at: r.executed_at,
            fills: 1,
            commission: r.commission,
        }
    }

    /// Adds the fills of `other` (in the order they were inserted, as the stored rows are
    /// summed).
    pub fn add(&mut self, other: &Totals) {
        self.quantity += other.quantity;
        self.notional += other.notional;
        self.first_at = self.first_at.min(other.first_at);
        self.last_at = self.last_at.max(other.last_at);
        self.fills += other.fills;
        self.commission = match (self.commission, other.commission) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// Adds `t` to the totals of trade `id` in `sums` (its first totals when it has none).
    pub fn add_to(sums: &mut std::collections::HashMap<i32, Totals>, id: i32, t: Totals) {
        sums.entry(id).and_modify(|sum| sum.add(&t)).or_insert(t);
    }

    /// Notional over quantity; none for a trade whose quantities sum to zero.
    pub fn avg_price(&self) -> Option<f64> {
        (self.quantity != 0.0).then(|| self.notional / self.quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize_execution;
    use crate::normalize::tests::{data, report};

    fn fill(exec_id: &str, time: &str, commission: bool) -> NormalizedExecution {
        let d = data(exec_id, time);
        let r = report(exec_id, 1.25);
        normalize_execution(&d, commission.then_some(&r), chrono_tz::Tz::UTC).unwrap()
    }

    #[test]
    fn totals_add_up_as_the_sql_aggregates_do() {
        let a = fill(
            "0000e0d5.6576ba1b.01.01",
            "20231215 10:30:00 US/Eastern",
            false,
        );
        let b = fill(
            "0000e0d5.6576ba1c.01.01",
            "20231215 09:30:00 US/Eastern",
            true,
        );
        let mut t = Totals::of(&a);
        assert_eq!(t.commission, None, "no fill has a commission yet");
        t.add(&Totals::of(&b));
        assert_eq!(t.fills, 2);
        assert_eq!(t.quantity, a.quantity + b.quantity);
        assert_eq!(t.first_at, b.executed_at);
        assert_eq!(t.last_at, a.executed_at);
        assert_eq!(t.commission, Some(1.25), "the one commission known");
        let expected = (a.quantity * a.price + b.quantity * b.price) / (a.quantity + b.quantity);
        assert_eq!(t.avg_price(), Some(expected));
        t.add(&Totals::of(&b));
        assert_eq!(t.commission, Some(2.5));
    }
}
