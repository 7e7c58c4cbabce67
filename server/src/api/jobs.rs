//! Job endpoints with side effects: enqueue (unique kinds answer the waiting job), retry,
//! cancel, and the live Server-Sent Events stream of one job.

use super::http::ApiJson;
use super::http::{path_id, Problem};
use crate::auth::Caller;
use crate::db::read as q;
use crate::error::{Error, Result};
use crate::state::AppState;
use app::models::JobDto;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use futures::stream::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

/// Body of `POST /jobs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJobRequest {
    /// `trades.sync` or `positions.sync`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Sync jobs: `gateway` (a configured gateway's name), `connect_timeout_seconds`,
    /// `lookback_days` (1-7). `flex.fetch`: `credentials`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Option<serde_json::Value>,
}

/// Queue a job. A duplicate of a waiting unique job answers that job with 200.
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = NewJobRequest,
    responses(
        (status = 202, description = "Queued", body = JobDto),
        (status = 200, description = "The same job was already waiting", body = JobDto),
        (status = 422, description = "Unknown type or invalid payload", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_job(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewJobRequest>,
) -> Result<Response> {
    let payload = body
        .payload
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let (job, inserted) = crate::audited::enqueue_job(&s.db, &caller, &body.kind, payload).await?;
    let status = if inserted {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/jobs/{}", job.id);
    Ok((status, [(header::LOCATION, location)], Json(job)).into_response())
}

/// Run a failed, discarded or cancelled job again.
#[utoipa::path(post, path = "/jobs/{job_id}/retry", tag = "jobs",
    params(("job_id" = i32, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job, available again", body = JobDto),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not retryable now", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_job(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Json<JobDto>> {
    let id = path_id(&job_id, "job")?;
    Ok(Json(crate::audited::retry_job(&s.db, &caller, id).await?))
}

/// Cancel a waiting or running job.
#[utoipa::path(post, path = "/jobs/{job_id}/cancel", tag = "jobs",
    params(("job_id" = i32, Path, description = "Job id")),
    responses(
        (status = 200, description = "The cancelled job", body = JobDto),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already finished", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_job(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Json<JobDto>> {
    let id = path_id(&job_id, "job")?;
    Ok(Json(crate::audited::cancel_job(&s.db, &caller, id).await?))
}

/// `GET /api/v1/jobs/{id}/events`: the job as JSON each time it changes, ending after a
/// final state (completed, discarded, cancelled). Changes come from the change bus (no
/// polling); the job is read again on each change of it, and every 15 s as a safety net.
/// Not behind the request timeout.
pub async fn job_events(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = path_id(&job_id, "job")?;
    crate::events::ensure_listening(&s.db);
    // Subscribe before the first read: a change between the two is not missed.
    let changes = crate::events::subscribe();
    let first = q::get_job(&s.db, id).await?;
    let db = s.db.clone();
    let stream = futures::stream::unfold(
        (Some(first), None::<String>, false, changes),
        move |(pending, last, done, mut changes)| {
            let db = db.clone();
            async move {
                if done {
                    return None;
                }
                let mut job = pending;
                loop {
                    let current = match job.take() {
                        Some(j) => j,
                        None => {
                            wait_for_job(&mut changes, id).await;
                            match q::get_job(&db, id).await {
                                Ok(j) => j,
                                Err(Error::NotFound(_)) => return None,
                                Err(_) => continue,
                            }
                        }
                    };
                    let text = serde_json::to_string(&current).unwrap_or_default();
                    if last.as_deref() != Some(text.as_str()) {
                        let done = current.state.is_final();
                        let event = Event::default().data(text.clone());
                        return Some((Ok(event), (None, Some(text), done, changes)));
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Waits for a change of job `id` (or a lag, or 15 s).
async fn wait_for_job(
    changes: &mut tokio::sync::broadcast::Receiver<crate::events::Change>,
    id: i32,
) {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(crate::events::Change::Job { id: changed, .. }) if changed == id => return,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return std::future::pending().await
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(15), wait).await;
}

/// `GET /api/v1/events`: every change to jobs and fills as Server-Sent Events — `job`
/// (`{"type":"job","id":…,"kind":…,"state":…}`) and `fills`
/// (`{"type":"fills","accounts":[…],"count":…}`) — for live pages and bots. A `lagged`
/// event means some were missed: read again what you show. Not behind the request timeout.
pub async fn change_events(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    crate::events::ensure_listening(&s.db);
    let changes = crate::events::subscribe();
    let stream = futures::stream::unfold(changes, |mut changes| async move {
        use tokio::sync::broadcast::error::RecvError;
        let event = match changes.recv().await {
            Ok(change) => {
                let name = match &change {
                    crate::events::Change::Job { .. } => "job",
                    crate::events::Change::Fills { .. } => "fills",
                };
                Event::default()
                    .event(name)
                    .data(serde_json::to_string(&change).unwrap_or_default())
            }
            Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), changes))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The periodic jobs with their last and next runs.
#[utoipa::path(get, path = "/schedules", tag = "jobs",
    responses((status = 200, description = "The schedules", body = Vec<app::models::ScheduleDto>)))]
pub async fn list_schedules(
    State(s): State<AppState>,
) -> Result<Json<Vec<app::models::ScheduleDto>>> {
    let status = crate::work::schedule::worker_status(&s.db, &s.schedules).await?;
    Ok(Json(status.schedules))
}

/// Each gateway's live fill subscription: holder, client id, connected since, last fill,
/// fills, reconnects, skipped records, last error.
#[utoipa::path(get, path = "/live", tag = "jobs",
    responses((status = 200, description = "The live subscriptions", body = Vec<app::models::LiveSessionDto>)))]
pub async fn list_live_sessions(
    State(s): State<AppState>,
) -> Result<Json<Vec<app::models::LiveSessionDto>>> {
    let status = crate::work::schedule::worker_status(&s.db, &s.schedules).await?;
    Ok(Json(status.live))
}
