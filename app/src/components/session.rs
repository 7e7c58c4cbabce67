//! The signed-in operator, loaded once per page: their name and role for the header, and
//! the CSRF token every form posts back (the server refuses state changes without it).

use crate::models::SessionDto;
use crate::server_fns::current_session;
use leptos::prelude::*;

/// The current session, as a resource in context.
pub type SessionResource = Resource<Result<SessionDto, ServerFnError>>;

/// Loads the session and puts it in context for [`CsrfField`] and [`SessionMenu`].
pub fn provide_session() {
    let session: SessionResource = Resource::new(|| (), |_| current_session());
    provide_context(session);
}

/// The hidden `csrf` input every state-changing form carries.
#[component]
pub fn CsrfField() -> impl IntoView {
    let session = use_context::<SessionResource>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let csrf = match session {
                    Some(s) => s.await.map(|s| s.csrf).unwrap_or_default(),
                    None => String::new(),
                };
                view! { <input type="hidden" name="csrf" value=csrf /> }
            })}
        </Transition>
    }
}

/// The operator's name, the admin-only links and the sign-out button.
#[component]
pub fn SessionMenu() -> impl IntoView {
    let session = use_context::<SessionResource>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let current = match session {
                    Some(s) => s.await.ok(),
                    None => None,
                };
                current.map(|s| view! {
                    <div class="session-menu">
                        {s.is_admin.then(|| view! { <a href="/audit">"Audit log"</a> })}
                        <span class="muted" data-testid="signed-in-as" title="Signed in">{s.username.clone()}</span>
                        <form method="post" action="/logout" class="inline-form">
                            <input type="hidden" name="csrf" value=s.csrf.clone() />
                            <button type="submit" class="button secondary small">"Sign out"</button>
                        </form>
                    </div>
                })
            })}
        </Transition>
    }
}
