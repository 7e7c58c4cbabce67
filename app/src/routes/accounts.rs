//! Accounts: the IB accounts Fillbook has seen, each with its coverage map (the last 90
//! days as day cells — covered by a gateway sync, by a statement, by both, or a gap — and
//! every gap as text) and, for administrators, the time zone its statements are read in.

use crate::components::format::Time;
use crate::components::listing::{listing, PageHeader};
use crate::components::session::{current_session, CsrfField};
use crate::errors::first_refusal;
use crate::models::{CoverageDto, DayRange, Page};
use crate::server_fns::{list_coverage, SetFlexTimeZone};
use chrono::{Duration, NaiveDate};
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

/// Days shown in the coverage strip, ending today.
const STRIP_DAYS: i64 = 90;

/// What covered `day`: `sync`, `flex`, `both`, `gap`, or `none` (before the first fill).
pub fn day_class(c: &CoverageDto, day: NaiveDate) -> &'static str {
    let inside = |ranges: &[DayRange]| ranges.iter().any(|r| r.contains(day));
    match (inside(&c.sync), inside(&c.flex), inside(&c.gaps)) {
        (true, true, _) => "both",
        (true, false, _) => "sync",
        (false, true, _) => "flex",
        (false, false, true) => "gap",
        _ => "none",
    }
}

fn label(class: &str) -> &'static str {
    match class {
        "both" => "sync and statement",
        "sync" => "gateway sync",
        "flex" => "statement",
        "gap" => "gap",
        _ => "before the first fill",
    }
}

fn range_text(r: &DayRange) -> String {
    if r.start == r.end {
        r.start.to_string()
    } else {
        format!("{} – {}", r.start, r.end)
    }
}

#[component]
fn CoverageStrip(coverage: CoverageDto) -> impl IntoView {
    let first = coverage.today - Duration::days(STRIP_DAYS - 1);
    let gap_days: i64 = coverage
        .gaps
        .iter()
        .map(|g| (g.end.max(first) - g.start.max(first)).num_days() + 1)
        .filter(|n| *n > 0)
        .sum();
    let summary = format!(
        "Coverage of the last {STRIP_DAYS} days, {first} to {}: {gap_days} gap days",
        coverage.today
    );
    let cells = (0..STRIP_DAYS)
        .map(|i| {
            let day = first + Duration::days(i);
            let class = day_class(&coverage, day);
            view! { <span class=format!("cov-{class}") title=format!("{day}: {}", label(class))></span> }
        })
        .collect_view();
    view! {
        <div class="coverage-strip" role="img" aria-label=summary>{cells}</div>
    }
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let set_zone = ServerAction::<SetFlexTimeZone>::new();
    let accounts = Resource::new(move || set_zone.version().get(), |_| list_coverage());
    let admin = current_session().is_some_and(|s| s.is_admin);
    let zone_error = move || {
        first_refusal([set_zone.value().get()])
            .map(|e| view! { <div class="error-box" role="alert">{e}</div> })
    };
    view! {
        <Title text="Accounts" />
        <PageHeader title="Accounts" />
        <div class="coverage-legend" aria-hidden="true">
            <span><i class="legend-sync"></i>"gateway sync"</span>
            <span><i class="legend-flex"></i>"statement"</span>
            <span><i class="legend-both"></i>"both"</span>
            <span><i class="legend-gap"></i>"gap"</span>
        </div>
        {zone_error}
        {listing(
            accounts,
            || view! {
                <h2>"No accounts yet"</h2>
                <p>"Accounts are added from the gateway's managed accounts on the first sync, or by a statement import."</p>
            },
            move |page: Page<CoverageDto>| view! {
                <div class="table-wrap">
                <table class="data">
                    <caption class="visually-hidden">"Accounts"</caption>
                    <thead><tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Alias"</th>
                        <th scope="col">"First fill"</th>
                        <th scope="col">"Statement time zone"</th>
                        <th scope="col" class="num">"Gaps"</th>
                        <th scope="col">"First seen"</th>
                    </tr></thead>
                    <tbody>
                        {page.items.iter().map(|c| view! {
                            <tr>
                                <td class="mono"><a href=format!("#account-{}", c.account.id)>{c.account.code.clone()}</a></td>
                                <td>{c.account.alias.clone().unwrap_or_default()}</td>
                                <td><Time at=c.first_fill /></td>
                                <td class="mono">{c.account.flex_time_zone.clone().unwrap_or_else(|| "America/New_York (default)".into())}</td>
                                <td class="num">{c.gaps.len()}</td>
                                <td><Time at=Some(c.account.created_at) /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                {page.items.into_iter().map(|c| {
                    let a = c.account.clone();
                    let gaps = c.gaps.clone();
                    let zone = a.flex_time_zone.clone();
                    let zone_label = format!("Statement time zone of {} (IANA)", a.code);
                    view! {
                        <section class="card account-card" aria-labelledby=format!("account-{}", a.id) data-account=a.code.clone()>
                            <h2 id=format!("account-{}", a.id) class="mono">{format!("{} coverage", a.code)}</h2>
                            <CoverageStrip coverage=c.clone() />
                            {if gaps.is_empty() {
                                view! { <p class="muted">"No gaps since the first fill."</p> }.into_any()
                            } else {
                                view! {
                                    <p>"Not covered by a sync or a statement: "
                                        <span class="gaps" data-testid="gaps">
                                            {gaps.iter().map(range_text).collect::<Vec<_>>().join(", ")}
                                        </span>
                                    </p>
                                }.into_any()
                            }}
                            {admin.then(|| view! {
                                <ActionForm action=set_zone attr:class="upload-form">
                                    <input type="hidden" name="account_id" value=a.id />
                                    <CsrfField />
                                    <div class="field">
                                        <label for=format!("zone-{}", a.id)>{zone_label}</label>
                                        <input id=format!("zone-{}", a.id) name="zone" type="text"
                                            value=zone.unwrap_or_default() placeholder="America/New_York" maxlength="64" />
                                    </div>
                                    <button type="submit" class="button secondary">"Save time zone"</button>
                                </ActionForm>
                            })}
                        </section>
                    }
                }).collect_view()}
            }.into_any(),
        )}
    }
}
