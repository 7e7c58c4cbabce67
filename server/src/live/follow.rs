//! One connected live session: the gateway's order update stream written to the ledger as
//! it happens. Fills arrive as executions followed by their commission reports; a
//! micro-batch is written once every fill in it has its report or [`BATCH_WINDOW`] after
//! its first fill, through the same ledger writer as a sync (one transaction per batch,
//! idempotent). `ibapi` passes a connection only the order events of its own client id,
//! so fills of other clients and of TWS (which the gateway sends to its Master API client)
//! announce themselves by their commission reports alone: an unknown report, and every
//! [`FollowOptions::catch_up`] period, triggers a catch-up read of recent executions.

use super::lease::{self, Progress};
use crate::error::Result;
use crate::ib::{Gateway, IbError, OrderUpdates};
use crate::normalize::normalize_batch;
use crate::sync::trades::{apply_batch, KnownOrder, LedgerBatch};
use chrono::{DateTime, Utc};
use ibapi::orders::{CommissionReport, ExecutionData, ExecutionFilter, OrderUpdate};
use sea_orm::DatabaseConnection;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Longest a fill waits for its commission report before it is written without one (the
/// report then updates it).
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Fills kept to match commission reports that come after their batch was written.
const RECENT: usize = 10_000;
/// How far before the last catch-up read the next one starts (clock skew, late reports).
const CATCH_UP_OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

/// How one session runs.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub gateway: String,
    pub holder: String,
    pub lease: Duration,
    /// Period of the catch-up reads while connected.
    pub catch_up: Duration,
    pub time_zone: chrono_tz::Tz,
}

/// Why a session ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Shutdown,
    /// Another process holds the lease now.
    LeaseLost,
}

/// The fills waiting to be written.
#[derive(Default)]
struct Pending {
    executions: Vec<ExecutionData>,
    commissions: Vec<CommissionReport>,
    since: Option<Instant>,
}

impl Pending {
    fn complete(&self) -> bool {
        self.executions.iter().all(|e| {
            self.commissions
                .iter()
                .any(|c| c.execution_id == e.execution.execution_id)
        })
    }

    fn due(&self) -> Option<Instant> {
        self.since.map(|s| s + BATCH_WINDOW)
    }
}

/// Follows `gw` through its order update stream `updates` until shutdown, a lost lease or
/// a gateway error. The first catch-up read runs at once: it brings what happened between
/// the connection and the subscription.
pub async fn follow(
    db: &DatabaseConnection,
    gw: &Gateway,
    updates: OrderUpdates,
    opts: &FollowOptions,
    connected_at: DateTime<Utc>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Ended> {
    // The stream is drained by a task of its own: ibapi drops order events a consumer is too
    // slow for, and this loop waits on the database and on catch-up reads.
    let (tx, mut stream) = tokio::sync::mpsc::unbounded_channel();
    let _forwarder = AbortOnDrop(tokio::spawn(async move {
        let mut updates = updates;
        while let Some(item) = updates.next().await {
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                break;
            }
        }
    }));
    let mut st = Stream::default();
    let mut caught_up_from = connected_at - CATCH_UP_OVERLAP;
    let mut catch_up = tokio::time::interval(opts.catch_up);
    let mut renew = tokio::time::interval((opts.lease / 3).max(Duration::from_millis(100)));
    renew.tick().await;
    loop {
        let due = st.pending.due();
        let mut catch_up_now = false;
        tokio::select! {
            item = stream.recv() => {
                catch_up_now |= st.take(item)?;
                // Everything already waiting joins this batch: under load one write carries
                // many fills instead of falling behind one fill at a time.
                while let Ok(item) = stream.try_recv() {
                    catch_up_now |= st.take(Some(item))?;
                }
            }
            _ = sleep_until(due), if due.is_some() => {}
            _ = catch_up.tick() => catch_up_now = true,
            _ = renew.tick() => {
                if !lease::renew(db, &opts.gateway, &opts.holder, opts.lease, Utc::now()).await? {
                    return Ok(Ended::LeaseLost);
                }
            }
            _ = shutdown.changed() => return Ok(Ended::Shutdown),
        }
        if !st.pending.executions.is_empty()
            && (st.pending.complete() || st.pending.due().is_some_and(|d| d <= Instant::now()))
        {
            let batch = std::mem::take(&mut st.pending);
            write(db, opts, batch.executions, batch.commissions, &st.orders).await?;
        }
        if catch_up_now {
            let started = Utc::now();
            let since = caught_up_from.format("%Y%m%d-%H:%M:%S").to_string();
            let read = gw
                .executions(ExecutionFilter {
                    time: since,
                    ..ExecutionFilter::default()
                })
                .await?;
            // Commission reports of these fills that are still on their way find them here
            // instead of asking for another read.
            for e in &read.executions {
                st.remember(e);
            }
            write(db, opts, read.executions, read.commissions, &st.orders).await?;
            caught_up_from = started - CATCH_UP_OVERLAP;
        }
    }
}

/// What the session knows from its order update stream.
#[derive(Default)]
struct Stream {
    pending: Pending,
    /// Recent fills by exec id, to join late commission reports.
    recent: HashMap<String, ExecutionData>,
    recent_order: VecDeque<String>,
    orders: HashMap<i64, KnownOrder>,
}

impl Stream {
    fn remember(&mut self, e: &ExecutionData) {
        let id = e.execution.execution_id.clone();
        if self.recent.insert(id.clone(), e.clone()).is_none() {
            self.recent_order.push_back(id);
            while self.recent_order.len() > RECENT {
                if let Some(old) = self.recent_order.pop_front() {
                    self.recent.remove(&old);
                }
            }
        }
    }

    /// Takes one stream item; true when it announces a fill this session was not told
    /// about (another client's), which a catch-up read brings.
    fn take(&mut self, item: Option<std::result::Result<OrderUpdate, IbError>>) -> Result<bool> {
        let update = match item {
            None => {
                return Err(IbError::Disconnected {
                    operation: "following order updates".into(),
                }
                .into())
            }
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(update)) => update,
        };
        match update {
            OrderUpdate::ExecutionData(e) => {
                self.remember(&e);
                self.pending.executions.push(e);
                self.pending.since.get_or_insert_with(Instant::now);
            }
            OrderUpdate::CommissionReport(c) => {
                let pending_fill = self
                    .pending
                    .executions
                    .iter()
                    .any(|e| e.execution.execution_id == c.execution_id);
                if !pending_fill {
                    match self.recent.get(&c.execution_id) {
                        Some(e) => {
                            self.pending.executions.push(e.clone());
                            self.pending.since.get_or_insert_with(Instant::now);
                        }
                        None => return Ok(true),
                    }
                }
                self.pending.commissions.push(c);
            }
            OrderUpdate::OpenOrder(o) => {
                let known = KnownOrder::from_gateway(&o);
                self.orders.insert(known.perm_id, known);
            }
            OrderUpdate::OrderStatus(s) => {
                if let Some(o) = self.orders.get_mut(&s.perm_id) {
                    o.state = s.status.to_string();
                }
            }
            OrderUpdate::OrderBound(_) => {}
        }
        Ok(false)
    }
}

/// Aborts the task when dropped (the stream's forwarder ends with the session).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Normalises and writes one micro-batch; skipped records are logged with their raw
/// payload and counted on the session.
async fn write(
    db: &DatabaseConnection,
    opts: &FollowOptions,
    executions: Vec<ExecutionData>,
    commissions: Vec<CommissionReport>,
    orders: &HashMap<i64, KnownOrder>,
) -> Result<()> {
    if executions.is_empty() {
        return Ok(());
    }
    let normalized = normalize_batch(&executions, &commissions, opts.time_zone);
    for s in &normalized.skipped {
        tracing::warn!(reason = %s.reason, raw = %s.raw, "live: skipped a malformed execution");
    }
    let mut accounts: Vec<String> = Vec::new();
    for r in &normalized.executions {
        if !accounts.contains(&r.account_code) {
            accounts.push(r.account_code.clone());
        }
    }
    let last_fill_at = normalized.executions.iter().map(|r| r.executed_at).max();
    let known: Vec<KnownOrder> = orders.values().cloned().collect();
    let skipped = normalized.skipped.len() as i64;
    let outcome = apply_batch(
        db,
        LedgerBatch {
            accounts,
            rows: normalized.executions,
            orders: &known,
            knows_orders: false,
            source: Some(format!("live:{}", opts.gateway)),
            ..LedgerBatch::default()
        },
        Utc::now(),
    )
    .await?;
    let m = &outcome.metrics;
    if m.inserted_executions_count + m.updated_executions_count > 0 || skipped > 0 {
        tracing::info!(
            gateway = %opts.gateway,
            inserted = m.inserted_executions_count,
            updated = m.updated_executions_count,
            "live: fills written"
        );
        let progress = Progress {
            fills: m.inserted_executions_count as i64,
            last_fill_at: last_fill_at.filter(|_| m.inserted_executions_count > 0),
            skipped,
            ..Progress::default()
        };
        lease::record(db, &opts.gateway, &opts.holder, progress).await?;
    }
    Ok(())
}
