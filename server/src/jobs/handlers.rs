//! The handlers a worker registers, in one place: [`registry`] maps each job kind to the
//! function that runs it.

use crate::jobs::kinds::{self, SyncSettings};
use crate::jobs::worker::{HandlerRegistry, JobContext};
use serde_json::{json, Value};

/// The handlers of this build. `settings` are the gateway defaults that a sync job's payload
/// overrides. The test hook [`kinds::TEST_NOOP`] is registered only when
/// `FILLBOOK_TEST_JOBS=1`.
pub fn registry(settings: SyncSettings) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    let defaults = settings.clone();
    registry.register(kinds::POSITIONS_SYNC, move |ctx| {
        let defaults = defaults.clone();
        async move {
            let (ib, _) = job_session(&ctx, &defaults, 1)?;
            let metrics = crate::sync::positions::sync_positions_once(&ctx.db, &ib)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(metrics).map_err(|e| e.to_string())
        }
    });
    let defaults = settings.clone();
    registry.register(kinds::TRADES_SYNC, move |ctx| {
        let defaults = defaults.clone();
        async move {
            let (ib, s) = job_session(&ctx, &defaults, 0)?;
            let metrics = crate::sync::trades::sync_trades_once(&ctx.db, &ib, s.lookback_days)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(metrics).map_err(|e| e.to_string())
        }
    });
    let defaults = settings.clone();
    registry.register(kinds::ORDERS_SUBMIT, move |ctx| {
        let defaults = defaults.clone();
        async move {
            let (ib, _) = job_session(&ctx, &defaults, 2)?;
            crate::orders::worker::submit_queued(&ctx.db, &ib)
                .await
                .map_err(|e| e.to_string())
        }
    });
    registry.register(kinds::FLEX_IMPORT, |ctx| async move {
        let id = kinds::parse_import_payload(&ctx.job.payload).map_err(|e| e.to_string())?;
        crate::imports::run(&ctx.db, id).await
    });
    if test_jobs_enabled() {
        registry.register(kinds::TEST_NOOP, noop);
    }
    registry
}

/// Whether the test hook kinds are enabled in this process.
pub fn test_jobs_enabled() -> bool {
    std::env::var(kinds::TEST_JOBS_ENV).is_ok_and(|v| v == "1")
}

/// The settings a sync job runs with: `defaults` with the job's payload overrides applied.
pub fn sync_settings(ctx: &JobContext, defaults: &SyncSettings) -> Result<SyncSettings, String> {
    let overrides = kinds::parse_sync_payload(&ctx.job.payload).map_err(|e| e.to_string())?;
    Ok(defaults.with_overrides(&overrides))
}

/// [`kinds::TEST_NOOP`]: succeeds at once, reporting which worker attempt ran it.
pub async fn noop(ctx: JobContext) -> Result<Value, String> {
    Ok(json!({ "attempt": ctx.job.attempt, "worker": ctx.job.attempted_by }))
}

/// Gateway connect options of a sync run.
pub fn connect_options(s: &SyncSettings) -> crate::ib::IbConnectOptions {
    crate::ib::IbConnectOptions {
        host: s.host.clone(),
        port: s.port,
        client_id: s.client_id,
        connect_timeout: s.connect_timeout,
    }
}

/// The connection of one job: the settings with the job's payload overrides, and unless
/// the payload names a `client_id`, the configured client id plus a fixed offset per kind
/// (trades.sync +0, positions.sync +1, orders.submit +2), so jobs of different kinds can run
/// at once without IB refusing a duplicate client id (error 326).
fn job_session(
    ctx: &JobContext,
    defaults: &SyncSettings,
    offset: i32,
) -> Result<(crate::ib::IbConnectOptions, SyncSettings), String> {
    let settings = sync_settings(ctx, defaults)?;
    let mut options = connect_options(&settings);
    if ctx.job.payload.get("client_id").is_none() {
        options.client_id = settings.client_id.saturating_add(offset);
    }
    Ok((options, settings))
}
