//! [`Gateway`]: one session with IB Gateway over the `ibapi` async client, with the
//! few requests Fillbook makes, each drained to completion and mapped to [`IbError`].
//!
//! A session does not reconnect by itself: a dropped socket fails the request in flight
//! with [`IbError::Disconnected`], and the caller (a sync job) connects again.

use super::error::IbError;
use futures::StreamExt;
use ibapi::accounts::PositionUpdate;
use ibapi::contracts::Contract;
use ibapi::orders::{
    CommissionReport, ExecutionData, ExecutionFilter, Executions, Order, OrderData, OrderUpdate,
    Orders, PlaceOrder,
};
use ibapi::subscriptions::SubscriptionItem;
use ibapi::Client;
use std::time::Duration;
use tokio::time::Instant;

/// Longest wait for a one-shot answer or a drained list (executions, orders, positions).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `place_order` listens without news before it reports a working order.
pub const ORDER_QUIET: Duration = Duration::from_millis(500);
/// Longest `place_order` waits in total.
pub const ORDER_WAIT: Duration = Duration::from_secs(5);
/// Per-request buffer of the client, in messages. The client decodes more slowly than
/// the socket delivers, so a large executions answer queues up; a consumer this far
/// behind loses messages, which is reported as [`IbError::Overrun`], never silently.
/// 65 536 drains 100k executions with their commission reports even in a debug build;
/// each open request preallocates about 6 MB for it.
const CHANNEL_CAPACITY: usize = 65_536;
/// The buffer of a read-only (sync) connection: a sync normalises on a second thread while
/// the answer streams in, so on two cores the reader can fall further behind (measured: a
/// 1,000,000-execution answer overran 65 536). About 24 MB preallocated per open request.
const BULK_CHANNEL_CAPACITY: usize = 262_144;

/// Where the gateway is and who we are to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbConnectOptions {
    pub host: String,
    pub port: u16,
    pub client_id: i32,
    pub connect_timeout: Duration,
    /// The zone of the gateway host: executions in the legacy zoneless time form are its
    /// local time.
    pub time_zone: chrono_tz::Tz,
}

/// How long a connection waits for the gateway's handshake unless told otherwise (the
/// one default of the CLI, the jobs and the live sessions).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl IbConnectOptions {
    /// Options with the default connect timeout.
    pub fn new(host: impl Into<String>, port: u16, client_id: i32) -> Self {
        Self {
            host: host.into(),
            port,
            client_id,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            time_zone: chrono_tz::UTC,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Every execution and commission report of one executions request, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct ExecutionBatch {
    pub executions: Vec<ExecutionData>,
    pub commissions: Vec<CommissionReport>,
}

/// The contract fields of a position Fillbook keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionContract {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub currency: String,
}

/// One position as the gateway reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    pub account: String,
    pub contract: PositionContract,
    pub position: f64,
    pub avg_cost: f64,
}

/// A gateway error reported for a placed order (e.g. 201 rejected).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNotice {
    pub code: i32,
    pub message: String,
}

/// What the gateway said about a placed order until it settled.
#[derive(Debug, Clone, Default)]
pub struct PlaceOrderOutcome {
    pub order_id: i32,
    /// Last status (`Submitted`, `Filled`, `Cancelled`, `Inactive`, …), if any arrived.
    pub status: Option<String>,
    pub perm_id: i64,
    pub filled: f64,
    pub remaining: f64,
    pub avg_fill_price: Option<f64>,
    /// The last `OpenOrder` description.
    pub open_order: Option<OrderData>,
    pub executions: Vec<ExecutionData>,
    pub commissions: Vec<CommissionReport>,
    /// The rejection, when the gateway refused the order.
    pub rejection: Option<OrderNotice>,
}

impl PlaceOrderOutcome {
    /// True once the order can change no more (filled, cancelled, inactive, rejected).
    pub fn is_final(&self) -> bool {
        self.rejection.is_some()
            || matches!(
                self.status.as_deref(),
                Some("Filled" | "Cancelled" | "ApiCancelled" | "Inactive")
            )
    }

    fn commissions_complete(&self) -> bool {
        self.executions.iter().all(|e| {
            self.commissions
                .iter()
                .any(|c| c.execution_id == e.execution.execution_id)
        })
    }
}

/// One connected session with IB Gateway.
pub struct Gateway {
    client: Client,
    addr: String,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .field("client_id", &self.client.client_id())
            .finish()
    }
}

/// Client ids a read-only job tries when the first is in use.
pub const READ_ONLY_CLIENT_ID_TRIES: i32 = 4;

impl Gateway {
    /// Connects and completes the handshake within `opts.connect_timeout`.
    pub async fn connect(opts: &IbConnectOptions) -> Result<Gateway, IbError> {
        Gateway::connect_buffered(opts, CHANNEL_CAPACITY).await
    }

    async fn connect_buffered(
        opts: &IbConnectOptions,
        capacity: usize,
    ) -> Result<Gateway, IbError> {
        let addr = opts.addr();
        let secs = opts.connect_timeout.as_secs().max(1);
        let connecting = Client::builder()
            .address(addr.clone())
            .client_id(opts.client_id)
            .max_reconnect_attempts(0)
            .channel_capacity(capacity)
            .one_shot_timeout(REQUEST_TIMEOUT)
            .connect();
        let client = match tokio::time::timeout(opts.connect_timeout, connecting).await {
            Err(_) => return Err(IbError::ConnectTimeout { addr, secs }),
            Ok(Err(e)) => return Err(connect_error(addr, secs, e)),
            Ok(Ok(client)) => client,
        };
        tracing::debug!(
            "connected to IB Gateway at {addr} (server version {})",
            client.server_version()
        );
        Ok(Gateway { client, addr })
    }

    /// Connects for a read-only job (a sync): when another session holds the client id —
    /// two workers syncing the same gateway at once — tries `client_id + 10`, `+ 20`, …
    /// ([`READ_ONLY_CLIENT_ID_TRIES`] in all). Orders never use this: an order belongs to the
    /// client id that placed it.
    pub async fn connect_read_only(opts: &IbConnectOptions) -> Result<Gateway, IbError> {
        let mut attempt = opts.clone();
        for k in 1..READ_ONLY_CLIENT_ID_TRIES {
            match Gateway::connect_buffered(&attempt, BULK_CHANNEL_CAPACITY).await {
                Err(IbError::ClientIdInUse { client_id, .. }) => {
                    tracing::info!(client_id, "client id in use; trying the next one");
                    attempt.client_id = opts.client_id + 10 * k;
                }
                other => return other,
            }
        }
        Gateway::connect_buffered(&attempt, BULK_CHANNEL_CAPACITY).await
    }

    /// `host:port` of the gateway.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The protocol version the gateway announced.
    pub fn server_version(&self) -> i32 {
        self.client.server_version()
    }

    /// The accounts this login manages (asks the gateway again).
    pub async fn managed_accounts(&self) -> Result<Vec<String>, IbError> {
        self.client
            .managed_accounts()
            .await
            .map_err(|e| IbError::from_ibapi("listing managed accounts", e))
    }

    /// Executions matching `filter`, with the commission reports that arrive before the
    /// end marker, collected (see [`Gateway::each_execution`] to stream them instead).
    pub async fn executions(&self, filter: ExecutionFilter) -> Result<ExecutionBatch, IbError> {
        let mut batch = ExecutionBatch::default();
        self.each_execution(filter, |item| {
            match item {
                Executions::ExecutionData(e) => batch.executions.push(e),
                Executions::CommissionReport(c) => batch.commissions.push(c),
            }
            Ok::<(), IbError>(())
        })
        .await?;
        Ok(batch)
    }

    /// [`Gateway::each_execution`] for each of `requests`, one after another (see
    /// [`super::execution_requests`]); the first failure ends the read.
    pub async fn each_execution_of<E: From<IbError>>(
        &self,
        requests: Vec<ExecutionFilter>,
        mut each: impl FnMut(Executions) -> Result<(), E>,
    ) -> Result<(), E> {
        for filter in requests {
            self.each_execution(filter, &mut each).await?;
        }
        Ok(())
    }

    /// Hands every execution matching `filter`, and every commission report that arrives
    /// before the end marker, to `each` in the order they arrive, so a caller can write
    /// them out instead of holding them. The client's channel does not push back on the
    /// socket, so `each` must keep up (no database round trips). The whole request shares
    /// one [`REQUEST_TIMEOUT`]. A connection lost before the end marker is an error; a
    /// stream that just stops is caught by the caller's next request.
    pub async fn each_execution<E: From<IbError>>(
        &self,
        filter: ExecutionFilter,
        mut each: impl FnMut(Executions) -> Result<(), E>,
    ) -> Result<(), E> {
        const OP: &str = "reading executions";
        let mut sub = self
            .client
            .executions(filter)
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let item = next_before(&mut sub, deadline, OP).await?;
            match item {
                Some(Ok(SubscriptionItem::Data(data))) => each(data)?,
                Some(Ok(SubscriptionItem::Notice(n))) => {
                    check_lag(OP, &n)?;
                    tracing::info!("IB notice while {OP}: {} {}", n.code, n.message);
                }
                Some(Err(e)) => return Err(IbError::from_ibapi(OP, e).into()),
                None => return Ok(()),
            }
        }
    }

    /// Every position of every managed account.
    pub async fn positions(&self) -> Result<Vec<PositionRow>, IbError> {
        const OP: &str = "reading positions";
        let mut sub = self
            .client
            .positions()
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        let mut rows = Vec::new();
        loop {
            let item = next_before(&mut sub, deadline, OP).await?;
            match item {
                Some(Ok(SubscriptionItem::Data(PositionUpdate::Position(p)))) => {
                    rows.push(PositionRow {
                        account: p.account,
                        contract: PositionContract {
                            con_id: p.contract.contract_id,
                            symbol: p.contract.symbol.to_string(),
                            sec_type: p.contract.security_type.to_string(),
                            exchange: p.contract.exchange.to_string(),
                            currency: p.contract.currency.to_string(),
                        },
                        position: p.position,
                        avg_cost: p.average_cost,
                    })
                }
                Some(Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd))) => break,
                Some(Ok(SubscriptionItem::Notice(n))) => {
                    check_lag(OP, &n)?;
                    tracing::info!("IB notice while {OP}: {} {}", n.code, n.message);
                }
                Some(Err(e)) => return Err(IbError::from_ibapi(OP, e)),
                None => {
                    return Err(IbError::Disconnected {
                        operation: OP.into(),
                    })
                }
            }
        }
        sub.cancel().await;
        Ok(rows)
    }

    /// Every working order of every client (`reqAllOpenOrders`).
    pub async fn open_orders(&self) -> Result<Vec<OrderData>, IbError> {
        const OP: &str = "reading open orders";
        let mut sub = self
            .client
            .all_open_orders()
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let rows = sub
            .collect_to_end_within(REQUEST_TIMEOUT)
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        Ok(order_data(rows))
    }

    /// Orders that reached a final state, of every client.
    pub async fn completed_orders(&self) -> Result<Vec<OrderData>, IbError> {
        const OP: &str = "reading completed orders";
        let mut sub = self
            .client
            .completed_orders(false)
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let rows = sub
            .collect_to_end_within(REQUEST_TIMEOUT)
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        Ok(order_data(rows))
    }

    /// The next order id the gateway accepts from this client (asks the gateway).
    pub async fn next_order_id(&self) -> Result<i32, IbError> {
        self.client
            .next_valid_order_id()
            .await
            .map_err(|e| IbError::from_ibapi("asking for the next order id", e))
    }

    /// Places `order` and collects what the gateway reports about it: `OpenOrder`,
    /// `OrderStatus`, fills and their commission reports. Returns once the order is final
    /// (filled / cancelled / inactive / rejected) with a commission report for every fill,
    /// or after [`ORDER_QUIET`] without news (a working order), or after [`ORDER_WAIT`].
    /// A rejection is an outcome (`rejection`), not an error.
    pub async fn place_order(
        &self,
        order_id: i32,
        contract: &Contract,
        order: &Order,
    ) -> Result<PlaceOrderOutcome, IbError> {
        const OP: &str = "placing an order";
        let mut sub = self
            .client
            .place_order(order_id, contract, order)
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let mut out = PlaceOrderOutcome {
            order_id,
            ..Default::default()
        };
        let deadline = Instant::now() + ORDER_WAIT;
        loop {
            if out.is_final() && out.commissions_complete() {
                break;
            }
            let wait = (Instant::now() + ORDER_QUIET).min(deadline);
            let item = match tokio::time::timeout_at(wait, sub.next()).await {
                Err(_) => break,
                Ok(item) => item,
            };
            match item {
                Some(Ok(SubscriptionItem::Data(update))) => match update {
                    PlaceOrder::OrderStatus(s) => {
                        out.status = Some(s.status.to_string());
                        out.perm_id = s.perm_id;
                        out.filled = s.filled;
                        out.remaining = s.remaining;
                        out.avg_fill_price = s.average_fill_price;
                    }
                    PlaceOrder::OpenOrder(o) => out.open_order = Some(o),
                    PlaceOrder::ExecutionData(e) => out.executions.push(e),
                    PlaceOrder::CommissionReport(c) => out.commissions.push(c),
                },
                Some(Ok(SubscriptionItem::Notice(n))) => {
                    check_lag(OP, &n)?;
                    tracing::info!("IB notice for order {order_id}: {} {}", n.code, n.message);
                }
                Some(Err(ibapi::Error::Notice(n))) => {
                    out.rejection = Some(OrderNotice {
                        code: n.code,
                        message: n.message,
                    });
                    break;
                }
                Some(Err(e)) => return Err(IbError::from_ibapi(OP, e)),
                None => {
                    return Err(IbError::Disconnected {
                        operation: OP.into(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Asks the gateway to cancel a working order. An unknown or finished order is an
    /// [`IbError::Gateway`] (e.g. code 10147).
    pub async fn cancel_order(&self, order_id: i32) -> Result<(), IbError> {
        const OP: &str = "cancelling an order";
        let mut sub = self
            .client
            .cancel_order(order_id, "")
            .await
            .map_err(|e| IbError::from_ibapi(OP, e))?;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let item = next_before(&mut sub, deadline, OP).await?;
            match item {
                Some(Ok(SubscriptionItem::Data(ibapi::orders::CancelOrder::OrderStatus(s))))
                    if s.status.is_terminal() =>
                {
                    return Ok(())
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(IbError::from_ibapi(OP, e)),
                None => {
                    return Err(IbError::Disconnected {
                        operation: OP.into(),
                    })
                }
            }
        }
    }

    /// Every order event of this session from now on: order status, open orders, fills
    /// and commission reports, including those that come after an executions request's
    /// end marker. Only one order update stream can be open per session.
    pub async fn order_updates(&self) -> Result<OrderUpdates, IbError> {
        let sub = self
            .client
            .order_update_stream()
            .await
            .map_err(|e| IbError::from_ibapi(OrderUpdates::OP, e))?;
        Ok(OrderUpdates { sub })
    }

    /// Closes the session.
    pub async fn disconnect(self) {
        self.client.disconnect().await;
    }
}

/// The session's order events (see [`Gateway::order_updates`]).
pub struct OrderUpdates {
    sub: ibapi::subscriptions::Subscription<OrderUpdate>,
}

impl OrderUpdates {
    const OP: &'static str = "following order updates";

    /// The next event; `None` once the session has ended cleanly. Gateway notices are
    /// logged and skipped; a lost connection or a lag is an error.
    pub async fn next(&mut self) -> Option<Result<OrderUpdate, IbError>> {
        loop {
            match self.sub.next().await? {
                Ok(SubscriptionItem::Data(update)) => return Some(Ok(update)),
                Ok(SubscriptionItem::Notice(n)) => {
                    if let Err(e) = check_lag(Self::OP, &n) {
                        return Some(Err(e));
                    }
                    tracing::info!(
                        "IB notice on the order update stream: {} {}",
                        n.code,
                        n.message
                    );
                }
                Err(e) => return Some(Err(IbError::from_ibapi(Self::OP, e))),
            }
        }
    }
}

fn order_data(rows: Vec<Orders>) -> Vec<OrderData> {
    rows.into_iter()
        .filter_map(|r| match r {
            Orders::OrderData(d) => Some(d),
            Orders::OrderStatus(_) => None,
        })
        .collect()
}

/// A lag notice means the client dropped messages: never continue silently.
/// The next item of a request's subscription, or [`IbError::Timeout`] once the request's
/// `deadline` has passed.
async fn next_before<S: futures::Stream + Unpin>(
    sub: &mut S,
    deadline: Instant,
    operation: &str,
) -> Result<Option<S::Item>, IbError> {
    tokio::time::timeout_at(deadline, sub.next())
        .await
        .map_err(|_| IbError::Timeout {
            operation: operation.into(),
            secs: REQUEST_TIMEOUT.as_secs(),
        })
}

fn check_lag(operation: &str, notice: &ibapi::Notice) -> Result<(), IbError> {
    if notice.code == ibapi::SUBSCRIPTION_LAG_CODE {
        return Err(IbError::from_ibapi(
            operation,
            ibapi::Error::Notice(notice.clone()),
        ));
    }
    Ok(())
}

fn connect_error(addr: String, secs: u64, err: ibapi::Error) -> IbError {
    use ibapi::Error as E;
    use std::io::ErrorKind as K;
    match err {
        E::Io(io) if io.kind() == K::ConnectionRefused => IbError::ConnectionRefused { addr, secs },
        E::Io(io)
            if matches!(
                io.kind(),
                K::UnexpectedEof | K::ConnectionReset | K::BrokenPipe
            ) =>
        {
            IbError::HandshakeRejected {
                addr,
                reason: format!("the gateway closed the socket ({io})"),
            }
        }
        E::Io(io) => IbError::ConnectFailed {
            addr,
            reason: io.to_string(),
        },
        E::ConnectionRejected(reason) => IbError::HandshakeRejected { addr, reason },
        E::ServerVersion(required, found, _) => IbError::UnsupportedServerVersion {
            addr,
            required,
            found,
        },
        E::ClientIdInUse { client_id } => IbError::ClientIdInUse { addr, client_id },
        other => IbError::from_ibapi(&format!("connecting to {addr}"), other),
    }
}
