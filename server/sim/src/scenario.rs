//! The simulator's scenario: the accounts, executions, positions and orders a simulated
//! IB Gateway reports, the rules it fills placed orders by, and its faults. A scenario is
//! JSON (see `docs/ib-sim.md`); [`Scenario::demo`] and [`Scenario::generate`] build one.

use super::faults::Faults;
use crate::error::{Result, SimError as Error};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Everything a simulated gateway knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Managed accounts, in the order the gateway lists them.
    pub accounts: Vec<String>,
    /// The first order id handed to a connecting client.
    #[serde(default = "default_next_order_id")]
    pub next_order_id: i32,
    /// IANA zone of the gateway's local time, used to read legacy execution times
    /// (`20230224  12:04:56`, no zone) when a request filters by time.
    #[serde(default = "default_time_zone")]
    pub gateway_time_zone: String,
    /// Executions in the order the gateway reports them.
    #[serde(default)]
    pub executions: Vec<SimExecution>,
    /// Positions held before the first execution; the gateway reports these plus
    /// the effective fills (the latest revision of each execution).
    #[serde(default)]
    pub opening_positions: Vec<SimPosition>,
    /// Orders still working at the gateway.
    #[serde(default)]
    pub open_orders: Vec<SimOrder>,
    /// Orders in a final state (filled, cancelled, inactive).
    #[serde(default)]
    pub completed_orders: Vec<SimOrder>,
    /// How placed orders are filled: the first matching rule wins, no match fills at once.
    #[serde(default)]
    pub fill_rules: Vec<FillRuleEntry>,
    /// Fill price of a market order by symbol (default 100).
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    /// Faults to inject (flags of `fillbook ib-sim` override these).
    #[serde(default)]
    pub faults: Faults,
    /// IB's "Master API client id": a client connected with it also receives every other
    /// client's (and TWS's) order events and fills. None: each client sees only its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_client_id: Option<i32>,
    /// Fills the gateway reports on its own while clients are connected, as fills of orders
    /// placed in TWS or by another client arrive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_fills: Vec<LiveFill>,
    /// Emit one made-up fill every this many milliseconds once a client has connected
    /// (the demo gateway does, so a page left open shows fills arriving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_every_ms: Option<u64>,
}

/// A fill the gateway emits by itself `after_ms` after the first client connected. An empty
/// `time` in its execution is the moment it is emitted. It goes to the client whose id the
/// execution carries and to the master client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveFill {
    pub after_ms: u64,
    pub execution: SimExecution,
}

fn default_next_order_id() -> i32 {
    1
}

fn default_time_zone() -> String {
    "US/Eastern".to_string()
}

/// A contract as the gateway describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimContract {
    pub con_id: i32,
    pub symbol: String,
    #[serde(default = "default_sec_type")]
    pub sec_type: String,
    /// Exchange of the contract (routing exchange), e.g. `SMART`.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_exchange: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_symbol: Option<String>,
    /// Contract multiplier (options, futures); average costs include it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trade_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strike: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<String>,
}

fn default_sec_type() -> String {
    "STK".to_string()
}
fn default_exchange() -> String {
    "SMART".to_string()
}
fn default_currency() -> String {
    "USD".to_string()
}

impl SimContract {
    /// A US stock routed SMART.
    pub fn stock(con_id: i32, symbol: &str) -> Self {
        Self {
            con_id,
            symbol: symbol.to_string(),
            sec_type: default_sec_type(),
            exchange: default_exchange(),
            currency: default_currency(),
            primary_exchange: None,
            local_symbol: None,
            multiplier: None,
            last_trade_date: None,
            strike: None,
            right: None,
        }
    }
}

/// Execution side as IB spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    #[serde(rename = "BOT")]
    Bought,
    #[serde(rename = "SLD")]
    Sold,
}

impl Side {
    /// The wire spelling, `BOT` or `SLD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Bought => "BOT",
            Side::Sold => "SLD",
        }
    }

    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Bought => 1.0,
            Side::Sold => -1.0,
        }
    }
}

/// One execution (fill) as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimExecution {
    /// Exec id; a correction repeats it with a higher last dot-segment (`.01` → `.02`).
    pub exec_id: String,
    pub account: String,
    pub order_id: i32,
    pub client_id: i32,
    /// 0 for orders the gateway has no permanent id for.
    #[serde(default)]
    pub perm_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    pub contract: SimContract,
    pub side: Side,
    pub shares: f64,
    pub price: f64,
    /// The time string exactly as the gateway sends it, any of the shapes IB uses.
    pub time: String,
    /// Execution venue, e.g. `ISLAND`.
    #[serde(default = "default_venue")]
    pub exchange: String,
    /// Cumulative quantity of the order after this fill (default: `shares`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cum_qty: Option<f64>,
    /// Average price of the order after this fill (default: `price`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_price: Option<f64>,
    /// The commission report; absent means the gateway never sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<SimCommission>,
}

fn default_venue() -> String {
    "ISLAND".to_string()
}

/// A commission report and when the gateway sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCommission {
    /// May be `-1` or `1.7976931348623157e308` (IB's "no value"), as real gateways send.
    pub amount: f64,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realized_pnl: Option<f64>,
    #[serde(default)]
    pub delivery: CommissionDelivery,
}

/// When a commission report is sent relative to its execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionDelivery {
    /// Right after its execution, before the end marker.
    #[default]
    Inline,
    /// After the `ExecutionDetailsEnd` marker (lost to an executions request, seen on
    /// the order update stream) in the first session that reports the execution; inline
    /// in later sessions.
    AfterEnd,
    /// Not in the first session that reports the execution; inline in later ones.
    LaterSession,
}

/// A position held before the scenario's executions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimPosition {
    pub account: String,
    pub contract: SimContract,
    pub position: f64,
    pub avg_cost: f64,
}

/// An order as open/completed order requests report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimOrder {
    pub order_id: i32,
    pub client_id: i32,
    #[serde(default)]
    pub perm_id: i64,
    pub account: String,
    pub contract: SimContract,
    /// `BUY` or `SELL`.
    pub action: String,
    pub total_quantity: f64,
    #[serde(default = "default_order_type")]
    pub order_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux_price: Option<f64>,
    #[serde(default = "default_tif")]
    pub tif: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// `Submitted`, `PreSubmitted`, `Filled`, `Cancelled`, `Inactive`, ...
    pub status: String,
    #[serde(default)]
    pub filled: f64,
    #[serde(default)]
    pub avg_fill_price: f64,
    /// Completed orders: when the order reached its final state, as IB spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_time: Option<String>,
    /// Completed orders: IB's free-text final status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_status: Option<String>,
}

fn default_order_type() -> String {
    "LMT".to_string()
}
fn default_tif() -> String {
    "DAY".to_string()
}

/// A fill rule and the orders it applies to (every given criterion must match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillRuleEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    pub rule: FillRule,
}

/// What the simulator does with a placed order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillRule {
    /// Filled completely at once.
    #[default]
    Fill,
    /// Half filled at once, the rest shortly after.
    Partial,
    /// Acknowledged and left working.
    Never,
    /// Rejected with IB error 201.
    Reject,
}

impl Scenario {
    /// An empty scenario for `accounts`.
    pub fn new(accounts: Vec<String>) -> Self {
        Self {
            accounts,
            next_order_id: default_next_order_id(),
            gateway_time_zone: default_time_zone(),
            executions: Vec::new(),
            opening_positions: Vec::new(),
            open_orders: Vec::new(),
            completed_orders: Vec::new(),
            fill_rules: Vec::new(),
            prices: BTreeMap::new(),
            faults: Faults::default(),
            master_client_id: None,
            live_fills: Vec::new(),
            live_every_ms: None,
        }
    }

    /// Reads and validates a scenario file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read scenario {}: {e}", path.display())))?;
        Self::from_json(&text)
            .map_err(|e| Error::Config(format!("scenario {}: {e}", path.display())))
    }

    /// Parses and validates scenario JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let scenario: Scenario =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("invalid JSON: {e}")))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks what the wire cannot express: known accounts, unique exec ids, sane numbers.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.accounts.is_empty() {
            return bad("a scenario needs at least one account".into());
        }
        let accounts: HashSet<&str> = self.accounts.iter().map(String::as_str).collect();
        let mut ids = HashSet::new();
        let live = self.live_fills.iter().map(|f| &f.execution);
        for e in self.executions.iter().chain(live) {
            if !accounts.contains(e.account.as_str()) {
                return bad(format!(
                    "execution {} names unknown account {}",
                    e.exec_id, e.account
                ));
            }
            if !ids.insert(e.exec_id.as_str()) {
                return bad(format!("execution id {} appears twice", e.exec_id));
            }
            if e.shares.is_nan() || e.shares <= 0.0 || !e.price.is_finite() {
                return bad(format!(
                    "execution {} needs shares > 0 and a finite price",
                    e.exec_id
                ));
            }
        }
        let orders = self.open_orders.iter().chain(&self.completed_orders);
        for o in orders {
            if !accounts.contains(o.account.as_str()) {
                return bad(format!(
                    "order {} names unknown account {}",
                    o.order_id, o.account
                ));
            }
            if o.action != "BUY" && o.action != "SELL" {
                return bad(format!("order {} action must be BUY or SELL", o.order_id));
            }
        }
        Ok(())
    }

    /// The fill rule for an order on `symbol` with `order_ref`.
    pub fn fill_rule(&self, symbol: &str, order_ref: &str) -> FillRule {
        self.fill_rules
            .iter()
            .find(|r| {
                r.symbol.as_deref().is_none_or(|s| s == symbol)
                    && r.order_ref.as_deref().is_none_or(|s| s == order_ref)
            })
            .map_or(FillRule::Fill, |r| r.rule)
    }
}

/// Splits an exec id into (base, revision): text before the last `.` and the last
/// segment as an integer; anything else is (whole id, 0).
pub fn exec_revision(exec_id: &str) -> (&str, u32) {
    match exec_id.rsplit_once('.') {
        Some((base, rev)) => match rev.parse() {
            Ok(n) => (base, n),
            Err(_) => (exec_id, 0),
        },
        None => (exec_id, 0),
    }
}
