//! The gateway client adapter: a thin layer over the `ibapi` async client with the
//! requests Fillbook makes (accounts, executions, positions, orders) and typed,
//! operator-actionable errors. The simulator in `fillbook_sim` speaks the same protocol.

mod client;
mod error;
mod requests;

pub use client::{
    ExecutionBatch, Gateway, IbConnectOptions, OrderNotice, OrderUpdates, PlaceOrderOutcome,
    PositionContract, PositionRow, DEFAULT_CONNECT_TIMEOUT, ORDER_QUIET, ORDER_WAIT,
    REQUEST_TIMEOUT,
};
pub use error::IbError;
pub use requests::execution_requests;
