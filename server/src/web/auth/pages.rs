//! The pages outside the Leptos app (no hydration, no JavaScript), rendered from Leptos
//! views to HTML, so Leptos escapes every text and attribute: sign-in, first-run setup,
//! sign-out, the password form and the API token forms (creating a token shows it once, on
//! its own page, so it never travels in a URL).

use super::middleware::{client_ip, is_https};
use crate::auth::{audit, login, operators, sessions, AuthSettings, Caller, Scope, SecureCookies};
use crate::error::Error;
use crate::state::AppState;
use app::models::{Actor, SessionDto};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use http::{header, HeaderMap, Request, StatusCode};
use leptos::prelude::*;
use serde::Deserialize;

/// A whole page around `body`, rendered by Leptos (which escapes every text and attribute).
fn page(status: StatusCode, title: &str, body: impl IntoView + 'static) -> Response {
    let title = title.to_string();
    let html = Owner::new().with(move || {
        view! {
            <html lang="en">
                <head>
                    <meta charset="utf-8" />
                    <meta name="viewport" content="width=device-width, initial-scale=1" />
                    <meta name="color-scheme" content="light dark" />
                    <title>{format!("{title} · Fillbook")}</title>
                    <link rel="stylesheet" href="/pkg/fillbook.css" />
                    <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                </head>
                <body class="auth-page">
                    <main id="main" class="auth-card">
                        <p class="brand">
                            <img src="/favicon.svg" alt="" width="20" height="20" />
                            " Fillbook"
                        </p>
                        <h1>{title.clone()}</h1>
                        {body}
                    </main>
                </body>
            </html>
        }
        .to_html()
    });
    (status, Html(format!("<!DOCTYPE html>{html}"))).into_response()
}

fn error_box(message: Option<&str>) -> impl IntoView + 'static {
    message.map(|m| view! { <p class="form-error" role="alert">{m.to_string()}</p> })
}

/// Only paths of this site are followed after sign-in: one leading `/`, and no backslash,
/// white space or control character anywhere (browsers drop tabs and line breaks and read
/// `\\` as `/`, which would turn `/\t/host` into `//host`, another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/trades".to_string(),
    }
}

fn secure_cookie(settings: &AuthSettings, headers: &HeaderMap) -> bool {
    match settings.secure_cookies {
        SecureCookies::Always => true,
        SecureCookies::Never => false,
        SecureCookies::Auto => is_https(headers, settings.trust_proxy),
    }
}

fn login_form(status: StatusCode, username: &str, next: &str, error: Option<&str>) -> Response {
    let (username, next) = (username.to_string(), next.to_string());
    let body = view! {
        {error_box(error)}
        <form method="post" action="/login" class="auth-form">
            <input type="hidden" name="next" value=next />
            <label>
                "User name "
                <input name="username" autocomplete="username" required value=username />
            </label>
            <label>
                "Password "
                <input type="password" name="password" autocomplete="current-password" required />
            </label>
            <button type="submit" class="button">"Sign in"</button>
        </form>
    };
    page(status, "Sign in", body)
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_page(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    match operators::count(&state.db).await {
        Ok(0) => Redirect::to("/setup").into_response(),
        Ok(_) => login_form(StatusCode::OK, "", &safe_next(q.next.as_deref()), None),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The cookie headers of a fresh session, replacing (and ending) any the client had.
async fn start_response(
    state: &AppState,
    headers: &HeaderMap,
    session: sessions::NewSession,
    to: &str,
) -> Response {
    if let Some(old) = sessions::from_cookie_header(headers) {
        if let Err(e) = sessions::end(&state.db, &old).await {
            return e.into_response();
        }
    }
    let secure = secure_cookie(&state.auth.settings, headers);
    let cookie = sessions::set_cookie(
        Some((&session.cookie_value, session.max_age_seconds)),
        secure,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

/// The browser's `User-Agent`, kept with its session.
fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// A posted HTML form. Only `application/x-www-form-urlencoded` is read as one: the CSRF
/// check lets JSON-typed requests through without the `csrf` field (a cross-site page
/// cannot send them), so a form handler must never take such a body for a form.
fn form<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> crate::Result<T> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Error::UnsupportedMediaType(format!(
            "expected a form (application/x-www-form-urlencoded), got `{content_type}`"
        )));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| Error::BadRequest(format!("unreadable form: {e}")))
}

/// A form posted by someone not signed in yet (sign-in, setup): accepted only from this
/// server's own pages (`Origin`/`Referer`), with the client's address and headers.
pub struct PublicForm<T> {
    pub fields: T,
    pub ip: Option<String>,
    pub headers: HeaderMap,
}

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for PublicForm<T> {
    type Rejection = Error;

    async fn from_request(request: Request<Body>, state: &AppState) -> Result<Self, Error> {
        let trust_proxy = state.auth.settings.trust_proxy;
        let ip = client_ip(&request, trust_proxy);
        let (parts, body) = request.into_parts();
        if !super::csrf::same_origin(&parts.headers, trust_proxy) {
            return Err(Error::Forbidden("cross-site form refused".into()));
        }
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| Error::BadRequest("the form is too large".into()))?;
        Ok(Self {
            fields: form(&parts.headers, &bytes)?,
            ip,
            headers: parts.headers,
        })
    }
}

/// `POST /login`.
pub async fn login_submit(
    State(state): State<AppState>,
    posted: PublicForm<LoginForm>,
) -> Response {
    let PublicForm {
        fields: f,
        ip,
        headers,
    } = posted;
    let next = safe_next(f.next.as_deref());
    let agent = user_agent(&headers);
    match login::sign_in(
        &state.db,
        &state.auth.settings,
        &f.username,
        &f.password,
        ip.as_deref(),
        agent,
    )
    .await
    {
        Ok(signed_in) => start_response(&state, &headers, signed_in.session, &next).await,
        Err(e) => {
            let (status, _) = e.status_and_code();
            let response = login_form(status, &f.username, &next, Some(&e.for_page()));
            with_retry_after(response, &e)
        }
    }
}

/// `POST /logout` (behind the gate: a session and the CSRF proof are required).
pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let cookie = sessions::from_cookie_header(&headers);
    if let Err(e) = crate::audited::sign_out(&state.db, &caller, cookie.as_deref()).await {
        return e.into_response();
    }
    let secure = secure_cookie(&state.auth.settings, &headers);
    (
        [(header::SET_COOKIE, sessions::set_cookie(None, secure))],
        Redirect::to("/login"),
    )
        .into_response()
}

fn setup_form(status: StatusCode, token: &str, username: &str, error: Option<&str>) -> Response {
    let (token, username) = (token.to_string(), username.to_string());
    let min = crate::auth::password::MIN_LENGTH;
    let body = view! {
        <p>
            "No operator exists yet. Create the first administrator with the setup token \
             printed on the server's console."
        </p>
        {error_box(error)}
        <form method="post" action="/setup" class="auth-form">
            <label>
                "Setup token "
                <input name="token" required autocomplete="off" value=token />
            </label>
            <label>
                "User name "
                <input name="username" autocomplete="username" required value=username />
            </label>
            <label>
                {format!("Password (at least {min} characters) ")}
                <input type="password" name="password" autocomplete="new-password" required />
            </label>
            <label>
                "Repeat the password "
                <input type="password" name="password_confirm" autocomplete="new-password" required />
            </label>
            <button type="submit" class="button">"Create administrator"</button>
        </form>
    };
    page(status, "Set up Fillbook", body)
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// `GET /setup`: only while no operator exists.
pub async fn setup_page(State(state): State<AppState>, Query(q): Query<SetupQuery>) -> Response {
    match operators::count(&state.db).await {
        Ok(0) => setup_form(StatusCode::OK, q.token.as_deref().unwrap_or(""), "", None),
        Ok(_) => Redirect::to("/login").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /setup`: creates the first administrator (once, with the setup token) and signs
/// them in.
pub async fn setup_submit(
    State(state): State<AppState>,
    posted: PublicForm<SetupForm>,
) -> Response {
    let PublicForm {
        fields: f,
        ip,
        headers,
    } = posted;
    match operators::count(&state.db).await {
        Ok(0) => {}
        Ok(_) => {
            return page(
                StatusCode::CONFLICT,
                "Set up Fillbook",
                error_box(Some("this instance is already set up; sign in instead")),
            )
        }
        Err(e) => return e.into_response(),
    }
    let refuse = |status, message: &str| setup_form(status, "", &f.username, Some(message));
    if f.password != f.password_confirm {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "the two passwords differ");
    }
    if let Err(e) = operators::validate_username(&f.username)
        .and_then(|_| crate::auth::password::validate(&f.password, "password"))
    {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.for_page());
    }
    if !state.auth.take_setup(&f.token) {
        let who = Actor {
            kind: "anonymous".into(),
            name: f.username.clone(),
            ip: ip.clone(),
        };
        if let Err(e) = audit::record(&state.db, &who, "setup.refused", None, None).await {
            return e.into_response();
        }
        return refuse(
            StatusCode::FORBIDDEN,
            "the setup token is wrong or already used",
        );
    }
    let admin = match operators::add_first_admin(&state.db, &f.username, &f.password).await {
        Ok(admin) => admin,
        Err(e) => {
            state.auth.restore_setup(f.token.clone());
            let (status, _) = e.status_and_code();
            return refuse(status, &e.for_page());
        }
    };
    let actor = Actor {
        kind: "operator".into(),
        name: admin.username.clone(),
        ip: ip.clone(),
    };
    let agent = user_agent(&headers);
    let started = async {
        audit::record(
            &state.db,
            &actor,
            "setup.completed",
            Some(admin.username.clone()),
            None,
        )
        .await?;
        sessions::start(
            &state.db,
            &state.auth.settings,
            admin.id,
            ip.as_deref(),
            agent,
        )
        .await
    };
    match started.await {
        Ok(session) => start_response(&state, &headers, session, "/trades").await,
        Err(e) => e.into_response(),
    }
}

fn password_form(
    status: StatusCode,
    session: &SessionDto,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let (username, csrf) = (session.username.clone(), session.csrf.clone());
    let notice = notice.map(|n| view! { <p class="form-notice" role="status">{n.to_string()}</p> });
    let min = crate::auth::password::MIN_LENGTH;
    let body = view! {
        <p>
            "Signed in as " <strong>{username.clone()}</strong>
            ". A new password signs you out everywhere else."
        </p>
        {notice}
        {error_box(error)}
        <form method="post" action="/account/password" class="auth-form">
            <input type="hidden" name="csrf" value=csrf />
            <input type="hidden" name="username" autocomplete="username" value=username />
            <label>
                "Current password "
                <input type="password" name="current_password" autocomplete="current-password" required />
            </label>
            <label>
                {format!("New password (at least {min} characters) ")}
                <input type="password" name="new_password" autocomplete="new-password" required />
            </label>
            <label>
                "Repeat the new password "
                <input type="password" name="new_password_confirm" autocomplete="new-password" required />
            </label>
            <button type="submit" class="button">"Change password"</button>
        </form>
        <p>
            <a href="/trades">"Back to Fillbook"</a>
        </p>
    };
    page(status, "Change your password", body)
}

#[derive(Deserialize)]
pub struct ChangedQuery {
    changed: Option<String>,
}

/// `GET /account/password`: the signed-in operator's password form.
pub async fn password_page(
    Extension(session): Extension<SessionDto>,
    Query(q): Query<ChangedQuery>,
) -> Response {
    let notice = q
        .changed
        .is_some()
        .then_some("Your password was changed; your other sessions were signed out.");
    password_form(StatusCode::OK, &session, None, notice)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

/// `POST /account/password` (behind the gate: a session and the CSRF proof): checks the
/// current password like a sign-in (throttled, failures recorded), sets the new one, ends
/// every session of the operator and signs this browser in again.
pub async fn password_submit(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionDto>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f: PasswordForm = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let agent = user_agent(&headers);
    let changed = login::change_password(
        &state.db,
        &state.auth.settings,
        &actor,
        &f.current_password,
        &f.new_password,
        &f.new_password_confirm,
        agent,
    )
    .await;
    match changed {
        Ok(new_session) => {
            start_response(&state, &headers, new_session, "/account/password?changed=1").await
        }
        Err(e) => {
            let (status, _) = e.status_and_code();
            let message = match &e {
                Error::Unauthorized(_) => "the current password is wrong".to_string(),
                other => other.for_page(),
            };
            with_retry_after(password_form(status, &session, Some(&message), None), &e)
        }
    }
}

/// Adds `Retry-After` to `response` when `e` is a throttling refusal.
fn with_retry_after(mut response: Response, e: &Error) -> Response {
    if let Error::TooManyRequests {
        retry_after_seconds,
        ..
    } = e
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, (*retry_after_seconds).into());
    }
    response
}

/// `POST /tokens` from the tokens page: creates a token and shows it once. A token gets no
/// scope its maker does not hold (an operator who is not an administrator cannot hand out
/// `audit:read`).
pub async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = match form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let scopes = pairs
        .iter()
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let created = async {
        let scopes = Scope::parse_list(&scopes)?;
        crate::audited::create_token(&state.db, &caller, name, &scopes).await
    };
    match created.await {
        Ok((info, token)) => {
            let (name, scopes) = (info.name, info.scopes.join(", "));
            let body = view! {
                <p>
                    "Copy the token for " <strong>{name}</strong> {format!(" ({scopes}) ")}
                    "now: it is shown only this once and cannot be recovered."
                </p>
                <p>
                    <code class="token-secret" data-testid="new-token">{token}</code>
                </p>
                <p>"Send it as " <code>"Authorization: Bearer <token>"</code> "."</p>
                <p>
                    <a href="/tokens">"Back to API tokens"</a>
                </p>
            };
            page(StatusCode::OK, "API token created", body)
        }
        Err(e) => {
            let (status, _) = e.status_and_code();
            let body = view! {
                {error_box(Some(&e.for_page()))}
                <p>
                    <a href="/tokens">"Back to API tokens"</a>
                </p>
            };
            page(status, "API token not created", body)
        }
    }
}

/// `POST /tokens/{id}/revoke` from the tokens page.
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i32>,
) -> Response {
    let revoked = async {
        let info = crate::audited::revoke_token(&state.db, &caller, id).await?;
        state.auth.forget_token(info.id);
        Ok::<_, Error>(())
    };
    match revoked.await {
        Ok(()) => Redirect::to("/tokens").into_response(),
        Err(e) => e.into_response(),
    }
}
