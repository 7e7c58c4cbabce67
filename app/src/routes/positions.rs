//! Positions: quantity and average cost per account and contract, with fetch times.

use crate::components::format::{money, quantity, Time};
use crate::components::listing::{listing, PageHeader};
use crate::server_fns::list_positions;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PositionsPage() -> impl IntoView {
    let positions = Resource::new(|| (), |_| list_positions());
    view! {
        <Title text="Positions" />
        <PageHeader title="Positions" />
        {listing(
            positions,
            || view! {
                <h2>"No positions yet"</h2>
                <p>"Positions are read from the gateway by a positions.sync job."</p>
            },
            |page| view! {
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Symbol"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col">"Currency"</th>
                            <th scope="col" class="num">"Quantity"</th>
                            <th scope="col" class="num">"Avg cost"</th>
                            <th scope="col">"Fetched"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.into_iter().map(|p| view! {
                            <tr>
                                <td class="mono">{p.account_code}</td>
                                <td>{p.symbol}</td>
                                <td>{p.sec_type}</td>
                                <td>{p.currency}</td>
                                <td class="num">{quantity(p.quantity)}</td>
                                <td class="num">{money(p.avg_cost)}</td>
                                <td><Time at=Some(p.fetched_at) /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        )}
    }
}
