//! The audit log (administrators): sign-ins, sign-outs, tokens, syncs enqueued and orders,
//! newest first, filterable by action, one page at a time.

use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::models::AuditQuery;
use crate::server_fns::list_audit;
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let entries = Resource::new(
        move || {
            query.with(|q| AuditQuery {
                action: q.get("action").filter(|a| !a.is_empty()),
                actor: q.get("actor").filter(|a| !a.is_empty()),
                limit: Some(100),
                cursor: q.get("cursor"),
            })
        },
        list_audit,
    );
    view! {
        <Title text="Audit log" />
        <PageHeader title="Audit log" />
        <form method="get" action="/audit" class="filters">
            <label>"Action " <input name="action" type="text" placeholder="e.g. login.failed"
                value=move || query.with(|q| q.get("action").unwrap_or_default()) /></label>
            <label>"Actor " <input name="actor" type="text"
                value=move || query.with(|q| q.get("actor").unwrap_or_default()) /></label>
            <button type="submit" class="button secondary">"Filter"</button>
        </form>
        {listing(
            entries,
            || view! { <h2>"No entries"</h2> },
            move |page| {
                let older = page.next_cursor.clone().map(|c| {
                    query.with_untracked(|q| {
                        let action = q.get("action").unwrap_or_default();
                        let actor = q.get("actor").unwrap_or_default();
                        with_query("/audit", &[("action", &action), ("actor", &actor), ("cursor", &c)])
                    })
                });
                view! {
                    <div class="table-wrap">
                    <table class="data">
                        <caption class="visually-hidden">"Audit log"</caption>
                        <thead><tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Target"</th>
                            <th scope="col">"From"</th>
                            <th scope="col">"Detail"</th>
                        </tr></thead>
                        <tbody>
                            {page.items.into_iter().map(|e| view! {
                                <tr>
                                    <td><Time at=Some(e.at) /></td>
                                    <td>{format!("{} ({})", e.actor, e.actor_kind)}</td>
                                    <td class="mono">{e.action}</td>
                                    <td>{e.target.unwrap_or_default()}</td>
                                    <td class="mono">{e.ip.unwrap_or_default()}</td>
                                    <td class="mono wrap">{e.detail.map(|d| d.to_string()).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    {older.map(|href| view! { <p><a href=href>"Older entries"</a></p> })}
                }.into_any()
            },
        )}
    }
}
