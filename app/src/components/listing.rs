//! One way to show a loaded list: a header with a Refresh button, then loading,
//! error, empty state or the table, in a region a live page re-reads in place.

use crate::models::Page;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// The result of a list server function, as a resource.
pub type ListResource<T> = Resource<Result<Page<T>, ServerFnError>>;

/// The page title and a Refresh button that reads the page again in place (handled by
/// the page enhancements).
#[component]
pub fn PageHeader(title: &'static str) -> impl IntoView {
    view! {
        <div class="page-header">
            <h1>{title}</h1>
            <div class="page-actions">
                <span class="refresh-status" role="status" aria-live="polite" data-refresh-status=""></span>
                <RefreshButton label="Refresh" />
            </div>
        </div>
    }
}

/// A button that reads the current page again in place.
#[component]
pub fn RefreshButton(label: &'static str) -> impl IntoView {
    view! {
        <button type="button" class="button secondary" data-refresh="">{label}</button>
    }
}

/// Renders `resource`: the page from `table` when there are items, `empty` when none.
pub fn listing<T, V, E, EV>(resource: ListResource<T>, empty: E, table: V) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: Fn(Page<T>) -> AnyView + Clone + Send + Sync + 'static,
    E: Fn() -> EV + Clone + Send + Sync + 'static,
    EV: IntoView + 'static,
{
    view! {
        <div data-region="listing">
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let empty = empty.clone();
                let table = table.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(page) if page.items.is_empty() => {
                            view! { <section class="empty-state">{empty()}</section> }.into_any()
                        }
                        Ok(page) => table(page),
                        Err(err) => {
                            view! {
                                <div class="error-box" role="alert">
                                    <strong>"Could not load this page: "</strong>
                                    {err.to_string()}
                                </div>
                            }
                                .into_any()
                        }
                    }
                })
            }}
        </Transition>
        </div>
    }
}
