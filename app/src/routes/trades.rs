//! Trades (the home page): parent trades with filters kept in the URL query (shareable,
//! back button works), keyset pagination and a time sort.

use crate::components::format::{money, quantity, Time};
use crate::components::listing::{listing, PageHeader};
use crate::components::sync_now::SyncNow;
use crate::models::{Page, TradeDto, TradeQuery, TradeStatus};
use crate::server_fns::{list_accounts, list_trades};
use chrono::{NaiveDate, TimeZone, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// The URL parameters of this page, in link order.
const PARAMS: [&str; 6] = ["account", "status", "symbol", "from", "to", "order"];

fn param(q: &ParamsMap, key: &str) -> Option<String> {
    q.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn day_start(text: Option<String>, plus_days: i64) -> Option<chrono::DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(&text?, "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)? + chrono::Duration::days(plus_days);
    Some(Utc.from_utc_datetime(&midnight))
}

/// The trades query the URL describes: `from`/`to` are whole UTC days, `to` inclusive.
pub fn query_from_url(q: &ParamsMap) -> TradeQuery {
    TradeQuery {
        account: param(q, "account"),
        // A status the URL names wrongly (edited by hand) shows every status.
        status: param(q, "status").and_then(|s| s.parse().ok()),
        symbol: param(q, "symbol"),
        since: day_start(param(q, "from"), 0),
        until: day_start(param(q, "to"), 1),
        cursor: param(q, "cursor"),
        order: param(q, "order"),
        ..TradeQuery::default()
    }
}

/// `/trades?…` with the current filters and the given overrides.
fn href_with(q: &ParamsMap, overrides: &[(&str, Option<&str>)]) -> String {
    let mut parts = Vec::new();
    for key in PARAMS.iter().chain(["cursor"].iter()) {
        let value = match overrides.iter().find(|(k, _)| k == key) {
            Some((_, v)) => v.map(str::to_string),
            None if *key == "cursor" => None,
            None => param(q, key),
        };
        if let Some(v) = value {
            parts.push(format!("{key}={}", crate::url::encode(&v)));
        }
    }
    if parts.is_empty() {
        "/trades".to_string()
    } else {
        format!("/trades?{}", parts.join("&"))
    }
}

/// The CSV export of `kind` (`fills` or `trades`) for the page's account and period
/// (the page's whole UTC days become the export's `since`/`until` bounds).
fn export_href(kind: &str, q: &ParamsMap) -> String {
    let query = query_from_url(q);
    let mut href = format!("/api/v1/exports/{kind}?format=csv");
    if let Some(account) = &query.account {
        href.push_str(&format!("&account={}", crate::url::encode(account)));
    }
    for (key, bound) in [("since", query.since), ("until", query.until)] {
        if let Some(t) = bound {
            let text = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            href.push_str(&format!("&{key}={}", crate::url::encode(&text)));
        }
    }
    href
}

#[component]
pub fn TradesPage() -> impl IntoView {
    let query = use_query_map();
    let trades = Resource::new(move || query.with(query_from_url), list_trades);
    view! {
        <Title text="Trades" />
        <PageHeader title="Trades" />
        <SyncNow />
        <TradeFilters />
        <p class="downloads">
            "Download CSV: "
            <a href=move || export_href("fills", &query.get()) download="" data-testid="export-fills">"fills"</a>
            " · "
            <a href=move || export_href("trades", &query.get()) download="" data-testid="export-trades">"trades"</a>
            " (the account and period filters apply)"
        </p>
        {listing(
                trades,
                || view! {
                    <h2>"No trades match"</h2>
                    <p>
                        "Trades are built from the executions a trades sync reads from the gateway. "
                        "Press "<strong>"Sync now"</strong>" above (or run "<code>"fillbook sync trades"</code>
                        ") to pull them in, or widen the filters."
                    </p>
                },
                move |page: Page<TradeDto>| trades_table(page, query.get_untracked()),
            )}
    }
}

/// The filter form: a plain GET form (the page enhancements follow it without a reload).
#[component]
fn TradeFilters() -> impl IntoView {
    let query = use_query_map();
    let accounts = Resource::new(|| (), |_| list_accounts());
    let value = move |key: &'static str| query.with(|q| param(q, key).unwrap_or_default());
    view! {
        <Form method="GET" action="/trades">
            <fieldset class="filters">
                <legend class="visually-hidden">"Filter trades"</legend>
                <label>
                    "Account"
                    <Transition fallback=|| view! { <select name="account" disabled=true></select> }>
                        {move || Suspend::new(async move {
                            let codes: Vec<String> = accounts
                                .await
                                .map(|p| p.items.into_iter().map(|a| a.code).collect())
                                .unwrap_or_default();
                            let current = value("account");
                            view! {
                                <select name="account">
                                    <option value="" selected=current.is_empty()>"All accounts"</option>
                                    {codes.into_iter().map(|c| {
                                        let selected = c == current;
                                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            }
                        })}
                    </Transition>
                </label>
                <label>
                    "Status"
                    <select name="status">
                        {std::iter::once("").chain(TradeStatus::ALL.iter().map(|s| s.as_str())).map(|s| {
                            let label = if s.is_empty() { "Any status" } else { s };
                            view! { <option value=s selected=move || value("status") == s>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Symbol"
                    <input type="text" name="symbol" size="8" autocomplete="off" prop:value=move || value("symbol") />
                </label>
                <label>
                    "From (UTC day)"
                    <input type="date" name="from" prop:value=move || value("from") />
                </label>
                <label>
                    "To (UTC day)"
                    <input type="date" name="to" prop:value=move || value("to") />
                </label>
                <label>
                    "Sort"
                    <select name="order">
                        <option value="desc" selected=move || value("order") != "asc">"Newest first"</option>
                        <option value="asc" selected=move || value("order") == "asc">"Oldest first"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Apply"</button>
                <a class="button secondary" href="/trades">"Clear"</a>
            </fieldset>
        </Form>
    }
}

fn trades_table(page: Page<TradeDto>, q: ParamsMap) -> AnyView {
    let next = page
        .next_cursor
        .as_deref()
        .map(|c| href_with(&q, &[("cursor", Some(c))]));
    let first = param(&q, "cursor").map(|_| href_with(&q, &[]));
    let newest_first = param(&q, "order").as_deref() != Some("asc");
    let sort_href = href_with(
        &q,
        &[("order", Some(if newest_first { "asc" } else { "desc" }))],
    );
    view! {
        <div class="table-wrap">
            <table class="data">
                <caption class="visually-hidden">"Trades"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Symbol"</th>
                        <th scope="col">"Side"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Quantity"</th>
                        <th scope="col" class="num">"Avg price"</th>
                        <th scope="col">"First fill"</th>
                        <th scope="col" aria-sort=if newest_first { "descending" } else { "ascending" }>
                            <a href=sort_href title="Change the sort order">
                                "Last fill " {if newest_first { "▼" } else { "▲" }}
                            </a>
                        </th>
                        <th scope="col" class="num">"Fills"</th>
                        <th scope="col" class="num">"Commission"</th>
                        <th scope="col">"Grouped by"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.items.into_iter().map(|t| {
                        let grouped = t.grouped_by();
                        let href = format!("/trades/{}", t.id);
                        view! {
                            <tr>
                                <td class="mono">{t.account_code}</td>
                                <td><a href=href>{t.symbol.unwrap_or_else(|| "?".into())}</a></td>
                                <td>{t.side.unwrap_or_default()}</td>
                                <td><span class=format!("badge status-{}", t.status)>{t.status.as_str()}</span></td>
                                <td class="num">{quantity(t.total_quantity)}</td>
                                <td class="num">{money(t.avg_price)}</td>
                                <td><Time at=t.first_executed_at /></td>
                                <td><Time at=t.last_executed_at /></td>
                                <td class="num">{t.fills_count}</td>
                                <td class="num">{money(t.commission_total)}</td>
                                <td><span class="badge grouped" title=t.match_key>{grouped}</span></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {first.map(|h| view! { <a class="button secondary" href=h>"« First page"</a> })}
            {next.map(|h| view! { <a class="button secondary" href=h rel="next">"Next page »"</a> })}
        </nav>
    }
    .into_any()
}
