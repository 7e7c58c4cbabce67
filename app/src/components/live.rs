//! Changes pushed by the server (`/api/v1/events`, Server-Sent Events): a page subscribes
//! with [`on_changes`] and refreshes what it shows when jobs or fills change. The
//! connection closes when the page's view is cleaned up; the browser reconnects it by
//! itself after a network error.

use crate::models::Change;

/// Calls `handler` with every change until the current view is cleaned up; a `lagged`
/// notice (changes were missed) arrives as an empty fills change, so the page re-reads.
#[cfg(feature = "hydrate")]
pub fn on_changes(handler: impl Fn(Change) + 'static) {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/api/v1/events") else {
        return;
    };
    let callback =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let change = if event.type_() == "lagged" {
                Some(Change::Fills {
                    accounts: Vec::new(),
                    count: 0,
                })
            } else {
                event
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_str::<Change>(&text).ok())
            };
            if let Some(change) = change {
                handler(change);
            }
        });
    for name in ["job", "fills", "lagged"] {
        let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
    }
    let kept = StoredValue::new_local(Some((source, callback)));
    on_cleanup(move || {
        if let Some((source, _callback)) = kept.try_update_value(|v| v.take()).flatten() {
            source.close();
        }
    });
}

/// Server-side rendering has no live connection.
#[cfg(not(feature = "hydrate"))]
pub fn on_changes(_handler: impl Fn(Change) + 'static) {}
