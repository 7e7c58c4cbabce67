//! The simulated gateway's state, shared by all its connections: executions (encoded
//! once, served by filter), positions, orders, client ids in use, and the order engine
//! that acknowledges, fills, rejects and cancels placed orders.

use super::encode::{self, parse_ib_time};
use super::proto::{self, reply, ExecutionFilter, PlaceOrderRequest};
use super::scenario::{
    exec_revision, CommissionDelivery, FillRule, Scenario, Side, SimCommission, SimContract,
    SimExecution, SimOrder,
};
use chrono::{DateTime, Utc};
use prost::Message;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// How long the simulator waits before filling the rest of a `partial` order.
pub const PARTIAL_REST_DELAY: Duration = Duration::from_millis(150);

/// One execution as served: the keys a filter looks at and the pre-encoded frames.
struct Served {
    account: String,
    client_id: i32,
    symbol: String,
    sec_type: String,
    exchange: String,
    side: Side,
    at: Option<DateTime<Utc>>,
    /// `ExecutionDetails` without its request id.
    body: Vec<u8>,
    commission: Option<(Vec<u8>, CommissionDelivery)>,
}

/// A net position per account and contract.
#[derive(Debug, Clone)]
struct Holding {
    account: String,
    contract: SimContract,
    position: f64,
    avg_cost: f64,
}

impl Holding {
    fn apply(&mut self, side: Side, shares: f64, price: f64) {
        let cost = price * self.contract.multiplier.unwrap_or(1.0);
        let signed = side.sign() * shares;
        let next = self.position + signed;
        if self.position == 0.0 || self.position.signum() == signed.signum() {
            self.avg_cost = (self.position.abs() * self.avg_cost + shares * cost) / next.abs();
        } else if next == 0.0 {
            self.avg_cost = 0.0;
        } else if next.signum() != self.position.signum() {
            self.avg_cost = cost;
        }
        self.position = next;
    }
}

/// A placed order whose rest is filled later.
pub struct Deferred {
    pub client_id: i32,
    pub order_id: i32,
    pub shares: f64,
}

/// The gateway's state.
pub struct Book {
    /// The scenario's settings (accounts, zone, rules, prices); its rows live below.
    scenario: Scenario,
    executions: Vec<Served>,
    holdings: BTreeMap<(String, i32), Holding>,
    orders: Vec<SimOrder>,
    clients: HashSet<i32>,
    next_order_id: i32,
    next_perm_id: i64,
    exec_seq: u64,
    /// Session that first served each execution whose commission report is late.
    first_served: HashMap<usize, u64>,
    /// Every exec id in the book (live fills are booked once).
    known_exec_ids: HashSet<String>,
}

impl Book {
    /// The state a scenario describes.
    pub fn new(mut scenario: Scenario) -> Self {
        let executions = std::mem::take(&mut scenario.executions);
        let orders: Vec<SimOrder> = std::mem::take(&mut scenario.open_orders)
            .into_iter()
            .chain(std::mem::take(&mut scenario.completed_orders))
            .collect();
        let mut book = Self {
            next_order_id: scenario.next_order_id,
            next_perm_id: 2_000_000_000,
            executions: Vec::with_capacity(executions.len()),
            holdings: BTreeMap::new(),
            orders,
            clients: HashSet::new(),
            exec_seq: 0,
            first_served: HashMap::new(),
            known_exec_ids: HashSet::new(),
            scenario,
        };
        for p in std::mem::take(&mut book.scenario.opening_positions) {
            book.holdings.insert(
                (p.account.clone(), p.contract.con_id),
                Holding {
                    account: p.account,
                    contract: p.contract,
                    position: p.position,
                    avg_cost: p.avg_cost,
                },
            );
        }
        for e in effective(&executions) {
            book.hold(e);
        }
        let top_order = executions
            .iter()
            .map(|e| e.order_id)
            .chain(book.orders.iter().map(|o| o.order_id))
            .max()
            .unwrap_or(0);
        book.next_order_id = book.next_order_id.max(top_order + 1);
        book.next_perm_id = executions
            .iter()
            .map(|e| e.perm_id)
            .chain(book.orders.iter().map(|o| o.perm_id))
            .fold(book.next_perm_id, |a, b| a.max(b + 1));
        for e in &executions {
            book.record(e);
        }
        book
    }

    fn hold(&mut self, e: &SimExecution) {
        self.holdings
            .entry((e.account.clone(), e.contract.con_id))
            .or_insert_with(|| Holding {
                account: e.account.clone(),
                contract: e.contract.clone(),
                position: 0.0,
                avg_cost: 0.0,
            })
            .apply(e.side, e.shares, e.price);
    }

    fn record(&mut self, e: &SimExecution) {
        self.known_exec_ids.insert(e.exec_id.clone());
        let commission = e.commission.as_ref().map(|c| {
            let frame = proto::frame(
                reply::COMMISSION_AND_FEES_REPORT,
                &proto::CommissionAndFeesReport {
                    exec_id: Some(e.exec_id.clone()),
                    commission_and_fees: Some(c.amount),
                    currency: Some(c.currency.clone()),
                    realized_pnl: c.realized_pnl,
                },
            );
            (frame, c.delivery)
        });
        self.executions.push(Served {
            account: e.account.clone(),
            client_id: e.client_id,
            symbol: e.contract.symbol.clone(),
            sec_type: e.contract.sec_type.clone(),
            exchange: e.exchange.clone(),
            side: e.side,
            at: parse_ib_time(&e.time, &self.scenario.gateway_time_zone),
            body: encode::execution_body(e).encode_to_vec(),
            commission,
        });
    }

    /// The managed accounts, comma separated.
    pub fn accounts_list(&self) -> String {
        self.scenario.accounts.join(",")
    }

    /// The next order id a client may use.
    pub fn next_order_id(&self) -> i32 {
        self.next_order_id
    }

    /// Claims `client_id` for a connection; false when another connection holds it.
    pub fn claim_client(&mut self, client_id: i32) -> bool {
        self.clients.insert(client_id)
    }

    /// Releases a client id when its connection ends.
    pub fn release_client(&mut self, client_id: i32) {
        self.clients.remove(&client_id);
    }

    /// Frames answering an executions request: details (each followed by its commission
    /// report when due), the end marker, then commission reports sent after it.
    pub fn executions_reply(
        &mut self,
        req_id: i32,
        filter: &ExecutionFilter,
        session: u64,
    ) -> Vec<u8> {
        let mut req = Vec::with_capacity(11);
        prost::encoding::int32::encode(1, &req_id, &mut req);
        let since = filter
            .time
            .as_deref()
            .filter(|t| !t.is_empty())
            .and_then(|t| parse_ib_time(t, &self.scenario.gateway_time_zone));
        let mut out = Vec::new();
        let mut after = Vec::new();
        for (i, e) in self.executions.iter().enumerate() {
            if !matches(e, filter, since) {
                continue;
            }
            let len = 4 + req.len() + e.body.len();
            out.extend_from_slice(&(len as u32).to_be_bytes());
            out.extend_from_slice(
                &(reply::EXECUTION_DETAILS + proto::PROTOBUF_OFFSET).to_be_bytes(),
            );
            out.extend_from_slice(&req);
            out.extend_from_slice(&e.body);
            let Some((frame, delivery)) = &e.commission else {
                continue;
            };
            // Late reports are late only in the first session that reports the
            // execution: by the next one the gateway has them, and sends them inline.
            let late = *delivery != CommissionDelivery::Inline
                && *self.first_served.entry(i).or_insert(session) == session;
            match (delivery, late) {
                (CommissionDelivery::AfterEnd, true) => after.extend_from_slice(frame),
                (CommissionDelivery::LaterSession, true) => {}
                _ => out.extend_from_slice(frame),
            }
        }
        out.extend(proto::frame(
            reply::EXECUTION_DETAILS_END,
            &proto::ExecutionDetailsEnd {
                req_id: Some(req_id),
            },
        ));
        out.extend(after);
        out
    }

    /// Frames answering a positions request.
    pub fn positions_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for h in self.holdings.values() {
            out.extend(proto::frame(
                reply::POSITION,
                &proto::Position {
                    account: Some(h.account.clone()),
                    contract: Some(encode::contract(&h.contract)),
                    position: Some(encode::qty(h.position)),
                    avg_cost: Some(h.avg_cost),
                },
            ));
        }
        out.extend(proto::frame(reply::POSITION_END, &proto::Empty {}));
        out
    }

    /// Frames answering an open-orders request: `client_id` limits them to that
    /// client's orders (`reqOpenOrders`), `None` reports all (`reqAllOpenOrders`).
    pub fn open_orders_reply(&self, client_id: Option<i32>) -> Vec<u8> {
        let mut out = Vec::new();
        for o in self.orders.iter().filter(|o| is_open(o)) {
            if client_id.is_some_and(|c| c != o.client_id) {
                continue;
            }
            out.extend(encode::open_order_frame(o));
            out.extend(encode::order_status_frame(o, None));
        }
        out.extend(proto::frame(
            reply::OPEN_ORDER_END,
            &proto::OpenOrdersEnd {},
        ));
        out
    }

    /// Frames answering a completed-orders request.
    pub fn completed_orders_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for o in self.orders.iter().filter(|o| !is_open(o)) {
            out.extend(encode::completed_order_frame(o));
        }
        out.extend(proto::frame(reply::COMPLETED_ORDERS_END, &proto::Empty {}));
        out
    }

    fn order_index(&self, client_id: i32, order_id: i32) -> Option<usize> {
        self.orders
            .iter()
            .rposition(|o| o.client_id == client_id && o.order_id == order_id)
    }

    /// Places (or modifies) an order for `client_id`: the frames to send now and, for a
    /// `partial` rule, the rest to fill after [`PARTIAL_REST_DELAY`].
    pub fn place(&mut self, client_id: i32, req: PlaceOrderRequest) -> (Vec<u8>, Option<Deferred>) {
        let order_id = req.order_id.unwrap_or(0);
        let wire = req.order.unwrap_or_default();
        let total: f64 = wire
            .total_quantity
            .as_deref()
            .and_then(|q| q.parse().ok())
            .unwrap_or(0.0);
        let action = wire.action.clone().unwrap_or_default();
        if total <= 0.0 || (action != "BUY" && action != "SELL") {
            let msg = "Order rejected - reason:the simulator needs a BUY or SELL action and a positive quantity";
            return (encode::error_frame(order_id, 201, msg), None);
        }
        if let Some(i) = self.order_index(client_id, order_id) {
            if !is_open(&self.orders[i]) {
                let msg = format!("Duplicate order id {order_id}");
                return (encode::error_frame(order_id, 103, &msg), None);
            }
            let o = &mut self.orders[i];
            o.total_quantity = total;
            o.limit_price = wire.lmt_price.or(o.limit_price);
            let mut out = encode::open_order_frame(o);
            out.extend(encode::order_status_frame(o, None));
            return (out, None);
        }
        let contract = self.contract_for(req.contract.unwrap_or_default());
        let account = wire
            .account
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| self.scenario.accounts[0].clone());
        self.next_order_id = self.next_order_id.max(order_id + 1);
        let order = SimOrder {
            order_id,
            client_id,
            perm_id: self.next_perm_id,
            account,
            action,
            total_quantity: total,
            order_type: wire.order_type.unwrap_or_else(|| "MKT".into()),
            limit_price: wire.lmt_price,
            aux_price: wire.aux_price,
            tif: wire.tif.unwrap_or_else(|| "DAY".into()),
            order_ref: wire.order_ref.filter(|r| !r.is_empty()),
            status: "Submitted".into(),
            filled: 0.0,
            avg_fill_price: 0.0,
            completed_time: None,
            completed_status: None,
            contract,
        };
        self.next_perm_id += 1;
        let rule = self.scenario.fill_rule(
            &order.contract.symbol,
            order.order_ref.as_deref().unwrap_or(""),
        );
        self.orders.push(order);
        let index = self.orders.len() - 1;
        if rule == FillRule::Reject {
            let o = &mut self.orders[index];
            o.status = "Inactive".into();
            o.completed_time = Some(Utc::now().format("%Y%m%d %H:%M:%S UTC").to_string());
            o.completed_status = Some("Rejected by the simulator's fill rule".into());
            let mut out = encode::error_frame(
                order_id,
                201,
                "Order rejected - reason:rejected by the simulator's fill rule",
            );
            out.extend(encode::order_status_frame(o, None));
            return (out, None);
        }
        let mut out = encode::open_order_frame(&self.orders[index]);
        out.extend(encode::order_status_frame(&self.orders[index], None));
        match rule {
            FillRule::Fill => {
                out.extend(self.fill(index, total));
                (out, None)
            }
            FillRule::Partial if total >= 2.0 => {
                let first = (total / 2.0).floor();
                out.extend(self.fill(index, first));
                let rest = Deferred {
                    client_id,
                    order_id,
                    shares: total - first,
                };
                (out, Some(rest))
            }
            FillRule::Partial => {
                out.extend(self.fill(index, total));
                (out, None)
            }
            FillRule::Never | FillRule::Reject => (out, None),
        }
    }

    /// Fills the deferred rest of a `partial` order, unless it was cancelled meanwhile.
    pub fn fill_deferred(&mut self, rest: &Deferred) -> Vec<u8> {
        match self.order_index(rest.client_id, rest.order_id) {
            Some(i) if is_open(&self.orders[i]) => self.fill(i, rest.shares),
            _ => Vec::new(),
        }
    }

    /// Cancels a working order of `client_id`.
    pub fn cancel(&mut self, client_id: i32, order_id: i32) -> Vec<u8> {
        match self.order_index(client_id, order_id) {
            Some(i) if is_open(&self.orders[i]) => {
                let o = &mut self.orders[i];
                o.status = "Cancelled".into();
                o.completed_time = Some(Utc::now().format("%Y%m%d %H:%M:%S UTC").to_string());
                o.completed_status = Some("Cancelled by Trader".into());
                let mut out = encode::order_status_frame(o, None);
                out.extend(encode::error_frame(
                    order_id,
                    202,
                    "Order Canceled - reason:",
                ));
                out
            }
            _ => encode::error_frame(
                order_id,
                10147,
                &format!("OrderId {order_id} that needs to be cancelled is not found."),
            ),
        }
    }

    /// One fill of `shares` for order `index`: execution, status, order, commission.
    fn fill(&mut self, index: usize, shares: f64) -> Vec<u8> {
        self.exec_seq += 1;
        let o = &self.orders[index];
        let price = match o.limit_price {
            Some(p) if o.order_type != "MKT" => p,
            _ => *self
                .scenario
                .prices
                .get(&o.contract.symbol)
                .unwrap_or(&100.0),
        };
        let filled = o.filled + shares;
        let avg = (o.avg_fill_price * o.filled + price * shares) / filled;
        let side = if o.action == "BUY" {
            Side::Bought
        } else {
            Side::Sold
        };
        let execution = SimExecution {
            exec_id: format!("0000f11b.{:08x}.01.01", self.exec_seq),
            account: o.account.clone(),
            order_id: o.order_id,
            client_id: o.client_id,
            perm_id: o.perm_id,
            order_ref: o.order_ref.clone(),
            contract: o.contract.clone(),
            side,
            shares,
            price,
            time: Utc::now().format("%Y%m%d-%H:%M:%S").to_string(),
            exchange: "ISLAND".into(),
            cum_qty: Some(filled),
            avg_price: Some(avg),
            commission: Some(SimCommission {
                amount: (shares * 0.005).max(1.0),
                currency: o.contract.currency.clone(),
                realized_pnl: None,
                delivery: CommissionDelivery::Inline,
            }),
        };
        let o = &mut self.orders[index];
        o.filled = filled;
        o.avg_fill_price = avg;
        if filled >= o.total_quantity {
            o.status = "Filled".into();
            o.completed_time = Some(Utc::now().format("%Y%m%d %H:%M:%S UTC").to_string());
            o.completed_status = Some("Filled".into());
        }
        let mut out = unsolicited_execution(&execution);
        out.extend(encode::order_status_frame(o, Some(price)));
        out.extend(encode::open_order_frame(o));
        out.extend(self.book_execution(&execution));
        out
    }

    /// Adds a fill to the book (positions and later executions answers) and returns its
    /// commission report frame, if it has one.
    fn book_execution(&mut self, execution: &SimExecution) -> Vec<u8> {
        self.hold(execution);
        self.record(execution);
        match self.executions.last().and_then(|e| e.commission.as_ref()) {
            Some((frame, _)) => frame.clone(),
            None => Vec::new(),
        }
    }

    /// A fill the gateway reports by itself (an order placed in TWS or by another client):
    /// booked, and the frames to push to the clients that receive it. An empty time is
    /// now; an exec id the book already has is not booked twice (`None`).
    pub fn live_fill(&mut self, mut execution: SimExecution) -> Option<Vec<u8>> {
        if self.known_exec_ids.contains(&execution.exec_id) {
            return None;
        }
        if execution.time.is_empty() {
            execution.time = Utc::now().format("%Y%m%d-%H:%M:%S").to_string();
        }
        self.exec_seq += 1;
        let mut out = unsolicited_execution(&execution);
        out.extend(self.book_execution(&execution));
        Some(out)
    }

    /// A made-up fill of a known contract for the demo's steady trickle: alternately
    /// bought and sold, its own order, reported as placed in TWS (client 0).
    pub fn demo_fill(&mut self) -> SimExecution {
        let n = self.exec_seq + 1;
        let contract = self
            .holdings
            .values()
            .map(|h| h.contract.clone())
            .nth((n as usize) % self.holdings.len().max(1))
            .unwrap_or_else(|| SimContract::stock(265598, "AAPL"));
        let price = *self.scenario.prices.get(&contract.symbol).unwrap_or(&100.0);
        let perm_id = self.next_perm_id;
        self.next_perm_id += 1;
        let shares = 10.0 * ((n % 5) + 1) as f64;
        SimExecution {
            exec_id: format!("0000d3e0.{perm_id:08x}.01.01"),
            account: self.scenario.accounts[(n as usize) % self.scenario.accounts.len()].clone(),
            order_id: 0,
            client_id: 0,
            perm_id,
            order_ref: None,
            side: if n.is_multiple_of(2) {
                Side::Sold
            } else {
                Side::Bought
            },
            shares,
            price: price + (n % 7) as f64 * 0.01,
            time: String::new(),
            exchange: "ISLAND".into(),
            cum_qty: None,
            avg_price: None,
            commission: Some(SimCommission {
                amount: (shares * 0.005).max(1.0),
                currency: contract.currency.clone(),
                realized_pnl: None,
                delivery: CommissionDelivery::Inline,
            }),
            contract,
        }
    }

    /// The scenario's fills to report as they happen.
    pub fn live_fills(&self) -> Vec<super::scenario::LiveFill> {
        self.scenario.live_fills.clone()
    }

    /// The period of the made-up fills, if any.
    pub fn live_every(&self) -> Option<Duration> {
        self.scenario
            .live_every_ms
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// The client that receives every client's order events, if the scenario names one.
    pub fn master_client_id(&self) -> Option<i32> {
        self.scenario.master_client_id
    }

    /// The full contract of a placed order: a known contract of the same symbol, or the
    /// order's own with defaults filled in.
    fn contract_for(&self, wire: proto::Contract) -> SimContract {
        let symbol = wire.symbol.clone().unwrap_or_default();
        let known = self
            .holdings
            .values()
            .map(|h| &h.contract)
            .chain(self.orders.iter().map(|o| &o.contract))
            .find(|c| c.symbol == symbol && wire.con_id.is_none_or(|id| id == 0 || id == c.con_id));
        if let Some(c) = known {
            return c.clone();
        }
        let mut c = SimContract::stock(
            wire.con_id
                .filter(|id| *id != 0)
                .unwrap_or_else(|| synthetic_con_id(&symbol)),
            &symbol,
        );
        if let Some(t) = wire.sec_type.filter(|s| !s.is_empty()) {
            c.sec_type = t;
        }
        if let Some(x) = wire.exchange.filter(|s| !s.is_empty()) {
            c.exchange = x;
        }
        if let Some(cur) = wire.currency.filter(|s| !s.is_empty()) {
            c.currency = cur;
        }
        c
    }
}

/// A stable made-up contract id for a symbol the scenario does not know.
fn synthetic_con_id(symbol: &str) -> i32 {
    let hash = symbol.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    (hash % 900_000_000) as i32 + 100_000_000
}

fn is_open(o: &SimOrder) -> bool {
    matches!(
        o.status.as_str(),
        "Submitted" | "PreSubmitted" | "PendingSubmit" | "PendingCancel" | "ApiPending"
    )
}

fn matches(e: &Served, f: &ExecutionFilter, since: Option<DateTime<Utc>>) -> bool {
    let text = |v: &Option<String>, actual: &str| {
        v.as_deref()
            .is_none_or(|v| v.is_empty() || v.eq_ignore_ascii_case(actual))
    };
    let side_ok = match f.side.as_deref() {
        Some("BUY") => e.side == Side::Bought,
        Some("SELL") => e.side == Side::Sold,
        _ => true,
    };
    f.client_id.is_none_or(|c| c == e.client_id)
        && text(&f.acct_code, &e.account)
        && text(&f.symbol, &e.symbol)
        && text(&f.sec_type, &e.sec_type)
        && text(&f.exchange, &e.exchange)
        && side_ok
        && match (since, e.at) {
            (Some(since), Some(at)) => at >= since,
            _ => true,
        }
}

/// The executions that count for positions: for each exec id base, its highest
/// revision (a correction replaces the execution it corrects), in scenario order.
fn effective(executions: &[SimExecution]) -> Vec<&SimExecution> {
    let mut best: HashMap<&str, (u32, usize)> = HashMap::new();
    for (i, e) in executions.iter().enumerate() {
        let (base, rev) = exec_revision(&e.exec_id);
        let slot = best.entry(base).or_insert((rev, i));
        if rev >= slot.0 {
            *slot = (rev, i);
        }
    }
    let mut keep: Vec<usize> = best.into_values().map(|(_, i)| i).collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &executions[i]).collect()
}

/// `ExecutionDetails` of a fill nobody asked for (request id -1), as the gateway pushes a
/// fill to the clients that follow its order.
fn unsolicited_execution(execution: &SimExecution) -> Vec<u8> {
    let body = encode::execution_body(execution);
    proto::frame(
        reply::EXECUTION_DETAILS,
        &proto::ExecutionDetails {
            req_id: Some(-1),
            contract: body.contract,
            execution: body.execution,
        },
    )
}
