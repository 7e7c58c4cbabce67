//! Trade detail (`/trades/:id`): aggregates, copyable broker ids, and every execution
//! revision — the canonical badge on the effective fill, superseded revisions struck
//! through and linked to their successor, commission state, raw broker record — and the
//! history of every fill: when it was recorded and each change since.

use crate::components::format::{money, quantity, Time};
use crate::components::sync_now::SyncNow;
use crate::models::{ExecutionDto, FillEventDto, TradeDto, TradeHistoryDto};
use crate::routes::not_found::NotFound;
use crate::server_fns::{get_trade, list_executions, trade_history};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn TradeDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i32>().ok()));
    let trade = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_trade(id).await.map(Some),
            None => Ok(None),
        }
    });
    let executions = Resource::new(id, |id| async move {
        match id {
            Some(id) => list_executions(id).await,
            None => Ok(Vec::new()),
        }
    });
    let history = Resource::new(id, |id| async move {
        match id {
            Some(id) => trade_history(id).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <SyncNow />
        <div data-region="trade">
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (trade.await, executions.await) {
                    (Ok(Some(t)), Ok(execs)) => view! {
                        <TradeView trade=t executions=execs />
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                match history.await {
                                    Ok(Some(h)) => view! { <Timeline history=h /> }.into_any(),
                                    Ok(None) => ().into_any(),
                                    Err(e) => view! {
                                        <p class="error-box" role="alert">{format!("Could not load the history: {e}")}</p>
                                    }.into_any(),
                                }
                            })}
                        </Transition>
                    }.into_any(),
                    (Ok(None), _) => view! { <NotFound /> }.into_any(),
                    (Err(e), _) | (_, Err(e)) if e.to_string().contains("not found") => {
                        view! { <NotFound /> }.into_any()
                    }
                    (Err(e), _) | (_, Err(e)) => view! {
                        <div class="error-box" role="alert">
                            <strong>"Could not load this trade: "</strong>{e.to_string()}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        </div>
    }
}

#[component]
fn TradeView(trade: TradeDto, executions: Vec<ExecutionDto>) -> impl IntoView {
    let title = format!(
        "{} {} {}",
        trade.side.clone().unwrap_or_default(),
        quantity(trade.total_quantity),
        trade.symbol.clone().unwrap_or_default()
    );
    let grouped = trade.grouped_by();
    view! {
        <Title text=format!("Trade {}", trade.id) />
        <p class="breadcrumb"><a href="/trades">"← Trades"</a></p>
        <div class="page-header">
            <h1>{format!("Trade {} · {title}", trade.id)}</h1>
            <span class=format!("badge status-{}", trade.status)>{trade.status.as_str()}</span>
        </div>
        <dl class="facts">
            <div><dt>"Account"</dt><dd class="mono">{trade.account_code.clone()}</dd></div>
            <div><dt>"Quantity"</dt><dd class="num">{quantity(trade.total_quantity)}</dd></div>
            <div><dt>"Average price"</dt><dd class="num">{money(trade.avg_price)}</dd></div>
            <div><dt>"Fills"</dt><dd class="num">{trade.fills_count}</dd></div>
            <div><dt>"Commission"</dt><dd class="num">{money(trade.commission_total)}</dd></div>
            <div><dt>"First fill"</dt><dd><Time at=trade.first_executed_at /></dd></div>
            <div><dt>"Last fill"</dt><dd><Time at=trade.last_executed_at /></dd></div>
            <div><dt>"Grouped by"</dt><dd><span class="badge grouped">{grouped}</span></dd></div>
        </dl>
        <h2>"Broker ids"</h2>
        <dl class="facts ids">
            <Copyable label="Match key" value=Some(trade.match_key.clone()) />
            <Copyable label="Perm id" value=trade.ib_perm_id.map(|v| v.to_string()) />
            <Copyable label="Order id" value=trade.ib_order_id.map(|v| v.to_string()) />
            <Copyable label="Order ref" value=trade.order_ref.clone() />
            <Copyable label="Client id" value=trade.client_id.map(|v| v.to_string()) />
        </dl>
        <h2>"Executions"</h2>
        <div class="table-wrap">
            <table class="data executions">
                <caption class="visually-hidden">"Every execution revision of this trade"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Exec id"</th>
                        <th scope="col" class="num">"Rev"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Side"</th>
                        <th scope="col" class="num">"Quantity"</th>
                        <th scope="col" class="num">"Price"</th>
                        <th scope="col" class="num">"Commission"</th>
                        <th scope="col">"Liquidity"</th>
                        <th scope="col">"Exchange"</th>
                        <th scope="col">"Raw"</th>
                    </tr>
                </thead>
                <tbody>
                    {executions.into_iter().map(execution_row).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The trade's history, oldest first: each fill's first recording, then every change.
#[component]
fn Timeline(history: TradeHistoryDto) -> impl IntoView {
    let mut entries: Vec<(chrono::DateTime<chrono::Utc>, i32, AnyView)> = history
        .recorded
        .into_iter()
        .map(|r| {
            let view = view! {
                <span class="badge history-recorded">"recorded"</span>
                " "
                <a class="mono" href=format!("#{}", anchor(&r.ib_exec_id))>{r.ib_exec_id.clone()}</a>
            }
            .into_any();
            (r.recorded_at, 0, view)
        })
        .collect();
    entries.extend(
        history
            .events
            .into_iter()
            .map(|e| (e.at, e.id, event_view(e))),
    );
    entries.sort_by_key(|(at, id, _)| (*at, *id));
    view! {
        <h2>"History"</h2>
        <ol class="timeline" data-testid="history">
            {entries
                .into_iter()
                .map(|(at, _, body)| view! { <li><Time at=Some(at) />" · "{body}</li> })
                .collect_view()}
        </ol>
    }
}

/// `{"price": 10}` → `price 10`.
fn fields(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(o) => o
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k} {s}"),
                serde_json::Value::Null => format!("{k} —"),
                v => format!("{k} {v}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => v.to_string(),
    }
}

fn event_view(e: FillEventDto) -> AnyView {
    let label = match e.kind.as_str() {
        "commission" => "commission",
        "corrected" => "corrected",
        "flex_ids" => "statement ids",
        "source_added" => "source added",
        "superseded" => "superseded",
        "canonical" => "canonical again",
        "busted" => "cancelled",
        "moved" => "moved",
        other => other,
    }
    .to_string();
    let source = e
        .source
        .clone()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    view! {
        <span class=format!("badge history-{}", e.kind) data-kind=e.kind.clone()>{label}</span>
        " "
        <a class="mono" href=format!("#{}", anchor(&e.ib_exec_id))>{e.ib_exec_id.clone()}</a>
        " "
        <span class="change">{format!("{} → {}", fields(&e.before), fields(&e.after))}</span>
        <span class="muted">{source}</span>
    }
    .into_any()
}

fn anchor(exec_id: &str) -> String {
    format!(
        "exec-{}",
        exec_id.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
}

fn execution_row(e: ExecutionDto) -> impl IntoView {
    let row_class = if e.busted_by.is_some() {
        "busted"
    } else if e.is_canonical {
        "canonical"
    } else {
        "superseded"
    };
    let state = if let Some(cancel) = e.busted_by.clone() {
        view! {
            <span class="badge busted-badge">"cancelled"</span>
            " by statement "
            <span class="mono">{cancel}</span>
        }
        .into_any()
    } else if e.is_canonical {
        view! { <span class="badge canonical-badge">"canonical"</span> }.into_any()
    } else {
        let successor = e.superseded_by.clone().unwrap_or_default();
        view! {
            <span class="badge superseded-badge">"superseded"</span>
            " by "
            <a href=format!("#{}", anchor(&successor))>{successor.clone()}</a>
        }
        .into_any()
    };
    let commission = match e.commission {
        Some(_) => money(e.commission),
        None if has_sentinel_commission(&e) => "missing".to_string(),
        None => "pending".to_string(),
    };
    let raw = [("gateway", &e.raw), ("statement", &e.flex_raw)]
        .into_iter()
        .filter_map(|(source, r)| {
            let r = r
                .as_ref()
                .filter(|r| r.as_object().is_none_or(|o| !o.is_empty()))?;
            Some(format!(
                "{source}: {}",
                serde_json::to_string_pretty(r).unwrap_or_default()
            ))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let when = if e.time_unknown {
        view! {
            <span title="The statement gives the date only">
                {e.executed_at.format("%Y-%m-%d").to_string()}
                " "
                <span class="muted">"time unknown"</span>
            </span>
        }
        .into_any()
    } else {
        view! { <Time at=Some(e.executed_at) /> }.into_any()
    };
    let commission = match (&e.commission_currency, &e.currency) {
        (Some(c), Some(trade)) if c != trade && e.commission.is_some() => {
            format!("{commission} {c}")
        }
        _ => commission,
    };
    view! {
        <tr id=anchor(&e.ib_exec_id) class=row_class>
            <td class="mono exec-id">{e.ib_exec_id.clone()}</td>
            <td class="num">{e.exec_revision}</td>
            <td class="state-cell">{state}</td>
            <td>{when}</td>
            <td>{e.side.clone().unwrap_or_default()}</td>
            <td class="num">{quantity(e.quantity)}</td>
            <td class="num">{money(Some(e.price))}</td>
            <td class="num">{commission}</td>
            <td>{e.liquidity.clone().unwrap_or_default()}</td>
            <td>{e.exchange.clone().unwrap_or_default()}</td>
            <td>
                <details>
                    <summary>"raw"</summary>
                    <pre class="raw">{raw}</pre>
                </details>
            </td>
        </tr>
    }
}

/// A commission report arrived but carried a placeholder (-1, f64::MAX): "missing", not "pending".
fn has_sentinel_commission(e: &ExecutionDto) -> bool {
    e.raw
        .as_ref()
        .and_then(|r| r.get("commission_report"))
        .is_some_and(|c| !c.is_null())
}

/// A labelled id with a Copy button (the page enhancements copy `data-copy`; the value
/// stays selectable without JavaScript).
#[component]
fn Copyable(label: &'static str, value: Option<String>) -> impl IntoView {
    match value {
        None => view! { <div><dt>{label}</dt><dd class="muted">"—"</dd></div> }.into_any(),
        Some(v) => view! {
            <div>
                <dt>{label}</dt>
                <dd>
                    <code class="copyable">{v.clone()}</code>
                    <button
                        type="button"
                        class="button secondary small"
                        aria-label=format!("Copy {label}")
                        data-copy=v
                    >
                        "Copy"
                    </button>
                </dd>
            </div>
        }
        .into_any(),
    }
}
