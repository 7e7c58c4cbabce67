//! Accounts: the IB accounts Fillbook has seen through the gateway.

use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::server_fns::list_accounts;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountsPage() -> impl IntoView {
    let accounts = Resource::new(|| (), |_| list_accounts());
    view! {
        <Title text="Accounts" />
        <PageHeader title="Accounts" resource=accounts />
        {listing(
            accounts,
            || view! {
                <h2>"No accounts yet"</h2>
                <p>"Accounts are added from the gateway's managed accounts on the first sync."</p>
            },
            |page| view! {
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Alias"</th>
                            <th scope="col">"First seen"</th>
                            <th scope="col">"Updated"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.into_iter().map(|a| view! {
                            <tr>
                                <td class="mono">{a.code}</td>
                                <td>{a.alias.unwrap_or_default()}</td>
                                <td><Time at=Some(a.created_at) /></td>
                                <td><Time at=Some(a.updated_at) /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        )}
    }
}
