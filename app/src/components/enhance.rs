//! The one island: everything else is rendered on the server only, and this small piece
//! of browser code makes those server pages feel like an app.
//!
//! - Links and forms of the app are followed with `fetch`: the answer's header and
//!   `<main>` replace the page's, the address bar and history follow, nothing reloads.
//!   Anything that is not an app page (the sign-in page, the API reference, downloads)
//!   is left to the browser.
//! - A page that follows changes (`data-follow` on its content) re-reads its
//!   `data-region` parts whenever the server announces a job or fill change on
//!   `/api/v1/events`, and once each time that stream (re)connects, so nothing that
//!   happened between the render and the subscription is missed.
//! - `data-refresh` buttons re-read the page in place; `data-copy` buttons copy their value.
//! - `<time>` elements are shown in the browser's time zone (the server writes UTC).
//!
//! Without JavaScript the same links and forms work as plain navigation and posts.

use leptos::prelude::*;

/// Installs the page enhancements once the bundle has loaded; renders nothing.
#[island]
pub fn Enhance() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    client::install();
}

/// Marks the page it is on as one that follows changes: its `data-region` parts are read
/// again whenever the server announces a job or fill change.
#[component]
pub fn FollowsChanges() -> impl IntoView {
    view! { <span hidden="" data-follow=""></span> }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::Cell;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        Document, DomParser, Element, Event, EventSource, FormData, HtmlAnchorElement, HtmlElement,
        HtmlFormElement, MouseEvent, Request, RequestInit, Response, SubmitEvent, SupportedType,
        Url, UrlSearchParams,
    };

    /// The marker of a page of this app (the layout's `<main>`): only such answers are
    /// swapped in; anything else is opened by the browser.
    const MAIN: &str = "main[data-app-main]";
    /// What a navigation replaces: the header (active link, session menu) and the content.
    const SWAPPED: [&str; 2] = ["header.topbar", MAIN];

    thread_local! {
        /// Bumped by every navigation; an answer to an older one is dropped.
        static NAVIGATION: Cell<u32> = const { Cell::new(0) };
        /// Bumped by every announced change, to notice changes during a fetch.
        static CHANGES: Cell<u32> = const { Cell::new(0) };
        /// A region refresh is running / another one was asked for meanwhile.
        static REFRESHING: Cell<bool> = const { Cell::new(false) };
        static REFRESH_AGAIN: Cell<bool> = const { Cell::new(false) };
        /// A page outside the app is shown: the enhancements stand aside.
        static LEFT_APP: Cell<bool> = const { Cell::new(false) };
    }

    /// How a fetched page is put in place.
    #[derive(Clone, Copy, PartialEq)]
    enum Swap {
        /// A new page: history entry, scroll to the top, focus the content.
        Push,
        /// Back/forward: the address is already right.
        Pop,
        /// The same page read again (Refresh): keep the scroll position.
        Again,
    }

    pub fn install() {
        let window = leptos::prelude::window();
        listen(&window, "click", |event: MouseEvent| on_click(event));
        listen(&window, "submit", |event: SubmitEvent| on_submit(event));
        listen(&window, "popstate", |_: Event| {
            if LEFT_APP.with(Cell::get) {
                let _ = leptos::prelude::location().reload();
                return;
            }
            if let Some(request) = this_page() {
                spawn_visit(request, Swap::Pop);
            }
        });
        follow_changes();
        if let Some(main) = document().query_selector(MAIN).ok().flatten() {
            localize_times(&main);
        }
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }

    fn document() -> Document {
        leptos::prelude::document()
    }

    /// Adds a listener for the lifetime of the page.
    fn listen<E: JsCast + 'static>(
        target: &web_sys::EventTarget,
        name: &str,
        handler: impl Fn(E) + 'static,
    ) {
        let callback = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            if let Ok(event) = event.dyn_into::<E>() {
                handler(event);
            }
        });
        let _ = target.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        callback.forget();
    }

    /// A request for the page at the current address.
    fn this_page() -> Option<Request> {
        let href = leptos::prelude::location().href().ok()?;
        Request::new_with_str(&href).ok()
    }

    /// The elements under `root` that match `selector`.
    fn elements(root: &Element, selector: &str) -> impl Iterator<Item = Element> {
        let list = root.query_selector_all(selector).ok();
        let count = list.as_ref().map_or(0, |l| l.length());
        (0..count).filter_map(move |i| list.as_ref()?.item(i)?.dyn_into::<Element>().ok())
    }

    fn target_element(event: &Event) -> Option<Element> {
        event.target()?.dyn_into::<Element>().ok()
    }

    fn on_click(event: MouseEvent) {
        if LEFT_APP.with(Cell::get) || event.default_prevented() || event.button() != 0 {
            return;
        }
        let Some(target) = target_element(&event) else {
            return;
        };
        if let Some(button) = target.closest("[data-copy]").ok().flatten() {
            copy(&button);
            return;
        }
        if let Some(button) = target.closest("[data-refresh]").ok().flatten() {
            event.prevent_default();
            refresh_page(button);
            return;
        }
        if event.meta_key() || event.ctrl_key() || event.shift_key() || event.alt_key() {
            return;
        }
        let Some(link) = target
            .closest("a[href]")
            .ok()
            .flatten()
            .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok())
        else {
            return;
        };
        let rel = link.get_attribute("rel").unwrap_or_default();
        if !link.target().is_empty()
            || link.has_attribute("download")
            || rel.split_whitespace().any(|r| r == "external")
        {
            return;
        }
        let href = link.href();
        if !is_app_address(&href) || only_fragment_changes(&href) {
            return;
        }
        if let Ok(request) = Request::new_with_str(&href) {
            event.prevent_default();
            spawn_visit(request, Swap::Push);
        }
    }

    /// Same origin and not an API, export or tool address.
    fn is_app_address(href: &str) -> bool {
        let Ok(url) = Url::new(href) else {
            return false;
        };
        let here = leptos::prelude::location().origin().unwrap_or_default();
        let path = url.pathname();
        url.origin() == here
            && !["/api/", "/mcp", "/pkg/"]
                .iter()
                .any(|p| path.starts_with(p))
    }

    /// A link to another place on this very page: the browser scrolls there by itself.
    fn only_fragment_changes(href: &str) -> bool {
        let (Ok(url), Ok(here)) = (
            Url::new(href),
            Url::new(&leptos::prelude::location().href().unwrap_or_default()),
        ) else {
            return false;
        };
        !url.hash().is_empty() && url.pathname() == here.pathname() && url.search() == here.search()
    }

    fn on_submit(event: SubmitEvent) {
        if LEFT_APP.with(Cell::get) || event.default_prevented() {
            return;
        }
        let Some(form) = target_element(&event).and_then(|e| e.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let method = form.method().to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST") || !is_app_address(&form.action()) {
            return;
        }
        event.prevent_default();
        // One request per form at a time: a double click sends one.
        if form.get_attribute("aria-busy").as_deref() == Some("true") {
            return;
        }
        let Ok(data) = FormData::new_with_form(&form) else {
            return;
        };
        if let Some(submitter) = event.submitter() {
            if let Some(name) = submitter.get_attribute("name").filter(|n| !n.is_empty()) {
                let value = submitter.get_attribute("value").unwrap_or_default();
                let _ = data.append_with_str(&name, &value);
            }
        }
        let Some(request) = form_request(&form, &method, &data) else {
            return;
        };
        let _ = form.set_attribute("aria-busy", "true");
        leptos::task::spawn_local(async move {
            let outcome = visit(request, Swap::Push).await;
            let _ = form.remove_attribute("aria-busy");
            if outcome == Outcome::Failed {
                // The browser posts it itself (this does not fire `submit` again).
                let _ = form.submit();
            }
        });
    }

    fn form_request(form: &HtmlFormElement, method: &str, data: &FormData) -> Option<Request> {
        let init = RequestInit::new();
        let headers = web_sys::Headers::new().ok()?;
        headers.set("Accept", "text/html").ok()?;
        init.set_headers(&headers);
        let action = form.action();
        if method == "GET" {
            let params = UrlSearchParams::new_with_str_sequence_sequence(data).ok()?;
            let url = Url::new(&action).ok()?;
            url.set_search(&String::from(params.to_string()));
            return Request::new_with_str_and_init(&url.href(), &init).ok();
        }
        init.set_method("POST");
        if form.enctype() == "multipart/form-data" {
            init.set_body(data);
        } else {
            let params = UrlSearchParams::new_with_str_sequence_sequence(data).ok()?;
            init.set_body(&params);
        }
        Request::new_with_str_and_init(&action, &init).ok()
    }

    /// What became of a visit.
    #[derive(PartialEq)]
    enum Outcome {
        /// The page is in place (or a newer visit superseded this one).
        Done,
        /// The fetch failed: the caller lets the browser do it.
        Failed,
    }

    /// A link or back/forward: the browser navigates itself if the fetch fails.
    fn spawn_visit(request: Request, swap: Swap) {
        let href = request.url();
        leptos::task::spawn_local(async move {
            if visit(request, swap).await == Outcome::Failed {
                let _ = leptos::prelude::location().assign(&href);
            }
        });
    }

    /// Fetches a page and puts it in place; an answer that is not an app page (the
    /// sign-in page after a sign-out, say) is opened by the browser at its address.
    async fn visit(request: Request, swap: Swap) -> Outcome {
        let navigation = NAVIGATION.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let changes = CHANGES.with(Cell::get);
        let fetched = fetch_page(&request).await;
        if NAVIGATION.with(Cell::get) != navigation {
            return Outcome::Done;
        }
        let (url, page) = match fetched {
            // An answer's address has no fragment: the link's is kept.
            Fetched::App(url, page) => (with_fragment_of(url, &request.url()), page),
            // A page outside the app that a post answered with (a token shown once) is
            // shown as it came; reading it again could not give the same page.
            Fetched::Elsewhere(url, Some(page)) if request.method() == "POST" => {
                leave_app(&page, &url);
                return Outcome::Done;
            }
            Fetched::Elsewhere(url, _) => {
                let _ = leptos::prelude::location().assign(&url);
                return Outcome::Done;
            }
            Fetched::Refused(status, text) => {
                show_refusal(status, &text);
                return Outcome::Done;
            }
            Fetched::Failed => return Outcome::Failed,
        };
        for selector in SWAPPED {
            replace(&page, selector);
        }
        document().set_title(&page.title());
        let history = leptos::prelude::window().history();
        if let Ok(history) = history {
            if swap == Swap::Push {
                let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
            }
        }
        if let Some(main) = document().query_selector(MAIN).ok().flatten() {
            localize_times(&main);
            if swap != Swap::Again {
                place_view(&main, &url);
            }
        }
        if CHANGES.with(Cell::get) != changes {
            refresh_regions();
        }
        Outcome::Done
    }

    /// What a fetch brought back.
    enum Fetched {
        /// A page of this app, at its final address (after redirects).
        App(String, Document),
        /// Something else, at its final address: a page outside the app (the sign-in page,
        /// a page a form posts to) when it is HTML.
        Elsewhere(String, Option<Document>),
        /// An error answer that is not a page (a refused state change).
        Refused(u16, String),
        /// No answer at all.
        Failed,
    }

    async fn fetch_page(request: &Request) -> Fetched {
        let promise = leptos::prelude::window().fetch_with_request(request);
        let Some(response) = JsFuture::from(promise)
            .await
            .ok()
            .and_then(|r| r.dyn_into::<Response>().ok())
        else {
            return Fetched::Failed;
        };
        let url = response.url();
        let html = response
            .headers()
            .get("content-type")
            .ok()
            .flatten()
            .is_some_and(|t| t.starts_with("text/html"));
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|t| t.as_string()),
            Err(_) => None,
        };
        let Some(text) = text else {
            return Fetched::Failed;
        };
        if !html {
            return if response.ok() {
                Fetched::Elsewhere(url, None)
            } else {
                Fetched::Refused(response.status(), text)
            };
        }
        let page = DomParser::new()
            .and_then(|p| p.parse_from_string(&text, SupportedType::TextHtml))
            .ok();
        match page {
            Some(page) if page.query_selector(MAIN).ok().flatten().is_some() => {
                Fetched::App(url, page)
            }
            page => Fetched::Elsewhere(url, page),
        }
    }

    /// An error answer shown at the top of the content, as the browser would show its text.
    fn show_refusal(status: u16, text: &str) {
        let Some(main) = document().query_selector(MAIN).ok().flatten() else {
            return;
        };
        let Ok(alert) = document().create_element("div") else {
            return;
        };
        alert.set_class_name("error-box");
        let _ = alert.set_attribute("role", "alert");
        alert.set_text_content(Some(&format!("The server refused this ({status}): {text}")));
        let _ = main.prepend_with_node_1(&alert);
    }

    /// Shows a page outside the app in place of this one; from then on the browser does
    /// everything itself (links, forms, back and forward).
    fn leave_app(page: &Document, url: &str) {
        if let (Some(old), Some(new)) = (document().document_element(), page.document_element()) {
            LEFT_APP.with(|l| l.set(true));
            let _ = old.replace_with_with_node_1(&new);
            if let Ok(history) = leptos::prelude::window().history() {
                let _ = history.push_state_with_url(&JsValue::NULL, "", Some(url));
            }
            leptos::prelude::window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    /// Replaces this document's `selector` element with `page`'s.
    fn replace(page: &Document, selector: &str) {
        if let (Some(old), Some(new)) = (
            document().query_selector(selector).ok().flatten(),
            page.query_selector(selector).ok().flatten(),
        ) {
            let _ = old.replace_with_with_node_1(&new);
        }
    }

    /// `url` with the fragment of `asked` when it has none of its own.
    fn with_fragment_of(url: String, asked: &str) -> String {
        let fragment = Url::new(asked).map(|u| u.hash()).unwrap_or_default();
        if url.contains('#') || fragment.is_empty() {
            url
        } else {
            format!("{url}{fragment}")
        }
    }

    /// After a navigation: the fragment's target or the top, and the focus on the content.
    fn place_view(main: &Element, url: &str) {
        let fragment = Url::new(url).map(|u| u.hash()).unwrap_or_default();
        let target = fragment
            .strip_prefix('#')
            .filter(|id| !id.is_empty())
            .and_then(|id| document().get_element_by_id(id));
        match target {
            Some(target) => target.scroll_into_view(),
            None => leptos::prelude::window().scroll_to_with_x_and_y(0.0, 0.0),
        }
        if let Some(main) = main.dyn_ref::<HtmlElement>() {
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = main.focus_with_options(&options);
        }
    }

    /// Refresh: the page read again in place, the button's status line says so.
    fn refresh_page(button: Element) {
        let Some(request) = this_page() else {
            return;
        };
        let _ = button.set_attribute("aria-busy", "true");
        leptos::task::spawn_local(async move {
            if visit(request, Swap::Again).await == Outcome::Failed {
                let _ = leptos::prelude::location().reload();
                return;
            }
            let _ = button.remove_attribute("aria-busy");
            if let Some(status) = document()
                .query_selector("[data-refresh-status]")
                .ok()
                .flatten()
            {
                status.set_text_content(Some("Refreshed"));
            }
            if let Some(again) = document()
                .query_selector("[data-refresh]")
                .ok()
                .flatten()
                .and_then(|b| b.dyn_into::<HtmlElement>().ok())
            {
                let _ = again.focus();
            }
        });
    }

    /// Subscribes to the server's change stream for the lifetime of the page.
    fn follow_changes() {
        let Ok(source) = EventSource::new("/api/v1/events") else {
            return;
        };
        let on_change = Closure::<dyn Fn(Event)>::new(move |_: Event| {
            CHANGES.with(|c| c.set(c.get().wrapping_add(1)));
            refresh_regions();
        });
        // `lagged` means changes were missed: read again all the same.
        for name in ["job", "fills", "lagged", "open"] {
            let _ =
                source.add_event_listener_with_callback(name, on_change.as_ref().unchecked_ref());
        }
        on_change.forget();
        std::mem::forget(source);
    }

    /// Re-reads the page and replaces its `data-region` parts, if it follows changes;
    /// one refresh at a time, and one more if changes came in meanwhile.
    fn refresh_regions() {
        let follows = document()
            .query_selector(&format!("{MAIN} [data-follow]"))
            .ok()
            .flatten()
            .is_some();
        if !follows {
            return;
        }
        if REFRESHING.with(|r| r.replace(true)) {
            REFRESH_AGAIN.with(|a| a.set(true));
            return;
        }
        leptos::task::spawn_local(async {
            loop {
                REFRESH_AGAIN.with(|a| a.set(false));
                let navigation = NAVIGATION.with(Cell::get);
                let page = match this_page() {
                    Some(request) => match fetch_page(&request).await {
                        Fetched::App(_, page) => Some(page),
                        _ => None,
                    },
                    None => None,
                };
                // A navigation meanwhile brings its own fresh page.
                if let (Some(page), true) = (page, NAVIGATION.with(Cell::get) == navigation) {
                    replace_regions(&page);
                }
                if !REFRESH_AGAIN.with(Cell::get) {
                    break;
                }
            }
            REFRESHING.with(|r| r.set(false));
        });
    }

    /// Each `data-region` of the page gets the content of the same region in `page`.
    fn replace_regions(page: &Document) {
        let Some(main) = document().query_selector(MAIN).ok().flatten() else {
            return;
        };
        for old in elements(&main, "[data-region]") {
            let name = old.get_attribute("data-region").unwrap_or_default();
            let selector = format!("{MAIN} [data-region=\"{name}\"]");
            // The region element stays (a live status keeps announcing); its content changes.
            if let Some(new) = page.query_selector(&selector).ok().flatten() {
                old.set_inner_html(&new.inner_html());
                localize_times(&old);
            }
        }
    }

    /// A `data-copy` button: its value to the clipboard, "Copied" on the button.
    fn copy(button: &Element) {
        let value = button.get_attribute("data-copy").unwrap_or_default();
        let clipboard = leptos::prelude::window().navigator().clipboard();
        let _ = clipboard.write_text(&value);
        button.set_text_content(Some("Copied"));
    }

    /// `<time datetime>` shown in the browser's zone; the exact UTC stays in the title.
    fn localize_times(root: &Element) {
        for time in elements(root, "time[datetime]:not([data-local])") {
            let stamp = time.get_attribute("datetime").unwrap_or_default();
            let date = js_sys::Date::new(&JsValue::from_str(&stamp));
            if date.get_time().is_nan() {
                continue;
            }
            let text = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                date.get_full_year(),
                date.get_month() + 1,
                date.get_date(),
                date.get_hours(),
                date.get_minutes(),
                date.get_seconds()
            );
            time.set_text_content(Some(&text));
            let _ = time.set_attribute("data-local", "");
        }
    }
}
