//! Every job kind Fillbook runs, in one table ([`KINDS`]): for each, whether and how a
//! request (`POST /jobs`, the tools, Sync now, a schedule) may queue it, and the handler that
//! runs it. Adding a kind is its name in `app::models::JobKind`, one handler function here
//! and one row in [`KINDS`]; a test checks that every `JobKind` has its row.

use crate::error::{Error, Result};
use crate::flex::web::FlexWebOptions;
use crate::gateways::SyncSettings;
use crate::jobs::kinds::{self, SyncPayload};
use crate::jobs::worker::{HandlerRegistry, JobContext, JobFailure};
use crate::jobs::{Enqueued, Queue};
use app::models::JobKind;
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use std::sync::Arc;

/// What a handler has besides its job: the gateway defaults a sync job's payload overrides,
/// and how `flex.fetch` reaches the Flex Web Service.
#[derive(Clone, Debug)]
pub struct Deps {
    pub sync: SyncSettings,
    pub flex: FlexWebOptions,
}

/// A handler: the job's result, or why the attempt failed (and whether retrying can help).
type Run = fn(JobContext, Arc<Deps>) -> BoxFuture<'static, Result<Value, JobFailure>>;

/// Whether a request may queue a kind, and how its payload is checked.
#[derive(Clone, Copy)]
pub enum Request {
    /// Queued by requests; the payload is checked by this function (every error naming its
    /// field under `payload`).
    Payload(fn(&Value) -> Result<()>),
    /// Queued by Fillbook itself only; a request is refused with this sentence.
    Refused(&'static str),
}

/// One job kind: its name, how requests queue it, what runs it.
pub struct Kind {
    pub kind: JobKind,
    pub request: Request,
    pub run: Run,
}

/// The job kinds, one row each.
pub const KINDS: &[Kind] = &[
    Kind {
        kind: JobKind::TradesSync,
        request: Request::Payload(sync_payload),
        run: |ctx, deps| trades_sync(ctx, deps).boxed(),
    },
    Kind {
        kind: JobKind::PositionsSync,
        request: Request::Payload(sync_payload),
        run: |ctx, deps| positions_sync(ctx, deps).boxed(),
    },
    Kind {
        kind: JobKind::OrdersSubmit,
        request: Request::Payload(|p| kinds::no_payload(JobKind::OrdersSubmit, p)),
        run: |ctx, deps| orders_submit(ctx, deps).boxed(),
    },
    Kind {
        kind: JobKind::FlexFetch,
        request: Request::Payload(|p| kinds::parse_flex_fetch_payload(p).map(drop)),
        run: |ctx, deps| flex_fetch(ctx, deps).boxed(),
    },
    Kind {
        kind: JobKind::FlexImport,
        request: Request::Refused(
            "flex.import jobs are queued by uploading a statement: POST /api/v1/imports/flex",
        ),
        run: |ctx, _| flex_import(ctx).boxed(),
    },
];

/// The row of `kind`.
pub fn kind(kind: JobKind) -> &'static Kind {
    KINDS
        .iter()
        .find(|k| k.kind == kind)
        .expect("every JobKind has a row in KINDS (checked by a test)")
}

/// Queues a job a request asked for: a known kind that requests may queue, its payload
/// checked, and every name in it (a gateway, Flex credentials) naming something stored.
/// Jobs queued this way are unique among waiting jobs.
pub async fn enqueue(db: &impl ConnectionTrait, kind: &str, payload: Value) -> Result<Enqueued> {
    let requestable = || {
        KINDS
            .iter()
            .filter(|k| matches!(k.request, Request::Payload(_)))
            .map(|k| k.kind.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unknown = || {
        Error::invalid(
            "type",
            format!("unknown job type `{kind}`; known types: {}", requestable()),
        )
    };
    let job_kind: JobKind = kind.parse().map_err(|_| unknown())?;
    let job = match self::kind(job_kind).request {
        Request::Refused(why) => return Err(Error::invalid("type", why)),
        Request::Payload(check) => {
            let job = kinds::unique_job(job_kind, payload);
            check(&job.payload)?;
            job
        }
    };
    if let Some(name) = job.payload.get("gateway").and_then(Value::as_str) {
        crate::gateways::check_exists(db, "payload.gateway", name).await?;
    }
    if let Some(name) = job.payload.get("credentials").and_then(Value::as_str) {
        crate::flex::credentials::load(db, name)
            .await
            .map_err(|e| match e {
                Error::NotFound(what) => {
                    Error::invalid("payload.credentials", format!("no {what}"))
                }
                other => other,
            })?;
    }
    Queue::default().enqueue(db, job).await
}

/// The handlers of this build, with the Flex Web Service at IB's address.
pub fn registry(settings: SyncSettings) -> HandlerRegistry {
    registry_with_flex(settings, FlexWebOptions::default())
}

/// The handlers of this build: one per row of [`KINDS`]. `settings` are the gateway defaults
/// that a sync job's payload overrides; `flex` is how `flex.fetch` reaches the Flex Web
/// Service.
pub fn registry_with_flex(settings: SyncSettings, flex: FlexWebOptions) -> HandlerRegistry {
    let deps = Arc::new(Deps {
        sync: settings,
        flex,
    });
    let mut registry = HandlerRegistry::new();
    for kind in KINDS {
        let (run, deps) = (kind.run, deps.clone());
        registry.register_classified(kind.kind.as_str(), move |ctx| run(ctx, deps.clone()));
    }
    registry
}

fn sync_payload(payload: &Value) -> Result<()> {
    SyncPayload::parse(payload).map(drop)
}

/// A handler's error as a failure another attempt may not repeat.
fn retryable(e: impl std::fmt::Display) -> JobFailure {
    JobFailure::retryable(e.to_string())
}

/// A handler's result as stored on its job.
fn stored(result: impl serde::Serialize) -> Result<Value, JobFailure> {
    serde_json::to_value(result).map_err(retryable)
}

/// `trades.sync`: the gateway's executions into the ledger.
async fn trades_sync(ctx: JobContext, deps: Arc<Deps>) -> Result<Value, JobFailure> {
    let (ib, s) = job_session(&ctx, &deps.sync, 0).await?;
    let origin = Some(format!("job:{}", ctx.job.id));
    stored(
        crate::sync::trades::sync_trades_once(&ctx.db, &ib, s.lookback_days, origin)
            .await
            .map_err(retryable)?,
    )
}

/// `positions.sync`: the gateway's positions.
async fn positions_sync(ctx: JobContext, deps: Arc<Deps>) -> Result<Value, JobFailure> {
    let (ib, _) = job_session(&ctx, &deps.sync, 1).await?;
    stored(
        crate::sync::positions::sync_positions_once(&ctx.db, &ib)
            .await
            .map_err(retryable)?,
    )
}

/// `orders.submit`: every confirmed order through the gateway.
async fn orders_submit(ctx: JobContext, deps: Arc<Deps>) -> Result<Value, JobFailure> {
    let (ib, _) = job_session(&ctx, &deps.sync, 2).await?;
    crate::orders::worker::submit_queued(&ctx.db, &ib)
        .await
        .map_err(retryable)
}

/// `flex.import`: one stored statement into the ledger.
async fn flex_import(ctx: JobContext) -> Result<Value, JobFailure> {
    let id = kinds::parse_import_payload(&ctx.job.payload).map_err(retryable)?;
    crate::imports::run(&ctx.db, id).await.map_err(retryable)
}

/// `flex.fetch`: downloads and imports the statement of the payload's credentials; token,
/// query and payload problems discard the job at once.
async fn flex_fetch(ctx: JobContext, deps: Arc<Deps>) -> Result<Value, JobFailure> {
    let name = kinds::parse_flex_fetch_payload(&ctx.job.payload)
        .map_err(|e| JobFailure::permanent(e.to_string()))?;
    match crate::imports::fetch::fetch_and_import(&ctx.db, &deps.flex, &name).await {
        Ok(metrics) => stored(metrics),
        Err(e) if crate::imports::fetch::is_retryable(&e) => Err(retryable(e)),
        Err(e) => Err(JobFailure::permanent(e.to_string())),
    }
}

/// The settings a sync job runs with: its configured gateway (by name; `defaults` is the
/// command line's) with the payload's overrides applied.
pub async fn sync_settings(ctx: &JobContext, defaults: &SyncSettings) -> Result<SyncSettings> {
    let overrides = SyncPayload::parse(&ctx.job.payload)?;
    let gateway = crate::gateways::resolve(&ctx.db, overrides.gateway.as_deref(), defaults).await?;
    Ok(overrides.applied_to(&gateway))
}

/// The connection of one job: its gateway's settings with the payload's overrides, and the
/// gateway's client id plus a fixed offset per kind (trades.sync +0, positions.sync +1,
/// orders.submit +2), so jobs of different kinds can run at once without IB refusing a
/// duplicate client id (error 326).
async fn job_session(
    ctx: &JobContext,
    defaults: &SyncSettings,
    offset: i32,
) -> Result<(crate::ib::IbConnectOptions, SyncSettings), JobFailure> {
    let settings = sync_settings(ctx, defaults).await.map_err(retryable)?;
    let mut options = settings.connect_options();
    options.client_id = settings.client_id.saturating_add(offset);
    Ok((options, settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_job_kind_has_exactly_one_row() {
        for kind in JobKind::ALL {
            let rows = KINDS.iter().filter(|k| k.kind == *kind).count();
            assert_eq!(rows, 1, "{kind} has {rows} rows in KINDS");
        }
        assert_eq!(KINDS.len(), JobKind::ALL.len());
    }

    #[test]
    fn request_rules_come_from_the_table() {
        let refused = |kind: JobKind| matches!(self::kind(kind).request, Request::Refused(_));
        assert!(refused(JobKind::FlexImport));
        assert!(!refused(JobKind::TradesSync));
        let Request::Payload(check) = self::kind(JobKind::OrdersSubmit).request else {
            panic!("orders.submit may be requested");
        };
        assert!(check(&json!({})).is_ok());
        assert!(check(&json!({"x": 1})).is_err());
    }
}
