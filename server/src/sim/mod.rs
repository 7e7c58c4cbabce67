//! A simulated IB Gateway: a TCP server on loopback speaking the protobuf TWS protocol
//! that `ibapi` 5.5.0 uses, driven by a [`Scenario`] (accounts, executions with
//! corrections and late commissions, positions, open and completed orders, fill rules
//! for placed orders) and by injectable [`Faults`]. Tests, benchmarks, the demo and
//! `fillbook ib-sim` all talk to IB through it; nothing above the socket is mocked.
//!
//! The message layouts in [`proto`] follow the official
//! TWS API `.proto` files as compiled into `ibapi` 5.5.0 (MIT licence, © Wil Boayue).
//!
//! Behaviour worth knowing: every connection sees every execution (as IB's Master API
//! client does), narrowed only by the request's filter; the gateway's trade-log window is
//! not modelled (all scenario executions are served); faults are taken per connection
//! when it is accepted.

mod book;
mod demo;
mod encode;
mod faults;
pub mod flex_ws;
mod generate;
pub mod proto;
mod scenario;
mod session;

pub use book::PARTIAL_REST_DELAY;
pub use faults::Faults;
pub use scenario::{
    exec_revision, CommissionDelivery, FillRule, FillRuleEntry, Scenario, Side, SimCommission,
    SimContract, SimExecution, SimOrder, SimPosition,
};
pub use session::{MAX_SERVER_VERSION, MIN_SERVER_VERSION};

use crate::error::{Error, Result};
use session::Shared;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running simulator. Dropping it stops the listener and ends every connection.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl SimHandle {
    /// The loopback port the simulator listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the faults applied to connections accepted from now on.
    pub fn set_faults(&self, faults: Faults) {
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// The faults new connections get.
    pub fn faults(&self) -> Faults {
        self.shared
            .faults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops the listener and ends every connection (as dropping the handle does).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts a simulator for `scenario` on a free loopback port. `faults` apply to every
/// connection (the scenario's own `faults` field is not consulted: merge it first).
pub async fn start(scenario: Scenario, faults: Faults) -> Result<SimHandle> {
    start_on(scenario, faults, 0).await
}

/// A listener on 127.0.0.1:`port` (0 = any free one) and the address it got.
pub(crate) async fn bind_loopback(port: u16) -> Result<(TcpListener, SocketAddr)> {
    let bind = SocketAddr::from(([127, 0, 0, 1], port));
    let bind_error = |e: std::io::Error| Error::Bind {
        addr: bind.to_string(),
        reason: e.to_string(),
    };
    let listener = TcpListener::bind(bind).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr))
}

/// [`start`] on a given loopback port (0 = any free one).
pub async fn start_on(scenario: Scenario, faults: Faults, port: u16) -> Result<SimHandle> {
    scenario.validate()?;
    let (listener, addr) = bind_loopback(port).await?;
    let shared = Arc::new(Shared {
        book: Mutex::new(book::Book::new(scenario)),
        faults: RwLock::new(faults),
        sessions: AtomicU64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let accept_shared = shared.clone();
    let mut accept_stop = stopped.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(session::serve(stream, accept_shared.clone(), stopped.clone()));
                    }
                    Err(e) => tracing::warn!("ib-sim: accept failed: {e}"),
                },
                _ = accept_stop.changed() => break,
            }
        }
    });
    Ok(SimHandle { addr, shared, stop })
}
