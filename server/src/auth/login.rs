//! Signing in: throttling, the password check, the audit entries and the new session.
//! More than `max_failures_per_user` failed sign-ins for one user name, or
//! `max_failures_per_ip` from one address, within a minute refuse further tries (without
//! checking the password) until the minute has passed. Attempts in this process take turns
//! from the count to the recorded failure, so a burst of parallel tries is counted like a
//! sequence; the password check runs off the async workers.

use super::{audit, operators, password, sessions, AuthSettings};
use crate::error::{Error, Result};
use app::models::Actor;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The window failed sign-ins are counted in (seconds).
pub const WINDOW_SECONDS: i64 = 60;

/// Held from counting an attempt's earlier failures to recording its own.
static ONE_ATTEMPT_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A successful sign-in: who, and the session to hand to the browser.
pub struct SignedIn {
    pub operator: operators::Operator,
    pub session: sessions::NewSession,
}

/// Checks `username` / `secret_password` and starts a session. `ip` and `user_agent`
/// describe the client.
pub async fn sign_in(
    db: &impl ConnectionTrait,
    settings: &AuthSettings,
    username: &str,
    secret_password: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<SignedIn> {
    let username = username.trim();
    let who = Actor {
        kind: "anonymous".into(),
        name: username.to_string(),
        ip: ip.map(str::to_string),
    };
    let operator = check_password(db, settings, &who, secret_password).await?;
    let session = sessions::start(db, settings, operator.id, ip, user_agent).await?;
    let actor = Actor {
        kind: "operator".into(),
        ..who
    };
    audit::record(
        db,
        &actor,
        "login.succeeded",
        Some(operator.username.clone()),
        None,
    )
    .await?;
    Ok(SignedIn { operator, session })
}

/// Changes the signed-in operator's (`actor`) password once the current one checks out
/// (a wrong one counts as a failed sign-in); ends all their sessions and starts a new one
/// for this browser. The new password, the ended sessions, the new session and the audit
/// entry are one transaction: an interrupted change (a timeout, a database error) changes
/// nothing.
pub async fn change_password(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    actor: &Actor,
    current: &str,
    new: &str,
    confirm: &str,
    user_agent: Option<&str>,
) -> Result<sessions::NewSession> {
    password::validate(new, "new_password")?;
    if new != confirm {
        return Err(Error::invalid(
            "new_password_confirm",
            "the two new passwords differ",
        ));
    }
    let operator = check_password(db, settings, actor, current).await?;
    let txn = crate::db::begin_write(db).await?;
    operators::reset_password(&txn, &operator.username, new).await?;
    let ip = actor.ip.as_deref();
    let session = sessions::start(&txn, settings, operator.id, ip, user_agent).await?;
    audit::record(
        &txn,
        actor,
        "password.changed",
        Some(operator.username.clone()),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

/// The operator `who` names, if `secret_password` is theirs and they may sign in. Refused
/// without checking while `who` (name or address) is over the failure limit; a failure is
/// recorded as `login.failed`.
async fn check_password(
    db: &impl ConnectionTrait,
    settings: &AuthSettings,
    who: &Actor,
    secret_password: &str,
) -> Result<operators::Operator> {
    let username = who.name.as_str();
    let ip = who.ip.as_deref();
    let _turn = ONE_ATTEMPT_AT_A_TIME.lock().await;
    let since = Utc::now() - chrono::Duration::seconds(WINDOW_SECONDS);
    let (by_user, by_ip) = audit::count_since(db, "login.failed", since, username, ip).await?;
    if by_user >= settings.max_failures_per_user
        || (ip.is_some() && by_ip >= settings.max_failures_per_ip)
    {
        audit::record(db, who, "login.throttled", Some(username.to_string()), None).await?;
        return Err(Error::TooManyRequests {
            message: "too many failed sign-ins for this user or from this address; wait a minute and try again".into(),
            retry_after_seconds: WINDOW_SECONDS as u64,
        });
    }
    let operator = operators::find(db, username).await?;
    let hash = operator
        .as_ref()
        .map(|o| o.password_hash.as_str())
        .unwrap_or_else(|| password::decoy());
    let matches = password::matches(secret_password, hash).await?;
    match operator {
        Some(o) if matches && o.disabled_at.is_none() => Ok(o),
        other => {
            let reason = match other {
                None => "unknown user",
                Some(o) if o.disabled_at.is_some() => "disabled",
                Some(_) => "wrong password",
            };
            audit::record(
                db,
                who,
                "login.failed",
                Some(username.to_string()),
                Some(serde_json::json!({ "reason": reason })),
            )
            .await?;
            Err(Error::Unauthorized("wrong user name or password".into()))
        }
    }
}
