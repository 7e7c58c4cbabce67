//! API tokens: create one for a bot (shown once, on the page the form posts to) and revoke
//! tokens. Administrators see every token; other operators the ones they made. The forms
//! are plain HTML forms, so this page works the same without JavaScript.

use crate::components::format::Time;
use crate::components::listing::listing;
use crate::components::session::{current_session, CsrfField};
use crate::server_fns::list_tokens;
use leptos::prelude::*;
use leptos_meta::Title;

/// The scopes a token can have, with what they allow.
const SCOPES: [(&str, &str); 6] = [
    (
        "trades:read",
        "read trades, executions, accounts, jobs and orders",
    ),
    ("positions:read", "read positions"),
    (
        "jobs:write",
        "enqueue, retry and cancel jobs such as trades.sync",
    ),
    (
        "orders:write",
        "prepare and submit orders (behind the confirmation guard)",
    ),
    ("audit:read", "read the audit log"),
    ("imports:write", "upload Flex statements to import"),
];

#[component]
pub fn TokensPage() -> impl IntoView {
    let tokens = Resource::new(|| (), |_| list_tokens());
    // Only administrators hold `audit:read`, so only they may put it on a token.
    let admin = current_session().is_some_and(|s| s.is_admin);
    view! {
        <Title text="API tokens" />
        <div class="page-header"><h1>"API tokens"</h1></div>
        <section class="card" aria-labelledby="new-token-title">
            <h2 id="new-token-title">"New token"</h2>
            <p class="muted">"Bots send it as " <code>"Authorization: Bearer <token>"</code> " to /api/v1 and /mcp. It is shown once."</p>
            <form method="post" action="/tokens" class="token-form">
                <CsrfField />
                <div class="field">
                    <label for="token-name">"Name"</label>
                    <input id="token-name" name="name" type="text" required maxlength="100" placeholder="e.g. rebalancer-bot" />
                </div>
                <fieldset class="field">
                    <legend>"Scopes"</legend>
                    {SCOPES.iter().filter(|(scope, _)| admin || *scope != "audit:read").map(|(scope, what)| view! {
                        <label class="check">
                            <input type="checkbox" name="scopes" value=*scope />
                            <span class="mono">{*scope}</span>
                            <span class="muted">{format!(" — {what}")}</span>
                        </label>
                    }).collect_view()}
                </fieldset>
                <div class="field submit">
                    <button type="submit" class="button">"Create token"</button>
                </div>
            </form>
        </section>
        {listing(
            tokens,
            || view! { <h2>"No API tokens yet"</h2> },
            |page| view! {
                <div class="table-wrap">
                <table class="data">
                    <caption class="visually-hidden">"API tokens"</caption>
                    <thead><tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Created by"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        {page.items.into_iter().map(|t| {
                            let revoked = t.revoked_at.is_some();
                            let id = t.id;
                            view! {
                                <tr>
                                    <td>{t.name.clone()}</td>
                                    <td class="mono">{format!("{}…", t.prefix)}</td>
                                    <td class="mono wrap">{t.scopes.join(", ")}</td>
                                    <td>{t.created_by.clone()}</td>
                                    <td><Time at=Some(t.created_at) /></td>
                                    <td><Time at=t.last_used_at /></td>
                                    <td>{if revoked { "revoked" } else { "active" }}</td>
                                    <td>
                                        {(!revoked).then(|| view! {
                                            <form method="post" action=format!("/tokens/{id}/revoke") class="inline-form">
                                                <CsrfField />
                                                <button type="submit" class="button secondary small"
                                                    aria-label=format!("Revoke token {}", t.name)>"Revoke"</button>
                                            </form>
                                        })}
                                    </td>
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
