//! Server-side sessions. The cookie carries a random id; the database keeps its SHA-256,
//! the operator, a CSRF token, and when the session was made and last used. A session ends
//! after `idle_timeout` without requests or `absolute_timeout` after sign-in, at sign-out,
//! or when the operator is disabled or gets a new password.
//!
//! A confirmed session is trusted for `credential_cache` (2 s) without asking the database
//! again (a page render then costs no session round trip). The cache is process-wide and
//! lives here because every way a session ends goes through this module: sign-out, rotation
//! at sign-in, a disabled operator and a new password forget it at once; expiry is checked
//! on every request against the remembered times. A session ended by another process (the
//! CLI) stops within the cache time.
//!
//! The store is Fillbook's own on purpose: a signed-cookie session (what the common axum
//! session crates default to) cannot be ended from the server, and the ledger's operators
//! need sign-out, disable and a password change to end every session at once, across
//! processes. The cookie itself is read and written with the `cookie` crate.

use super::recent::Recent;
use super::{secret, AuthSettings};
use crate::db::entities::{operators, sessions};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// Name of the session cookie.
pub const COOKIE: &str = "fillbook_session";

/// A request's last-seen time is written at most this often (seconds).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Recently confirmed sessions of this process, by the digest of their cookie value.
static RECENT: std::sync::LazyLock<Recent<SessionUser>> = std::sync::LazyLock::new(Recent::default);

/// The operator behind a valid session.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub operator_id: i32,
    pub username: String,
    pub is_admin: bool,
    pub csrf_token: String,
    pub id_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new session: the cookie value (shown to the browser only) and its CSRF token.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
    pub max_age_seconds: i64,
}

fn seconds(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::seconds(d.as_secs().min(i64::MAX as u64) as i64)
}

/// Starts a session for `operator_id`; a session id the client already had is never reused
/// (it is ended by the caller), so signing in always rotates it.
pub async fn start(
    db: &impl ConnectionTrait,
    settings: &AuthSettings,
    operator_id: i32,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession> {
    let cookie_value = secret::generate("");
    let csrf_token = secret::generate("");
    let now = Utc::now();
    // Sessions past their absolute expiry are gone for good: tidy them up at each sign-in.
    sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    let expires_at = now + seconds(settings.absolute_timeout);
    sessions::Entity::insert(sessions::ActiveModel {
        id_hash: Set(secret::digest(&cookie_value)),
        operator_id: Set(operator_id),
        csrf_token: Set(csrf_token.clone()),
        ip: Set(ip.map(str::to_string)),
        user_agent: Set(user_agent.map(|u| u.chars().take(256).collect::<String>())),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
        max_age_seconds: settings.absolute_timeout.as_secs() as i64,
    })
}

/// The operator of the session with this cookie value, if it is still valid; refreshes its
/// last-seen time (at most once a minute). Expired sessions are deleted on sight.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    settings: &AuthSettings,
    cookie_value: &str,
) -> Result<Option<SessionUser>> {
    let id_hash = secret::digest(cookie_value);
    let ttl = settings.credential_cache;
    if let Some(user) = RECENT.get(&id_hash, ttl) {
        let now = Utc::now();
        let live =
            now < user.expires_at && now < user.last_seen_at + seconds(settings.idle_timeout);
        if live && (now - user.last_seen_at).num_seconds() < TOUCH_EVERY_SECONDS {
            return Ok(Some(user));
        }
    }
    let stamp = RECENT.stamp();
    let found = sessions::Entity::find()
        .filter(sessions::Column::IdHash.eq(id_hash.clone()))
        .find_also_related(operators::Entity)
        .filter(operators::Column::DisabledAt.is_null())
        .one(db)
        .await?;
    let Some((session, Some(operator))) = found else {
        return Ok(None);
    };
    let mut user = SessionUser {
        operator_id: session.operator_id,
        username: operator.username,
        is_admin: operator.is_admin,
        csrf_token: session.csrf_token,
        id_hash: session.id_hash,
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.expires_at,
    };
    let now = Utc::now();
    if now >= user.expires_at || now >= user.last_seen_at + seconds(settings.idle_timeout) {
        end_by_hash(db, &id_hash).await?;
        return Ok(None);
    }
    if (now - user.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
            .filter(sessions::Column::IdHash.eq(id_hash.clone()))
            .exec(db)
            .await?;
        user.last_seen_at = now;
    }
    RECENT.remember(id_hash, user.clone(), stamp, ttl);
    Ok(Some(user))
}

async fn end_by_hash(db: &impl ConnectionTrait, id_hash: &str) -> Result<()> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::IdHash.eq(id_hash))
        .exec(db)
        .await?;
    RECENT.forget(|digest, _| digest == id_hash);
    Ok(())
}

/// Ends the session with this cookie value (sign-out, or rotation at sign-in).
pub async fn end(db: &impl ConnectionTrait, cookie_value: &str) -> Result<()> {
    end_by_hash(db, &secret::digest(cookie_value)).await
}

/// Ends every session of an operator.
pub async fn end_all(db: &impl ConnectionTrait, operator_id: i32) -> Result<()> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::OperatorId.eq(operator_id))
        .exec(db)
        .await?;
    RECENT.forget(|_, user| user.operator_id == operator_id);
    Ok(())
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn from_cookie_header(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value carrying `value` for `max_age` seconds (or clearing the cookie
/// when `None`): `HttpOnly`, `SameSite=Lax`, path `/`, `Secure` when asked.
pub fn set_cookie(value: Option<(&str, i64)>, secure: bool) -> String {
    let (value, max_age) = value.unwrap_or(("", 0));
    cookie::Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(secure)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_set_with_its_flags() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "theme=dark; fillbook_session=abc123; other=1"
                .parse()
                .unwrap(),
        );
        assert_eq!(from_cookie_header(&headers).as_deref(), Some("abc123"));
        let set = set_cookie(Some(("abc", 60)), true);
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=60", "Path=/"] {
            assert!(set.contains(flag), "{set}");
        }
        assert!(!set_cookie(None, false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }
}
