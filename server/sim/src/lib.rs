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
mod error;
mod faults;
pub mod flex_ws;
mod generate;
mod live;
pub mod proto;
mod scenario;
mod session;

pub use book::PARTIAL_REST_DELAY;
pub use error::SimError;
pub use faults::Faults;
pub use scenario::{
    exec_revision, CommissionDelivery, FillRule, FillRuleEntry, LiveFill, Scenario, Side,
    SimCommission, SimContract, SimExecution, SimOrder, SimPosition,
};
pub use session::{MAX_SERVER_VERSION, MIN_SERVER_VERSION};

use crate::error::{Result, SimError as Error};
use session::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running simulator. Dropping it stops the listener and ends every connection.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Each restart bumps it, with how long the listener stays down.
    restarts: watch::Sender<(u64, Duration)>,
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

    /// Restarts the gateway as IB restarts its gateways daily: every connection ends, the
    /// port refuses connections for `down`, then listens again with the same book.
    pub fn restart(&self, down: Duration) {
        self.restarts.send_modify(|(n, d)| {
            *n += 1;
            *d = down;
        });
    }

    /// Pushes a fill the gateway reports by itself (see [`LiveFill`]) now, to the client its
    /// execution names and the master client. False when the book already has its exec id.
    pub fn emit_fill(&self, execution: SimExecution) -> bool {
        live::emit(&self.shared, execution)
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
    let shared = Arc::new(Shared::new(book::Book::new(scenario), faults));
    let (stop, stopped) = watch::channel(false);
    let (restarts, restarted) = watch::channel((0u64, Duration::ZERO));
    tokio::spawn(accept_loop(
        listener,
        addr,
        shared.clone(),
        stopped.clone(),
        restarted,
    ));
    tokio::spawn(live::run(shared.clone(), stopped));
    Ok(SimHandle {
        addr,
        shared,
        stop,
        restarts,
    })
}

/// Accepts connections until stopped; a restart ends every session, closes the port for
/// its down time and binds it again.
async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    mut restarted: watch::Receiver<(u64, Duration)>,
) {
    // Each session watches for restarts from the moment it is accepted.
    let kick = watch::Sender::new(0u64);
    let mut listener = listener;
    loop {
        let restart = tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        let serve = session::serve(stream, shared.clone(), stopped.clone(), kick.subscribe());
                        tokio::spawn(serve);
                    }
                    Err(e) => tracing::warn!("ib-sim: accept failed: {e}"),
                }
                None
            }
            changed = restarted.changed() => match changed {
                Ok(()) => Some(*restarted.borrow_and_update()),
                Err(_) => return, // the handle is gone
            },
            _ = stopped.changed() => return,
        };
        let Some((n, down)) = restart else {
            continue;
        };
        drop(listener);
        kick.send_replace(n);
        tracing::info!(
            "ib-sim: restarting; the port is closed for {} ms",
            down.as_millis()
        );
        tokio::time::sleep(down).await;
        match rebind(addr, &mut stopped).await {
            Some(again) => listener = again,
            None => return,
        }
    }
}

/// Binds `addr` again after a restart, retrying while the old socket lingers.
async fn rebind(addr: SocketAddr, stopped: &mut watch::Receiver<bool>) -> Option<TcpListener> {
    loop {
        match bind_loopback(addr.port()).await {
            Ok((listener, _)) => return Some(listener),
            Err(e) => tracing::warn!("ib-sim: cannot listen again yet: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = stopped.changed() => return None,
        }
    }
}
