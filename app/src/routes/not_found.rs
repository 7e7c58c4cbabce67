//! The 404 page; answers with status 404 when rendered on the server.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="empty-state">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. "<a href="/trades">"Go to the trades"</a>"."</p>
        </section>
    }
}
