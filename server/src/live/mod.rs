//! Fills as they happen. In every worker process a supervisor follows each configured
//! gateway over a long-lived connection of its own (the gateway's client id +
//! [`LIVE_CLIENT_OFFSET`]) and writes each fill through the same idempotent ledger writer
//! as `trades.sync` ([`follow`]). Exactly one process follows a gateway: it holds the
//! gateway's lease in `live_sessions` and renews it; when it dies another process takes
//! over once the lease lapses ([`lease`]). When the gateway goes away (IB restarts its
//! gateways daily) the holder reconnects with capped backoff and, after every reconnect or
//! takeover, enqueues a `trades.sync` of that gateway to close the gap.

pub mod follow;
pub mod lease;

use crate::error::Result;
use crate::gateways::SyncSettings;
use crate::gateways::DEFAULT_GATEWAY;
use crate::ib::Gateway;
use crate::jobs::kinds;
use app::models::JobKind;
use chrono::Utc;
use lease::Progress;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The live connection's client id is the gateway's base client id plus this (a sync
/// uses +0, positions +1, orders +2). Set the gateway's "Master API client ID" to it so
/// fills of TWS and of other API clients reach Fillbook as they happen.
pub const LIVE_CLIENT_OFFSET: i32 = 3;
/// First and longest wait between reconnection attempts.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often the supervisor looks for added or removed gateways.
const RESCAN: Duration = Duration::from_secs(30);

/// How the live supervisor runs.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// This process, as lease holder (the worker id).
    pub holder: String,
    pub lease: Duration,
    pub catch_up: Duration,
    /// The command line's gateway (`default`).
    pub defaults: SyncSettings,
}

/// Follows every configured gateway until `shutdown` turns true, then releases the leases.
pub async fn supervise(
    db: DatabaseConnection,
    config: LiveConfig,
    shutdown: watch::Receiver<bool>,
) {
    let mut running = Followers::default();
    let mut stop = shutdown.clone();
    loop {
        match gateway_names(&db).await {
            Ok(names) => {
                running.0.retain(|name, task| {
                    let keep = names.contains(name) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for name in names {
                    running.0.entry(name.clone()).or_insert_with(|| {
                        tokio::spawn(run_gateway(
                            db.clone(),
                            config.clone(),
                            name,
                            shutdown.clone(),
                        ))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "live: cannot list the gateways; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RESCAN) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    for (_, task) in running.0.drain() {
        let _ = task.await;
    }
}

/// The per-gateway tasks of a supervisor; dropped with it (a supervisor that is dropped
/// leaves no follower behind).
#[derive(Default)]
struct Followers(HashMap<String, JoinHandle<()>>);

impl Drop for Followers {
    fn drop(&mut self) {
        for task in self.0.values() {
            task.abort();
        }
    }
}

async fn gateway_names(db: &DatabaseConnection) -> Result<Vec<String>> {
    let mut names = vec![DEFAULT_GATEWAY.to_string()];
    names.extend(crate::gateways::list(db).await?.into_iter().map(|g| g.name));
    Ok(names)
}

/// One gateway: wait for its lease, connect, follow, reconnect; release on shutdown.
async fn run_gateway(
    db: DatabaseConnection,
    config: LiveConfig,
    name: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let holder = config.holder.clone();
    let poll = (config.lease / 3).max(Duration::from_millis(100));
    let mut backoff = BACKOFF_START;
    // Whether the next connection must close a gap with a sync: after a lost connection,
    // and after taking over from a holder that died.
    let mut gap = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let acquired = lease::acquire(&db, &name, &holder, config.lease, Utc::now()).await;
        let took_over = match acquired {
            Ok(a) if a.held => a.taken_over_from.is_some(),
            Ok(_) => {
                if pause(&mut shutdown, poll).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(gateway = %name, error = %e, "live: cannot take the lease");
                if pause(&mut shutdown, poll).await {
                    break;
                }
                continue;
            }
        };
        if took_over {
            tracing::warn!(gateway = %name, "live: took over a lapsed subscription");
            gap = true;
        }
        match session(&db, &config, &name, &mut shutdown, &mut gap).await {
            Ok(Some(follow::Ended::Shutdown)) => break,
            Ok(Some(follow::Ended::LeaseLost)) => {
                tracing::warn!(gateway = %name, "live: lost the lease to another process");
                gap = false;
                backoff = BACKOFF_START;
            }
            Ok(None) => {
                // Could not connect: wait, keeping the lease alive.
                if wait_holding(&db, &config, &name, &mut shutdown, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e) => {
                gap = true;
                tracing::warn!(gateway = %name, error = %e, "live: the session ended; reconnecting");
                let note = Progress {
                    connected_since: Some(None),
                    error: Some(Some(e.to_string())),
                    ..Progress::default()
                };
                let _ = lease::record(&db, &name, &holder, note).await;
                backoff = BACKOFF_START;
                if wait_holding(&db, &config, &name, &mut shutdown, backoff).await {
                    break;
                }
            }
        }
    }
    if let Err(e) = lease::release(&db, &name, &holder).await {
        tracing::warn!(gateway = %name, error = %e, "live: could not release the lease");
    }
}

/// Connects and follows one session; once connected, enqueues the sync that closes a
/// pending `gap`. `Ok(None)`: the gateway could not be reached.
async fn session(
    db: &DatabaseConnection,
    config: &LiveConfig,
    name: &str,
    shutdown: &mut watch::Receiver<bool>,
    gap: &mut bool,
) -> Result<Option<follow::Ended>> {
    let settings = crate::gateways::resolve(db, Some(name), &config.defaults).await?;
    let mut options = settings.connect_options();
    options.client_id = settings.client_id.saturating_add(LIVE_CLIENT_OFFSET);
    let gw = match Gateway::connect(&options).await {
        Ok(gw) => gw,
        Err(e) => {
            let note = Progress {
                connected_since: Some(None),
                error: Some(Some(e.to_string())),
                ..Progress::default()
            };
            lease::record(db, name, &config.holder, note).await?;
            tracing::info!(gateway = %name, error = %e, "live: gateway unreachable");
            return Ok(None);
        }
    };
    let connected_at = Utc::now();
    let updates = match gw.order_updates().await {
        Ok(updates) => updates,
        Err(e) => {
            gw.disconnect().await;
            return Err(e.into());
        }
    };
    tracing::info!(gateway = %name, client_id = options.client_id, "live: following fills");
    let note = Progress {
        connected_since: Some(Some(connected_at)),
        client_id: Some(options.client_id),
        reconnected: *gap,
        error: Some(None),
        ..Progress::default()
    };
    lease::record(db, name, &config.holder, note).await?;
    if *gap {
        let payload = match name {
            DEFAULT_GATEWAY => serde_json::json!({}),
            other => serde_json::json!({ "gateway": other }),
        };
        let job = crate::jobs::Queue::default()
            .enqueue(db, kinds::unique_job(JobKind::TradesSync, payload))
            .await?;
        tracing::info!(gateway = %name, job = job.job.id, "live: enqueued a sync to close the gap");
        *gap = false;
    }
    let opts = follow::FollowOptions {
        gateway: name.to_string(),
        holder: config.holder.clone(),
        lease: config.lease,
        catch_up: config.catch_up,
        time_zone: settings.time_zone,
    };
    let ended = follow::follow(db, &gw, updates, &opts, connected_at, shutdown).await;
    gw.disconnect().await;
    ended.map(Some)
}

/// Waits `delay` (renewing the lease meanwhile); true when shutdown came first.
async fn wait_holding(
    db: &DatabaseConnection,
    config: &LiveConfig,
    name: &str,
    shutdown: &mut watch::Receiver<bool>,
    delay: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + delay;
    let step = (config.lease / 3).max(Duration::from_millis(100));
    while tokio::time::Instant::now() < until {
        let _ = lease::renew(db, name, &config.holder, config.lease, Utc::now()).await;
        let left = until - tokio::time::Instant::now();
        if pause(shutdown, step.min(left)).await {
            return true;
        }
    }
    false
}

/// Sleeps `d`; true when shutdown came first.
async fn pause(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.wait_for(|s| *s) => true,
    }
}
