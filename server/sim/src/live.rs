//! Fills the simulated gateway reports by itself while clients are connected: the
//! scenario's `live_fills` (each `after_ms` after the first client connected) and, when
//! `live_every_ms` is set, a made-up fill at that period (the demo). Each goes to the
//! client its execution names and to the master client, as IB pushes a fill of an order
//! placed in TWS or by another API client.

use super::session::Shared;
use super::SimExecution;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Books `execution` and pushes it to its client and the master client. False when the
/// book already had its exec id.
pub fn emit(shared: &Shared, execution: SimExecution) -> bool {
    let client_id = execution.client_id;
    let exec_id = execution.exec_id.clone();
    let Some(frames) = shared.book().live_fill(execution) else {
        return false;
    };
    tracing::info!("ib-sim: reporting fill {exec_id} of client {client_id} as it happens");
    shared.to_master(None, Some(client_id), &frames);
    true
}

/// Emits the scenario's live fills on time, then the periodic ones, until `stopped`.
pub async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let (mut fills, every) = {
        let book = shared.book();
        (book.live_fills(), book.live_every())
    };
    if fills.is_empty() && every.is_none() {
        return;
    }
    let mut first = shared.first_client.subscribe();
    tokio::select! {
        _ = first.wait_for(|connected| *connected) => {}
        _ = stopped.changed() => return,
    }
    let since = Instant::now();
    fills.sort_by_key(|f| f.after_ms);
    for fill in fills {
        let at = since + Duration::from_millis(fill.after_ms);
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stopped.changed() => return,
        }
        emit(&shared, fill.execution);
    }
    let Some(every) = every else {
        return;
    };
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let fill = shared.book().demo_fill();
        emit(&shared, fill);
    }
}
