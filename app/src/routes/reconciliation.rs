//! Reconciliation (`/reconciliation`): per account, the gateway's positions against the
//! positions the canonical fills imply since the baseline, and every finding — most severe
//! first, each with its stable code and links to the pages concerned. `?account=` narrows it
//! to one account.

use crate::components::format::{quantity, Time};
use crate::components::listing::RefreshButton;
use crate::models::{AccountReconciliationDto, FindingDto, ReconciliationDto};
use crate::server_fns::get_reconciliation;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ReconciliationPage() -> impl IntoView {
    let query = use_query_map();
    let account = move || {
        query.with(|q| {
            q.get("account")
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
        })
    };
    let report = Resource::new(account, get_reconciliation);
    view! {
        <Title text="Reconciliation" />
        <div class="page-header">
            <h1>"Reconciliation"</h1>
            <div class="page-actions">
                <RefreshButton label="Check again" />
            </div>
        </div>
        <p class="muted">
            "The gateway's positions (as positions.sync last read them) against the positions the "
            "canonical fills imply since each account's baseline; fills without commission, "
            "executions of unknown orders, statuses that disagree with their order, and gaps in "
            "the coverage map."
        </p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(r) => view! { <Report report=r /> }.into_any(),
                    Err(e) => view! {
                        <div class="error-box" role="alert">
                            <strong>"Could not reconcile: "</strong>{e.to_string()}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Report(report: ReconciliationDto) -> impl IntoView {
    let summary = if report.findings.is_empty() {
        "No findings: the ledger agrees with the gateway and itself.".to_string()
    } else {
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == "error")
            .count();
        format!(
            "{} findings, {errors} of them errors.",
            report.findings.len()
        )
    };
    view! {
        <p data-testid="reconciliation-summary">
            {summary}" Checked "<Time at=Some(report.generated_at) />"."
        </p>
        <h2>"Findings"</h2>
        {if report.findings.is_empty() {
            view! { <p class="empty-state">"Nothing to look at."</p> }.into_any()
        } else {
            view! {
                <ul class="findings" data-testid="findings">
                    {report.findings.into_iter().map(finding).collect_view()}
                </ul>
            }
            .into_any()
        }}
        <h2>"Positions"</h2>
        {report.accounts.into_iter().map(account_positions).collect_view()}
    }
}

fn finding(f: FindingDto) -> impl IntoView {
    let difference = f
        .difference
        .map(|d| format!(" (difference {})", quantity(d)))
        .unwrap_or_default();
    view! {
        <li class=format!("finding severity-{}", f.severity) data-code=f.code.clone()>
            <span class=format!("badge severity-{}", f.severity)>{f.severity.clone()}</span>
            " "
            <code>{f.code.clone()}</code>
            " "
            <span class="mono">{f.account.clone()}</span>
            " · "
            <strong>{f.subject.clone()}</strong>
            ": "
            {f.message.clone()}
            {difference}
            " "
            {f.links
                .into_iter()
                .map(|href| view! { <a class="finding-link" href=href.clone()>{href.clone()}</a>" " })
                .collect_view()}
        </li>
    }
}

fn account_positions(a: AccountReconciliationDto) -> impl IntoView {
    let baseline = match a.baseline_at {
        Some(at) => view! { "baseline " <Time at=Some(at) /> }.into_any(),
        None => view! { "no baseline (every fill counts, from flat)" }.into_any(),
    };
    let fetched = match a.positions_fetched_at {
        Some(at) => view! { "positions read " <Time at=Some(at) /> }.into_any(),
        None => view! { "positions never read" }.into_any(),
    };
    view! {
        <section class="reconciled-account" data-account=a.account.clone()>
            <h3><span class="mono">{a.account.clone()}</span></h3>
            <p class="muted">{baseline}" · "{fetched}</p>
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Symbol"</th>
                        <th scope="col" class="num">"Gateway"</th>
                        <th scope="col" class="num">"Implied by fills"</th>
                        <th scope="col" class="num">"Difference"</th>
                    </tr>
                </thead>
                <tbody>
                    {a.instruments.into_iter().map(|i| {
                        let off = i.difference.is_some_and(|d| d.abs() > 1e-9);
                        view! {
                            <tr class:mismatch=off>
                                <td>{i.symbol}</td>
                                <td class="num">{i.gateway.map(quantity).unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{quantity(i.implied)}</td>
                                <td class="num">{i.difference.map(quantity).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
