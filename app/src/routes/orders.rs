//! Orders: the new-order form (field-level errors; works as a plain form) and the list.
//! Creating an order only validates it: the confirmation step on `/orders/:id` sends it.

use crate::components::format::{money, quantity, Time};
use crate::components::listing::{listing, PageHeader};
use crate::components::session::CsrfField;
use crate::models::{OrderDto, OrderQuery, Page};
use crate::server_fns::{list_accounts, list_orders, CreateOrderForm};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| list_orders(OrderQuery::default()));
    view! {
        <Title text="Orders" />
        <PageHeader title="Orders" />
        <NewOrderForm />
        <h2>"Recent orders"</h2>
        {listing(
            orders,
            || view! {
                <h2>"No orders yet"</h2>
                <p>"Orders placed through Fillbook are listed here with their status. Use the form above."</p>
            },
            |page: Page<OrderDto>| view! {
                <div class="table-wrap">
                <table class="data">
                    <caption class="visually-hidden">"Recent orders"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">"Id"</th>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Symbol"</th>
                            <th scope="col">"Side"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col" class="num">"Quantity"</th>
                            <th scope="col" class="num">"Limit"</th>
                            <th scope="col" class="num">"Filled"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.into_iter().map(|o| view! {
                            <tr>
                                <td class="num"><a href=format!("/orders/{}", o.id)>{o.id}</a></td>
                                <td class="mono">{o.account_code}</td>
                                <td>{o.symbol}</td>
                                <td>{o.side}</td>
                                <td>{o.order_type}</td>
                                <td class="num">{quantity(o.quantity)}</td>
                                <td class="num">{money(o.limit_price)}</td>
                                <td class="num">{quantity(o.filled_quantity)}</td>
                                <td><span class=format!("badge status-{}", o.status)>{o.status.clone()}</span></td>
                                <td><Time at=Some(o.created_at) /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any(),
        )}
    }
}

/// The order form; values and the error come back in the URL after a refusal.
#[component]
fn NewOrderForm() -> impl IntoView {
    let create = ServerAction::<CreateOrderForm>::new();
    let query = use_query_map();
    let accounts = Resource::new(|| (), |_| list_accounts());
    let value = move |key: &'static str| query.with(|q| q.get(key).unwrap_or_default());
    let error_for = move |field: &'static str| {
        query.with(|q| {
            (q.get("field").as_deref() == Some(field)).then(|| q.get("error").unwrap_or_default())
        })
    };
    let general_error = move || {
        query.with(|q| {
            let field = q.get("field").unwrap_or_default();
            let known = [
                "account_id",
                "symbol",
                "side",
                "quantity",
                "order_type",
                "limit_price",
                "tif",
                "order_ref",
            ];
            (!known.contains(&field.as_str()))
                .then(|| q.get("error"))
                .flatten()
        })
    };
    let field = move |name: &'static str, label: &'static str, input: AnyView| {
        let id = format!("order-{name}");
        let err_id = format!("order-{name}-error");
        view! {
            <div class="field" class:invalid=move || error_for(name).is_some()>
                <label for=id>{label}</label>
                {input}
                {move || error_for(name).map(|e| view! { <p class="field-error" id=err_id.clone()>{e}</p> })}
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="new-order-title">
            <h2 id="new-order-title">"New order"</h2>
            <p class="muted">"Creating an order only checks it; it is sent to the gateway after you confirm it on the next step."</p>
            {move || general_error().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
            <ActionForm action=create attr:class="order-form">
                <CsrfField />
                {field("account_id", "Account", view! {
                    <Transition fallback=|| view! { <select id="order-account_id" name="account_id" disabled=true></select> }>
                        {move || Suspend::new(async move {
                            let list = accounts.await.map(|p| p.items).unwrap_or_default();
                            let current = value("account_id");
                            if list.is_empty() {
                                return view! {
                                    <p class="field-error" id="order-account_id-error">
                                        "No accounts yet: press Sync now on "<a href="/trades">"Trades"</a>
                                        " to read them from the gateway."
                                    </p>
                                }
                                .into_any();
                            }
                            view! {
                                <select id="order-account_id" name="account_id" aria-describedby="order-account_id-error">
                                    {list.into_iter().map(|a| {
                                        let id = a.id.to_string();
                                        let selected = id == current;
                                        view! { <option value=id selected=selected>{a.code}</option> }
                                    }).collect_view()}
                                </select>
                            }
                            .into_any()
                        })}
                    </Transition>
                }.into_any())}
                {field("symbol", "Symbol", view! {
                    <input id="order-symbol" name="symbol" type="text" autocomplete="off" required=true size="8"
                        value=value("symbol") aria-describedby="order-symbol-error" />
                }.into_any())}
                {field("side", "Side", view! {
                    <select id="order-side" name="side" aria-describedby="order-side-error">
                        <option value="BUY" selected=value("side") != "SELL">"BUY"</option>
                        <option value="SELL" selected=value("side") == "SELL">"SELL"</option>
                    </select>
                }.into_any())}
                {field("quantity", "Quantity", view! {
                    <input id="order-quantity" name="quantity" type="text" inputmode="decimal" size="8"
                        value=value("quantity") aria-describedby="order-quantity-error" />
                }.into_any())}
                {field("order_type", "Type", view! {
                    <select id="order-order_type" name="order_type" aria-describedby="order-order_type-error">
                        <option value="MKT" selected=value("order_type") != "LMT">"MKT (market)"</option>
                        <option value="LMT" selected=value("order_type") == "LMT">"LMT (limit)"</option>
                    </select>
                }.into_any())}
                {field("limit_price", "Limit price", view! {
                    <input id="order-limit_price" name="limit_price" type="text" inputmode="decimal" size="8"
                        value=value("limit_price") aria-describedby="order-limit_price-error" />
                }.into_any())}
                {field("tif", "Time in force", view! {
                    <select id="order-tif" name="tif" aria-describedby="order-tif-error">
                        {["DAY", "GTC", "IOC"].into_iter().map(|t| view! {
                            <option value=t selected=value("tif") == t>{t}</option>
                        }).collect_view()}
                    </select>
                }.into_any())}
                {field("order_ref", "Order ref (optional)", view! {
                    <input id="order-order_ref" name="order_ref" type="text" size="12"
                        value=value("order_ref") aria-describedby="order-order_ref-error" />
                }.into_any())}
                <div class="field submit">
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Review order"</button>
                </div>
            </ActionForm>
        </section>
    }
}
