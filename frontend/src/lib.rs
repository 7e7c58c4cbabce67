//! The browser entry point. Pages are rendered on the server; only the app's island (the
//! page enhancements in `app::components::enhance`) runs here. Leptos' island script calls
//! `hydrate` once the bundle has loaded, then each island's own entry point.

// Links the `app` crate, whose island entry points this bundle exports.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
