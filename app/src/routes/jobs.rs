//! Jobs: recent background jobs with state, attempts, timing and result or error;
//! retry and cancel (plain forms without JavaScript).

use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::components::session::CsrfField;
use crate::components::sync_now::is_final;
use crate::models::{JobDto, JobQuery, Page};
use crate::server_fns::{list_jobs, CancelJob, RetryJob};
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
    let action_error = move || {
        [retry.value().get(), cancel.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
            .map(|e| view! { <div class="error-box" role="alert">{e.to_string()}</div> })
    };
    view! {
        <Title text="Jobs" />
        <PageHeader title="Jobs" resource=jobs />
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
                            let can_retry = matches!(j.state.as_str(), "retryable" | "discarded" | "cancelled");
                            let can_cancel = !is_final(&j.state);
                            let id = j.id;
                            view! {
                                <tr>
                                    <td class="num">{j.id}</td>
                                    <td class="mono">{j.kind}</td>
                                    <td><span class=format!("badge state-{}", j.state)>{j.state.clone()}</span></td>
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
    }
}
