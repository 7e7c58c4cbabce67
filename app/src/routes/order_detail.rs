//! One order (`/orders/:id`): the confirmation step when it awaits one (the summary and
//! an explicit Confirm, with the single-use token from the URL), its status timeline from
//! order events, and the jobs queued after it.

use crate::components::format::{money, quantity, Time};
use crate::components::listing::RefreshButton;
use crate::components::session::CsrfField;
use crate::components::sync_now::describe;
use crate::models::OrderDetailDto;
use crate::routes::not_found::NotFound;
use crate::server_fns::{get_order, ConfirmOrderForm};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn OrderDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i32>().ok()));
    let detail = Resource::new(
        move || (id(), query.with(|q| q.get("token"))),
        |(id, _)| async move {
            match id {
                Some(id) => get_order(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <p class="breadcrumb"><a href="/orders">"← Orders"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(d)) => view! { <OrderView detail=d /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(e) if e.to_string().contains("not found") => view! { <NotFound /> }.into_any(),
                    Err(e) => view! { <div class="error-box" role="alert">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderView(detail: OrderDetailDto) -> impl IntoView {
    let query = use_query_map();
    let confirm = ServerAction::<ConfirmOrderForm>::new();
    let o = detail.order.clone();
    let summary = format!(
        "{} {} {} {}{} {} on {}",
        o.side,
        quantity(o.quantity),
        o.symbol,
        o.order_type,
        o.limit_price
            .map(|p| format!(" @ {}", money(Some(p))))
            .unwrap_or_default(),
        o.tif,
        o.account_code
    );
    let awaiting = o.status == "pending_confirmation";
    let limits = detail.limits.clone();
    let token = query.with_untracked(|q| q.get("token")).unwrap_or_default();
    let error = query.with_untracked(|q| q.get("error"));
    let id = o.id;
    view! {
        <Title text=format!("Order {id}") />
        <div class="page-header">
            <h1>{format!("Order {id}")}</h1>
            <div class="page-actions">
                <span class=format!("badge status-{}", o.status)>{o.status.clone()}</span>
                <RefreshButton label="Refresh" />
            </div>
        </div>
        <p class="order-summary"><strong>{summary.clone()}</strong>
            {o.order_ref.clone().map(|r| view! { " · ref " <code>{r}</code> })}
        </p>
        {error.map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
        {awaiting.then(|| {
            if token.is_empty() {
                view! {
                    <div class="card">
                        <p>"This order awaits confirmation. Its single-use token was shown when it was created; without it the order cannot be sent."</p>
                    </div>
                }.into_any()
            } else {
                view! {
                    <section class="card confirm" aria-labelledby="confirm-title">
                        <h2 id="confirm-title">"Confirm this order"</h2>
                        <p>"You are about to send: " <strong>{summary.clone()}</strong></p>
                        {(!limits.is_empty()).then(|| view! {
                            <p class="limits" data-testid="order-limits">
                                "Account limits (checked again when it is sent): "
                                {limits.join(" · ")}
                            </p>
                        })}
                        <ActionForm action=confirm>
                            <input type="hidden" name="id" value=id />
                            <input type="hidden" name="token" value=token.clone() />
                            <CsrfField />
                            <button type="submit" class="button" disabled=move || confirm.pending().get()>
                                "Confirm and send"
                            </button>
                            " "
                            <a class="button secondary" href="/orders">"Not now"</a>
                        </ActionForm>
                    </section>
                }.into_any()
            }
        })}
        <dl class="facts">
            <div><dt>"Filled"</dt><dd class="num">{format!("{} of {}", quantity(o.filled_quantity), quantity(o.quantity))}</dd></div>
            <div><dt>"Average fill"</dt><dd class="num">{money(o.avg_fill_price)}</dd></div>
            <div><dt>"IB order id"</dt><dd class="mono">{o.ib_order_id.map(|v| v.to_string()).unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Perm id"</dt><dd class="mono">{o.ib_perm_id.map(|v| v.to_string()).unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Last error"</dt><dd>{o.last_error.clone().unwrap_or_else(|| "—".into())}</dd></div>
        </dl>
        <h2>"Timeline"</h2>
        <ol class="timeline">
            {detail.events.into_iter().map(|e| view! {
                <li>
                    <span class=format!("badge status-{}", e.status)>{e.status.clone()}</span>
                    " " <Time at=Some(e.created_at) /> " "
                    <span>{e.message.unwrap_or_default()}</span>
                </li>
            }).collect_view()}
        </ol>
        <h2>"Jobs after this order"</h2>
        {if detail.jobs.is_empty() {
            view! { <p class="muted">"None yet: the orders worker queues positions.sync and trades.sync after it submits the order."</p> }.into_any()
        } else {
            view! {
                <ul class="job-list">
                    {detail.jobs.into_iter().map(|j| view! {
                        <li><span class="mono">{j.kind.clone()}</span> " · "
                            <span class=format!("badge state-{}", j.state)>{j.state.as_str()}</span> " "
                            <span class="muted">{if j.kind == "trades.sync" { describe(&j) } else { format!("#{}", j.id) }}</span>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}
