//! Jobs: recent background jobs with state, attempts, timing and result or error;
//! retry and cancel (plain forms without JavaScript); the schedules with their next runs
//! and the live fill subscriptions. The page follows job changes as they happen (its
//! regions are read again on each change).

use crate::components::enhance::FollowsChanges;
use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::components::session::CsrfField;
use crate::errors::first_refusal;
use crate::models::{JobDto, JobQuery, Page, WorkerStatusDto};
use crate::server_fns::{list_jobs, worker_status, CancelJob, RetryJob};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn JobsPage() -> impl IntoView {
    let retry = ServerAction::<RetryJob>::new();
    let cancel = ServerAction::<CancelJob>::new();
    let jobs = Resource::new(
        move || (retry.version().get(), cancel.version().get()),
        |_| list_jobs(JobQuery::default()),
    );
    let status = Resource::new(|| (), |_| worker_status());
    let action_error = move || {
        first_refusal([retry.value().get(), cancel.value().get()])
            .map(|e| view! { <div class="error-box" role="alert">{e}</div> })
    };
    view! {
        <Title text="Jobs" />
        <PageHeader title="Jobs" />
        <FollowsChanges />
        {action_error}
        {listing(
            jobs,
            || view! {
                <h2>"No jobs yet"</h2>
                <p>"Sync jobs appear here when they are queued by an operator, a bot or the orders worker."</p>
            },
            move |page: Page<JobDto>| view! {
                <div class="table-wrap">
                <table class="data">
                    <caption class="visually-hidden">"Recent jobs"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">"Id"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col">"State"</th>
                            <th scope="col" class="num">"Attempt"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Started"</th>
                            <th scope="col">"Finished"</th>
                            <th scope="col">"Result or error"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.into_iter().map(|j| {
                            let outcome = j.error.clone().or_else(|| j.result.as_ref().map(|r| r.to_string())).unwrap_or_default();
                            let can_retry = j.state.can_retry();
                            let can_cancel = !j.state.is_final();
                            let id = j.id;
                            view! {
                                <tr>
                                    <td class="num">{j.id}</td>
                                    <td class="mono">{j.kind}</td>
                                    <td><span class=format!("badge state-{}", j.state)>{j.state.as_str()}</span></td>
                                    <td class="num">{format!("{}/{}", j.attempt, j.max_attempts)}</td>
                                    <td><Time at=Some(j.created_at) /></td>
                                    <td><Time at=j.started_at /></td>
                                    <td><Time at=j.finished_at /></td>
                                    <td class="wrap mono">{outcome}</td>
                                    <td>
                                        {can_retry.then(|| view! {
                                            <ActionForm action=retry attr:class="inline-form">
                                                <input type="hidden" name="id" value=id />
                                                <CsrfField />
                                                <button type="submit" class="button secondary small" aria-label=format!("Retry job {id}")>"Retry"</button>
                                            </ActionForm>
                                        })}
                                        {can_cancel.then(|| view! {
                                            <ActionForm action=cancel attr:class="inline-form">
                                                <input type="hidden" name="id" value=id />
                                                <CsrfField />
                                                <button type="submit" class="button secondary small" aria-label=format!("Cancel job {id}")>"Cancel"</button>
                                            </ActionForm>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any(),
        )}
        <div data-region="worker-status">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    status.await.ok().map(|s| view! { <WorkerStatus status=s /> })
                })}
            </Transition>
        </div>
    }
}

/// The schedules (next runs) and the live fill subscriptions (state per gateway).
#[component]
fn WorkerStatus(status: WorkerStatusDto) -> impl IntoView {
    let every = |seconds: i64| match seconds {
        s if s % 3600 == 0 => format!("every {} h", s / 3600),
        s => format!("every {} min", s / 60),
    };
    view! {
        <section class="worker-status" data-testid="worker-status">
            <h2>"Schedules"</h2>
            {if status.schedules.is_empty() {
                view! { <p>"No schedules (--sync-every 0)."</p> }.into_any()
            } else {
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">"Schedule"</th><th scope="col">"Runs"</th>
                            <th scope="col">"Last run"</th><th scope="col">"Next run"</th>
                        </tr></thead>
                        <tbody>
                            {status.schedules.into_iter().map(|s| view! {
                                <tr>
                                    <td class="mono">{s.name}</td>
                                    <td>{every(s.every_seconds)}</td>
                                    <td><Time at=s.last_run_at /></td>
                                    <td data-testid="next-run"><Time at=Some(s.next_run_at) /></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Live fills"</h2>
            {if status.live.is_empty() {
                view! { <p>"No gateway is followed live yet."</p> }.into_any()
            } else {
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">"Gateway"</th><th scope="col">"Followed by"</th>
                            <th scope="col">"Connected since"</th><th scope="col">"Last fill"</th>
                            <th scope="col" class="num">"Fills"</th><th scope="col" class="num">"Reconnects"</th>
                            <th scope="col">"Last error"</th>
                        </tr></thead>
                        <tbody>
                            {status.live.into_iter().map(|l| view! {
                                <tr>
                                    <td class="mono">{l.gateway}</td>
                                    <td class="mono">{l.holder.unwrap_or_else(|| "nobody".into())}</td>
                                    <td><Time at=l.connected_since /></td>
                                    <td><Time at=l.last_fill_at /></td>
                                    <td class="num">{l.fills_count}</td>
                                    <td class="num">{l.reconnects}</td>
                                    <td class="wrap">{l.last_error.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
