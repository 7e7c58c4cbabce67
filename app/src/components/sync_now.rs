//! "Sync now": queues a `trades.sync` and shows that job live (queued → running →
//! completed with its metrics, or failed with the error and a Retry button). It follows
//! every unfinished sync, whoever started it: the one the page was rendered with and any
//! announced later on the change stream. Live updates come by Server-Sent Events
//! (`/api/v1/jobs/{id}/events`), falling back to polling; when the job completes or fills
//! arrive, `on_completed` runs so the page refreshes its table in place.
//! Without JavaScript both forms post normally and the page shows the latest job.

use crate::components::session::CsrfField;
use crate::models::{Change, JobDto, JobKind, JobState};
use crate::server_fns::{get_job, latest_job, EnqueueTradesSync, RetryJob};
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

#[component]
pub fn SyncNow(
    /// Runs once each time the watched job completes.
    #[prop(into)]
    on_completed: Callback<()>,
) -> impl IntoView {
    let enqueue = ServerAction::<EnqueueTradesSync>::new();
    let retry = ServerAction::<RetryJob>::new();
    let latest = Resource::new(
        || (),
        |_| latest_job(JobKind::TradesSync.as_str().to_string()),
    );
    let job = RwSignal::new(None::<JobDto>);
    let error = RwSignal::new(None::<String>);

    // A job handed back by either button becomes the one we watch.
    for action_value in [enqueue.value(), retry.value()] {
        Effect::new(move |_| match action_value.get() {
            Some(Ok(j)) => {
                error.set(None);
                job.set(Some(j));
            }
            Some(Err(e)) => error.set(Some(e.to_string())),
            None => {}
        });
    }
    // Follow the unfinished sync the page was rendered with, whatever started it (another
    // operator, an order, a schedule, or this page's form posted before hydration).
    Effect::new(move |_| {
        if let Some(Ok(Some(j))) = latest.get() {
            if !j.state.is_final() && job.get_untracked().is_none() {
                job.set(Some(j));
            }
        }
    });
    // Follow syncs started elsewhere from now on, and refresh when fills arrive.
    crate::components::live::on_changes(move |change| match change {
        Change::Job { id, kind, state }
            if kind == JobKind::TradesSync.as_str() && !state.is_final() =>
        {
            let newer = job.with_untracked(|j| {
                j.as_ref()
                    .is_none_or(|j| j.id != id && (j.state.is_final() || id > j.id))
            });
            if newer {
                leptos::task::spawn_local(async move {
                    if let Ok(next) = get_job(id).await {
                        job.set(Some(next));
                    }
                });
            }
        }
        Change::Fills { .. } => on_completed.run(()),
        _ => {}
    });
    // Watch the current job until it is final. The watch lives as long as this component
    // (or until another job is watched): dropping it closes its stream. Only in the
    // browser: the server renders the state it has and follows nothing.
    #[cfg(feature = "hydrate")]
    {
        let watching = StoredValue::new_local(None::<Watch>);
        Effect::new(move |previous: Option<Option<i32>>| {
            let current = job.with(|j| j.as_ref().filter(|j| !j.state.is_final()).map(|j| j.id));
            if current.is_some() && previous.flatten() != current {
                if let Some(id) = current {
                    watching.set_value(watch_job(id, job, on_completed));
                }
            }
            current
        });
    }

    view! {
        <div class="sync-now">
            <ActionForm action=enqueue>
                <CsrfField />
                <button
                    type="submit"
                    class="button"
                    disabled=move || {
                        enqueue.pending().get()
                            || job.with(|j| j.as_ref().is_some_and(|j| !j.state.is_final()))
                    }
                >
                    "Sync now"
                </button>
            </ActionForm>
            <div class="job-status" role="status" aria-live="polite" data-testid="sync-status">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let initial = latest.await.ok().flatten();
                        let shown = move || job.get().or_else(|| initial.clone());
                        view! {
                            {move || error.get().map(|e| view! { <span class="error-text">{e}</span> })}
                            {move || shown().map(|j| {
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
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}

/// A job's event stream and its callbacks; dropping it closes the stream first, so no
/// callback runs after it is gone.
#[cfg(feature = "hydrate")]
struct Watch {
    source: web_sys::EventSource,
    _on_message: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

#[cfg(feature = "hydrate")]
impl Drop for Watch {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Follows job `id` by SSE, falling back to polling, updating `job` until it is final.
#[cfg(feature = "hydrate")]
fn watch_job(id: i32, job: RwSignal<Option<JobDto>>, on_completed: Callback<()>) -> Option<Watch> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let apply = move |next: JobDto| {
        let done = next.state.is_final();
        let completed = next.state == JobState::Completed;
        job.set(Some(next));
        if completed {
            on_completed.run(());
        }
        done
    };
    let Ok(source) = web_sys::EventSource::new(&format!("/api/v1/jobs/{id}/events")) else {
        poll_job(id, apply);
        return None;
    };
    let on_message = {
        let source = source.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            if let Ok(next) = serde_json::from_str::<JobDto>(&text) {
                if apply(next) {
                    source.close();
                }
            }
        })
    };
    let on_error = {
        let source = source.clone();
        Closure::<dyn FnMut()>::new(move || {
            // The stream ends after a final state; anything else falls back to polling.
            if job.with_untracked(|j| j.as_ref().is_some_and(|j| !j.state.is_final())) {
                poll_job(id, apply);
            }
            source.close();
        })
    };
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(Watch {
        source,
        _on_message: on_message,
        _on_error: on_error,
    })
}

#[cfg(feature = "hydrate")]
fn poll_job(id: i32, apply: impl Fn(JobDto) -> bool + Copy + 'static) {
    leptos::task::spawn_local(async move {
        loop {
            gloo_timers::future::TimeoutFuture::new(1_000).await;
            if let Ok(next) = crate::server_fns::get_job(id).await {
                if apply(next) {
                    break;
                }
            }
        }
    });
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
