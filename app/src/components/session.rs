//! The signed-in operator: their name and role for the header, and the CSRF token every
//! form posts back (the server refuses state changes without it). The server reads it from
//! the request and hands it to the browser with the page (a `SharedValue`: read at once,
//! no server function round trip and no suspense boundary around the header and forms).

use crate::models::SessionDto;
use leptos::prelude::*;
use leptos::server::SharedValue;

/// The session of this page, in context.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(pub Option<SessionDto>);

/// Puts the request's session in context for [`CsrfField`] and [`SessionMenu`].
pub fn provide_session() {
    let shared = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            crate::backend::from_request::<SessionDto>()
        }
        #[cfg(not(feature = "ssr"))]
        {
            None::<SessionDto>
        }
    });
    provide_context(CurrentSession(shared.into_inner()));
}

/// The signed-in operator of this page, if any.
pub fn current_session() -> Option<SessionDto> {
    use_context::<CurrentSession>().and_then(|s| s.0)
}

/// The hidden `csrf` input every state-changing form carries.
#[component]
pub fn CsrfField() -> impl IntoView {
    let csrf = current_session().map(|s| s.csrf).unwrap_or_default();
    view! { <input type="hidden" name="csrf" value=csrf /> }
}

/// The operator's name, the admin-only links and the sign-out button.
#[component]
pub fn SessionMenu() -> impl IntoView {
    current_session().map(|s| {
        view! {
            <div class="session-menu">
                {s.is_admin.then(|| view! { <a href="/audit">"Audit log"</a> })}
                <a href="/account/password" rel="external" class="muted" data-testid="signed-in-as" title="Signed in: change your password">{s.username.clone()}</a>
                <form method="post" action="/logout" class="inline-form">
                    <CsrfField />
                    <button type="submit" class="button secondary small">"Sign out"</button>
                </form>
            </div>
        }
    })
}
