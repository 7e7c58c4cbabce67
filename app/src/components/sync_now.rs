//! "Sync now": queues a `trades.sync` and shows the latest sync, whoever started it
//! (queued → running → completed with its metrics, or failed with the error and a Retry
//! button). The page follows job and fill changes, so the status and the table beside it
//! are read again as they happen.

use crate::components::enhance::FollowsChanges;
use crate::components::session::CsrfField;
use crate::errors::first_refusal;
use crate::models::{JobDto, JobKind, JobState};
use crate::server_fns::{latest_job, EnqueueTradesSync, RetryJob};
use leptos::prelude::*;

/// One sentence about a job, for operators.
pub fn describe(job: &JobDto) -> String {
    let metric = |key: &str| {
        job.result
            .as_ref()
            .and_then(|r| r.get(key))
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
    };
    let error = job.error.clone().unwrap_or_default();
    match job.state {
        JobState::Available => format!("Sync #{} queued", job.id),
        JobState::Scheduled => format!("Sync #{} scheduled", job.id),
        JobState::Running => format!("Sync #{} running (attempt {})", job.id, job.attempt),
        JobState::Retryable => format!(
            "Sync #{} failed (attempt {} of {}): {error} — it will be retried",
            job.id, job.attempt, job.max_attempts
        ),
        JobState::Completed => {
            let mut text = format!(
                "Sync #{} completed: {} new fills, {} corrections, {} trades updated",
                job.id,
                metric("inserted_executions_count"),
                metric("canonical_changes_count"),
                metric("touched_trades_count")
            );
            // Periods no sync or statement covered before this window.
            let uncovered = job.result.as_ref().and_then(|r| r.get("uncovered"));
            for u in uncovered.and_then(|u| u.as_array()).into_iter().flatten() {
                if let Some(m) = u.get("message").and_then(|m| m.as_str()) {
                    text.push_str(" — ");
                    text.push_str(m);
                }
            }
            text
        }
        JobState::Discarded => format!("Sync #{} failed: {error}", job.id),
        JobState::Cancelled => format!("Sync #{} cancelled", job.id),
    }
}

/// The button and the latest sync's status. Rendered on the server; a page showing it
/// follows changes, so both parts are read again whenever a job or fill
/// changes. Without JavaScript the forms post and the page shows the latest job.
#[component]
pub fn SyncNow() -> impl IntoView {
    let enqueue = ServerAction::<EnqueueTradesSync>::new();
    let retry = ServerAction::<RetryJob>::new();
    let latest = Resource::new(
        || (),
        |_| latest_job(JobKind::TradesSync.as_str().to_string()),
    );
    // A refused post comes back in the URL of the page it returns to.
    let refused = move || {
        first_refusal([enqueue.value().get(), retry.value().get()])
            .map(|e| view! { <span class="error-text">{e}</span> })
    };
    view! {
        <div class="sync-now">
            <FollowsChanges />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let job = latest.await.ok().flatten();
                    let unfinished = job.as_ref().is_some_and(|j| !j.state.is_final());
                    view! {
                        <div data-region="sync-form">
                            <ActionForm action=enqueue>
                                <CsrfField />
                                <button type="submit" class="button" disabled=unfinished>"Sync now"</button>
                            </ActionForm>
                        </div>
                        <div class="job-status" role="status" aria-live="polite" data-testid="sync-status" data-region="sync-status">
                            {refused}
                            {job.map(|j| {
                                let failed = j.state.is_failure();
                                view! {
                                    <span class=format!("job-line state-{}", j.state)>{describe(&j)}</span>
                                    {failed.then(|| view! {
                                        <ActionForm action=retry attr:class="inline-form">
                                            <input type="hidden" name="id" value=j.id />
                                            <CsrfField />
                                            <button type="submit" class="button secondary small">"Retry"</button>
                                        </ActionForm>
                                    })}
                                }
                            })}
                        </div>
                    }
                })}
            </Transition>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_sync_names_the_periods_only_a_statement_can_fill() {
        let job: JobDto = serde_json::from_value(serde_json::json!({
            "id": 7, "type": "trades.sync", "state": "completed", "queue": "default",
            "attempt": 1, "max_attempts": 5, "payload": {}, "priority": 0,
            "result": { "inserted_executions_count": 2, "uncovered": [{ "message":
                "U1: fills between 2026-11-01 00:00 UTC and 2026-11-23 00:00 UTC can only come from a Flex statement" }] },
            "error": null, "created_at": "2026-11-30T10:00:00Z", "scheduled_at": "2026-11-30T10:00:00Z",
            "attempted_at": null, "finished_at": null, "attempted_by": null, "unique_key": null
        }))
        .unwrap();
        let text = describe(&job);
        assert!(text.starts_with("Sync #7 completed: 2 new fills"), "{text}");
        assert!(
            text.ends_with("can only come from a Flex statement"),
            "{text}"
        );
    }
}
