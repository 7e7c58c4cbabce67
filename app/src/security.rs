//! The browser security policy, in one place: the Content-Security-Policy of every
//! response, and of a rendered page, which also admits its own inline hydration scripts
//! by their per-response nonce and lets the browser compile the wasm bundle.

/// The policy of every response that is not a rendered page (JSON, static files, the API
/// docs page): only this origin's scripts, styles, images and connections, no framing, no
/// plugins, forms post only here.
pub const DEFAULT_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy of a server-rendered page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    DEFAULT_POLICY.replacen(
        "script-src 'self'",
        &format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        1,
    )
}

/// Sends the page policy for this response's nonce (server rendering only; the nonce is
/// made by leptos_axum for each response and stamped on the hydration scripts).
#[cfg(feature = "ssr")]
pub fn send_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&page_policy(&nonce.to_string())) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_admits_its_nonce_and_wasm_and_nothing_else_changes() {
        let page = page_policy("abc123");
        assert!(page.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert_eq!(
            page.replace(" 'nonce-abc123' 'wasm-unsafe-eval'", ""),
            DEFAULT_POLICY
        );
        assert!(DEFAULT_POLICY.contains("frame-ancestors 'none'"));
        assert!(!DEFAULT_POLICY.contains("unsafe-inline"));
    }
}
