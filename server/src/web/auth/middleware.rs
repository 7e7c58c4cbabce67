//! The gate in front of every route. Public: the health probes, static assets and the
//! sign-in/setup pages. Everything else needs an API token (only on `/api/v1` and `/mcp`)
//! or an operator's session cookie; without one, API-like paths answer 401 problem+json
//! and pages redirect to the sign-in page (or to first-run setup). Then: the CSRF checks
//! for cookie-authenticated state changes; each API route then checks its own scope
//! (`crate::api::http::scoped`, declared where the route is registered).

use super::csrf;
use crate::auth::{operators, sessions, Caller, Principal};
use crate::error::Error;
use crate::state::AppState;
use app::models::SessionDto;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, Request};
use std::net::SocketAddr;

/// File types served as public static assets from the site root.
const ASSET_EXTENSIONS: [&str; 8] = [
    ".js",
    ".css",
    ".wasm",
    ".svg",
    ".png",
    ".ico",
    ".txt",
    ".webmanifest",
];

/// Whether `path` is reachable without credentials.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/login" | "/setup")
        || path.starts_with("/pkg/")
        || (path.rfind('/') == Some(0) && ASSET_EXTENSIONS.iter().any(|e| path.ends_with(e)))
}

/// Whether `path` answers machines (401 problem+json) rather than people (a redirect).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
        || path == "/mcp"
        || path.starts_with("/mcp/")
        || path.starts_with("/_sfn/")
}

/// Whether an API token may be used on `path`.
fn takes_tokens(path: &str) -> bool {
    path.starts_with("/api/v1/") || path == "/mcp" || path.starts_with("/mcp/")
}

/// The client's address: the socket's peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry — the one the proxy appended (earlier entries come from the
/// client and can say anything).
pub fn client_ip(request: &Request<Body>, trust_proxy: bool) -> Option<String> {
    let forwarded = trust_proxy
        .then(|| request.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    forwarded.or_else(|| {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
    })
}

/// Whether the request reached us over https (as far as we can tell).
pub fn is_https(headers: &http::HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn bearer(request: &Request<Body>) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The middleware: see the module docs.
pub async fn authenticate(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(response) => response,
    }
}

async fn admit(state: &AppState, mut request: Request<Body>) -> Result<Request<Body>, Response> {
    let settings = &state.auth.settings;
    let path = request.uri().path().to_string();
    let ip = client_ip(&request, settings.trust_proxy);
    let fail = |e: Error| e.into_response();

    let token = bearer(&request).map(str::to_string);
    let principal = if let Some(token) = token {
        if !takes_tokens(&path) {
            return Err(fail(Error::Forbidden(
                "API tokens work on /api/v1 and /mcp only".into(),
            )));
        }
        match state
            .auth
            .token_user(&state.db, &token)
            .await
            .map_err(fail)?
        {
            Some(user) => Principal::Token(user),
            None => {
                return Err(fail(Error::Unauthorized(
                    "the API token is unknown or revoked".into(),
                )))
            }
        }
    } else {
        let cookie = sessions::from_cookie_header(request.headers());
        let user = match cookie {
            Some(value) => sessions::authenticate(&state.db, settings, &value)
                .await
                .map_err(fail)?,
            None => None,
        };
        match user {
            Some(user) => Principal::Operator(user),
            None if is_api(&path) => {
                return Err(fail(Error::Unauthorized(
                    "sign in, or send `Authorization: Bearer <API token>`".into(),
                )))
            }
            None => {
                let back = request.uri().path_and_query().map(|p| p.to_string());
                return Err(to_sign_in(state, back.as_deref().unwrap_or("/")).await);
            }
        }
    };

    if let Principal::Operator(user) = &principal {
        request = csrf::check(request, &user.csrf_token, settings.trust_proxy)
            .await
            .map_err(fail)?;
    }
    // Each API route checks its own scopes where it is registered (`api::operations`).

    let extensions = request.extensions_mut();
    extensions.insert(principal.actor(ip.clone()));
    extensions.insert(Caller::new(principal.clone(), ip));
    if let Principal::Operator(user) = &principal {
        extensions.insert(SessionDto {
            username: user.username.clone(),
            is_admin: user.is_admin,
            csrf: user.csrf_token.clone(),
        });
    }
    extensions.insert(principal);
    Ok(request)
}

/// Where a person without a session goes: first-run setup while no operator exists, else
/// the sign-in page (coming back here afterwards).
async fn to_sign_in(state: &AppState, back: &str) -> Response {
    match operators::count(&state.db).await {
        Ok(0) => Redirect::to("/setup").into_response(),
        Ok(_) => {
            let next = url_escape(back);
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Percent-encodes a value for a query string.
pub fn url_escape(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_probes_assets_and_sign_in() {
        for p in [
            "/healthz",
            "/readyz",
            "/login",
            "/setup",
            "/pkg/fillbook.wasm",
            "/favicon.svg",
            "/api-docs.js",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/",
            "/trades",
            "/api/v1/trades",
            "/mcp",
            "/_sfn/list_trades",
            "/api/v1/openapi.json",
            "/api/docs",
            "/x/y.js",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn next_urls_are_escaped() {
        assert_eq!(url_escape("/trades?a=1&b=2"), "%2Ftrades%3Fa%3D1%26b%3D2");
    }
}
