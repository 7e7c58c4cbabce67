//! Statement imports: upload a Flex statement (a plain multipart form, so it works without
//! JavaScript), see what its import did — rows read, executions inserted, updated and busted,
//! summary rows and malformed records skipped, statements and their periods — and the
//! history of imports. A pending import's page follows its job until it has run.

use crate::components::enhance::FollowsChanges;
use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::components::session::CsrfField;
use crate::models::{ImportDto, ImportQuery, Page};
use crate::server_fns::{get_import, list_imports};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;
use serde_json::Value;

#[component]
pub fn ImportsPage() -> impl IntoView {
    let query = use_query_map();
    let selected = move || query.with(|q| q.get("id").and_then(|v| v.parse::<i32>().ok()));
    let error = move || query.with(|q| q.get("error"));
    let imports = Resource::new(|| (), |_| list_imports(ImportQuery::default()));
    let detail = Resource::new(selected, |id| async move {
        match id {
            Some(id) => get_import(id).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <Title text="Imports" />
        <PageHeader title="Statement imports" />
        <section class="card" aria-labelledby="upload-title">
            <h2 id="upload-title">"Upload a Flex statement"</h2>
            <p class="muted">
                "An Activity or Trade Confirmation Flex query as XML. Its fills are merged into the ledger "
                "(fills the gateway already delivered are matched by execution id); cancellations bust the fills they name."
            </p>
            {move || error().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
            <form method="post" action="/imports" enctype="multipart/form-data" class="upload-form">
                <CsrfField />
                <div class="field">
                    <label for="statement-file">"Statement (XML)"</label>
                    <input id="statement-file" name="file" type="file" accept=".xml,application/xml,text/xml" required />
                </div>
                <button type="submit" class="button">"Import"</button>
            </form>
        </section>
        <div data-region="import-detail">
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(import)) => view! { <ImportDetail import /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <div class="error-box" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
        </div>
        <h2>"History"</h2>
        {listing(
            imports,
            || view! { <p>"No statements imported yet."</p> },
            |page: Page<ImportDto>| view! {
                <div class="table-wrap">
                <table class="data">
                    <caption class="visually-hidden">"Statement imports"</caption>
                    <thead><tr>
                        <th scope="col" class="num">"Id"</th>
                        <th scope="col">"File"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Uploaded"</th>
                        <th scope="col">"Finished"</th>
                        <th scope="col" class="num">"Inserted"</th>
                        <th scope="col" class="num">"Updated"</th>
                        <th scope="col" class="num">"Busted"</th>
                        <th scope="col" class="num">"Skipped"</th>
                    </tr></thead>
                    <tbody>
                        {page.items.into_iter().map(|i| {
                            let n = |k: &str| metric(&i.metrics, k);
                            view! {
                                <tr>
                                    <td class="num"><a href=format!("/imports?id={}", i.id)>{i.id}</a></td>
                                    <td class="wrap">{i.file_name.clone().unwrap_or_default()}</td>
                                    <td><span class=format!("badge import-{}", i.status)>{i.status.clone()}</span></td>
                                    <td>{i.created_by.clone().unwrap_or_default()}</td>
                                    <td><Time at=Some(i.created_at) /></td>
                                    <td><Time at=i.finished_at /></td>
                                    <td class="num">{n("executions_inserted")}</td>
                                    <td class="num">{n("executions_updated")}</td>
                                    <td class="num">{n("executions_busted")}</td>
                                    <td class="num">{n("skipped_count")}</td>
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

/// A number from the metrics, as text ("" when absent).
fn metric(metrics: &Option<Value>, key: &str) -> String {
    metrics
        .as_ref()
        .and_then(|m| m.get(key))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// `{"A": 1, "B": 2}` as `A 1, B 2` ("none" when empty).
fn counts(value: Option<&Value>) -> String {
    let text = value
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if text.is_empty() {
        "none".into()
    } else {
        text
    }
}

#[component]
fn ImportDetail(import: ImportDto) -> impl IntoView {
    let pending = import.status == "pending";
    let m = import.metrics.clone().unwrap_or(Value::Null);
    let n = |k: &str| metric(&import.metrics, k);
    let statements = m["statements"].as_array().cloned().unwrap_or_default();
    let skipped = m["skipped"].as_array().cloned().unwrap_or_default();
    let unmatched = m["unmatched_cancellations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    view! {
        // Without JavaScript the page reloads itself; with it, it follows the import's job.
        {pending.then(|| view! { <Meta http_equiv="refresh" content="2" /> <FollowsChanges /> })}
        <section class="card" aria-labelledby="import-title" data-testid="import-detail" data-status=import.status.clone()>
            <h2 id="import-title">
                {format!("Import {}", import.id)}
                {import.file_name.clone().map(|f| format!(": {f}"))}
                " "
                <span class=format!("badge import-{}", import.status)>{import.status.clone()}</span>
            </h2>
            <p class="muted">
                "Uploaded " <Time at=Some(import.created_at) />
                {import.created_by.clone().map(|b| format!(" by {b}"))}
                {import.job_id.map(|j| view! { " · job " <a href="/jobs">{j}</a> })}
            </p>
            {pending.then(|| view! { <p role="status">"Waiting for its job to run; this page updates itself."</p> })}
            {import.error.clone().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
            {import.metrics.is_some().then(|| view! {
                <dl class="metrics">
                    <div><dt>"Rows read"</dt><dd data-metric="rows_read">{n("rows_read")}</dd></div>
                    <div><dt>"Executions read"</dt><dd>{n("executions_read")}</dd></div>
                    <div><dt>"Executions inserted"</dt><dd data-metric="executions_inserted">{n("executions_inserted")}</dd></div>
                    <div><dt>"Executions updated"</dt><dd data-metric="executions_updated">{n("executions_updated")}</dd></div>
                    <div><dt>"Executions busted"</dt><dd data-metric="executions_busted">{n("executions_busted")}</dd></div>
                    <div><dt>"Cancellations read"</dt><dd>{n("cancellations_read")}</dd></div>
                    <div><dt>"Trades touched"</dt><dd>{n("touched_trades")}</dd></div>
                    <div><dt>"Summary rows skipped"</dt><dd>{counts(m.get("summary_rows_skipped"))}</dd></div>
                    <div><dt>"Sections ignored"</dt><dd>{counts(m.get("sections_ignored"))}</dd></div>
                    <div><dt>"Records skipped"</dt><dd data-metric="skipped_count">{n("skipped_count")}</dd></div>
                </dl>
            })}
            {(!unmatched.is_empty()).then(|| view! {
                <p>"Cancellations whose fill is not in the ledger yet: " <span class="mono">{unmatched.clone()}</span></p>
            })}
            {(!statements.is_empty()).then(|| view! {
                <h3>"Statements"</h3>
                <ul>
                    {statements.iter().map(|s| {
                        let text = |k: &str| s[k].as_str().unwrap_or("?").to_string();
                        view! { <li><span class="mono">{text("account")}</span>{format!(": {} to {}", text("from_date"), text("to_date"))}</li> }
                    }).collect_view()}
                </ul>
            })}
            {(!skipped.is_empty()).then(|| view! {
                <h3>"Records skipped"</h3>
                <div class="table-wrap">
                <table class="data">
                    <thead><tr><th scope="col">"Reason"</th><th scope="col">"Row"</th></tr></thead>
                    <tbody>
                        {skipped.iter().map(|s| view! {
                            <tr>
                                <td class="wrap">{s["reason"].as_str().unwrap_or_default().to_string()}</td>
                                <td><pre class="raw">{serde_json::to_string_pretty(&s["raw"]).unwrap_or_default()}</pre></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
        </section>
    }
}
