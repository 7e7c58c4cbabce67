//! Job endpoints with side effects: enqueue (unique kinds answer the waiting job), retry,
//! cancel, and the live Server-Sent Events stream of one job.

use super::extract::ApiJson;
use super::read::{path_id, Problem};
use crate::db::read as q;
use crate::error::{Error, Result};
use crate::web::AppState;
use app::models::{Actor, JobDto};
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
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<NewJobRequest>,
) -> Result<Response> {
    let payload = body
        .payload
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let (job, inserted) = crate::audited::enqueue_job(&s.db, &actor, &body.kind, payload).await?;
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
    Extension(actor): Extension<Actor>,
    Path(job_id): Path<String>,
) -> Result<Json<JobDto>> {
    let id = path_id(&job_id, "job")?;
    Ok(Json(crate::audited::retry_job(&s.db, &actor, id).await?))
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
    Extension(actor): Extension<Actor>,
    Path(job_id): Path<String>,
) -> Result<Json<JobDto>> {
    let id = path_id(&job_id, "job")?;
    Ok(Json(crate::audited::cancel_job(&s.db, &actor, id).await?))
}

/// `GET /api/v1/jobs/{id}/events`: the job as JSON each time it changes, ending after a
/// final state (completed, discarded, cancelled). Not behind the request timeout.
pub async fn job_events(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = path_id(&job_id, "job")?;
    let first = q::get_job(&s.db, id).await?;
    let db = s.db.clone();
    let stream = futures::stream::unfold(
        (Some(first), None::<String>, false),
        move |(pending, last, done)| {
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
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            match q::get_job(&db, id).await {
                                Ok(j) => j,
                                Err(Error::NotFound(_)) => return None,
                                Err(_) => continue,
                            }
                        }
                    };
                    let text = serde_json::to_string(&current).unwrap_or_default();
                    if last.as_deref() != Some(text.as_str()) {
                        let done = matches!(
                            current.state.as_str(),
                            "completed" | "discarded" | "cancelled"
                        );
                        let event = Event::default().data(text.clone());
                        return Some((Ok(event), (None, Some(text), done)));
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
