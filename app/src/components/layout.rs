//! The page frame: brand, primary navigation and the main landmark.

use super::enhance::Enhance;
use super::session::SessionMenu;
use leptos::prelude::*;
use leptos_router::components::A;

/// Navigation entries, in display order.
const NAV: [(&str, &str); 8] = [
    ("/trades", "Trades"),
    ("/orders", "Orders"),
    ("/positions", "Positions"),
    ("/reconciliation", "Reconciliation"),
    ("/jobs", "Jobs"),
    ("/imports", "Imports"),
    ("/accounts", "Accounts"),
    ("/tokens", "API tokens"),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/trades">
                <img src="/favicon.svg" alt="" width="20" height="20" />
                <span>"Fillbook"</span>
            </a>
            <nav aria-label="Primary">
                <ul>
                    {NAV
                        .iter()
                        .map(|(href, label)| {
                            view! {
                                <li>
                                    <A href=*href>{*label}</A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <GatewayMarker />
            <SessionMenu />
        </header>
        <main id="main" tabindex="-1" data-app-main="">
            {children()}
        </main>
        <Enhance />
    }
}

/// Names the gateway in the header; the demo simulator gets a visible marker.
#[component]
fn GatewayMarker() -> impl IntoView {
    let info = Resource::new(|| (), |_| crate::server_fns::server_info());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                info.await.ok().map(|i| {
                    if i.demo_gateway {
                        view! {
                            <span class="demo-marker" title=format!("Simulated IB Gateway at {}", i.gateway)>
                                "demo gateway"
                            </span>
                        }
                        .into_any()
                    } else {
                        view! { <span class="gateway muted" title="IB Gateway">{i.gateway}</span> }.into_any()
                    }
                })
            })}
        </Transition>
    }
}
