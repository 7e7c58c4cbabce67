//! The handlers a worker registers, in one place: [`registry`] maps each job kind to the
//! function that runs it.

use crate::flex::web::FlexWebOptions;
use crate::gateways::SyncSettings;
use crate::jobs::kinds;
use crate::jobs::worker::{HandlerRegistry, JobContext, JobFailure};
use serde_json::Value;

/// The handlers of this build, with the Flex Web Service at IB's address.
pub fn registry(settings: SyncSettings) -> HandlerRegistry {
    registry_with_flex(settings, FlexWebOptions::default())
}

/// The handlers of this build. `settings` are the gateway defaults that a sync job's payload
/// overrides; `flex` is how `flex.fetch` reaches the Flex Web Service. The test hook
/// [`kinds::TEST_NOOP`] is registered only in a build with the `bench` feature (the benchmarks and
/// drills measure the queue with it) and only when `FILLBOOK_TEST_JOBS=1`.
pub fn registry_with_flex(settings: SyncSettings, flex: FlexWebOptions) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register_classified(kinds::FLEX_FETCH, move |ctx| {
        let flex = flex.clone();
        async move { flex_fetch(ctx, &flex).await }
    });
    let defaults = settings.clone();
    registry.register(kinds::POSITIONS_SYNC, move |ctx| {
        let defaults = defaults.clone();
        async move {
            let (ib, _) = job_session(&ctx, &defaults, 1).await?;
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
            let (ib, s) = job_session(&ctx, &defaults, 0).await?;
            let metrics = crate::sync::trades::sync_trades_once(
                &ctx.db,
                &ib,
                s.lookback_days,
                Some(format!("job:{}", ctx.job.id)),
            )
            .await
            .map_err(|e| e.to_string())?;
            serde_json::to_value(metrics).map_err(|e| e.to_string())
        }
    });
    let defaults = settings.clone();
    registry.register(kinds::ORDERS_SUBMIT, move |ctx| {
        let defaults = defaults.clone();
        async move {
            let (ib, _) = job_session(&ctx, &defaults, 2).await?;
            crate::orders::worker::submit_queued(&ctx.db, &ib)
                .await
                .map_err(|e| e.to_string())
        }
    });
    registry.register(kinds::FLEX_IMPORT, |ctx| async move {
        let id = kinds::parse_import_payload(&ctx.job.payload).map_err(|e| e.to_string())?;
        crate::imports::run(&ctx.db, id).await
    });
    #[cfg(feature = "bench")]
    if test_jobs_enabled() {
        registry.register(kinds::TEST_NOOP, noop);
    }
    registry
}

/// [`kinds::FLEX_FETCH`]: downloads and imports the statement of the payload's credentials;
/// token, query and payload problems discard the job at once.
async fn flex_fetch(ctx: JobContext, flex: &FlexWebOptions) -> Result<Value, JobFailure> {
    let name = kinds::parse_flex_fetch_payload(&ctx.job.payload)
        .map_err(|e| JobFailure::permanent(e.to_string()))?;
    match crate::imports::fetch::fetch_and_import(&ctx.db, flex, &name).await {
        Ok(metrics) => {
            serde_json::to_value(metrics).map_err(|e| JobFailure::retryable(e.to_string()))
        }
        Err(e) if crate::imports::fetch::is_retryable(&e) => {
            Err(JobFailure::retryable(e.to_string()))
        }
        Err(e) => Err(JobFailure::permanent(e.to_string())),
    }
}

/// Whether the test hook kinds are enabled in this process.
#[cfg(feature = "bench")]
pub fn test_jobs_enabled() -> bool {
    std::env::var(kinds::TEST_JOBS_ENV).is_ok_and(|v| v == "1")
}

/// The settings a sync job runs with: its configured gateway (by name; `defaults` is the
/// command line's) with the payload's overrides applied.
pub async fn sync_settings(
    ctx: &JobContext,
    defaults: &SyncSettings,
) -> Result<SyncSettings, String> {
    let overrides = kinds::SyncPayload::parse(&ctx.job.payload).map_err(|e| e.to_string())?;
    let gateway = crate::gateways::resolve(&ctx.db, overrides.gateway.as_deref(), defaults)
        .await
        .map_err(|e| e.to_string())?;
    Ok(overrides.applied_to(&gateway))
}

/// [`kinds::TEST_NOOP`]: succeeds at once, reporting which worker attempt ran it.
#[cfg(feature = "bench")]
pub async fn noop(ctx: JobContext) -> Result<Value, String> {
    Ok(serde_json::json!({ "attempt": ctx.job.attempt, "worker": ctx.job.attempted_by }))
}

/// The connection of one job: its gateway's settings with the payload's overrides, and the
/// gateway's client id plus a fixed offset per kind (trades.sync +0, positions.sync +1,
/// orders.submit +2), so jobs of different kinds can run at once without IB refusing a
/// duplicate client id (error 326).
async fn job_session(
    ctx: &JobContext,
    defaults: &SyncSettings,
    offset: i32,
) -> Result<(crate::ib::IbConnectOptions, SyncSettings), String> {
    let settings = sync_settings(ctx, defaults).await?;
    let mut options = settings.connect_options();
    options.client_id = settings.client_id.saturating_add(offset);
    Ok((options, settings))
}
