//! The `live_sessions` table: one row per gateway saying which process follows its fills
//! (a lease the holder renews; once it lapses another process takes over) and the state
//! operators see — connected since, last fill, fills, reconnects, skipped records, last
//! error.

use crate::db::statement;
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde::Serialize;
use std::time::Duration;

/// One gateway's live subscription as stored.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct LiveSession {
    pub gateway: String,
    /// The worker process holding the subscription, while its lease runs.
    pub holder: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub client_id: Option<i32>,
    /// When the current connection was made; empty while disconnected.
    pub connected_since: Option<DateTime<Utc>>,
    pub last_fill_at: Option<DateTime<Utc>>,
    pub fills_count: i64,
    pub reconnects: i32,
    pub skipped_count: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Takes (or keeps) the lease on `gateway` for `holder` when nobody holds it, its lease
/// lapsed, or `holder` already has it. Returns whether `holder` holds it now and, on a
/// fresh take, whether the previous holder left without releasing it (it died).
pub async fn acquire(
    db: &impl ConnectionTrait,
    gateway: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Acquired> {
    let backend = db.get_database_backend();
    db.execute_raw(statement(
        backend,
        "INSERT INTO live_sessions (gateway, updated_at) VALUES ($1, $2) \
         ON CONFLICT (gateway) DO NOTHING",
        [gateway.into(), now.into()],
    ))
    .await?;
    let before = current(db, gateway).await?;
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let taken = db
        .execute_raw(statement(
            backend,
            "UPDATE live_sessions SET holder = $2, lease_expires_at = $3, updated_at = $4 \
             WHERE gateway = $1 AND (holder IS NULL OR holder = $2 OR lease_expires_at < $4)",
            [gateway.into(), holder.into(), until.into(), now.into()],
        ))
        .await?
        .rows_affected()
        == 1;
    let previous = before.and_then(|b| b.holder).filter(|h| h != holder);
    Ok(Acquired {
        held: taken,
        taken_over_from: if taken { previous } else { None },
    })
}

/// The outcome of [`acquire`].
#[derive(Debug, Clone, PartialEq)]
pub struct Acquired {
    pub held: bool,
    /// The holder whose lapsed lease was taken over.
    pub taken_over_from: Option<String>,
}

/// Extends `holder`'s lease; false when it no longer holds it (it lapsed and another
/// process took over).
pub async fn renew(
    db: &impl ConnectionTrait,
    gateway: &str,
    holder: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<bool> {
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let renewed = db
        .execute_raw(statement(
            db.get_database_backend(),
            "UPDATE live_sessions SET lease_expires_at = $3, updated_at = $4 \
             WHERE gateway = $1 AND holder = $2",
            [gateway.into(), holder.into(), until.into(), now.into()],
        ))
        .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Gives the lease up (a clean shutdown): the next process takes over at once.
pub async fn release(db: &impl ConnectionTrait, gateway: &str, holder: &str) -> Result<()> {
    db.execute_raw(statement(
        db.get_database_backend(),
        "UPDATE live_sessions SET holder = NULL, lease_expires_at = NULL, \
         connected_since = NULL, updated_at = $3 WHERE gateway = $1 AND holder = $2",
        [gateway.into(), holder.into(), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// What changed in a held session, written by its holder.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// `Some(Some(t))` connected at t, `Some(None)` disconnected.
    pub connected_since: Option<Option<DateTime<Utc>>>,
    pub client_id: Option<i32>,
    pub fills: i64,
    pub last_fill_at: Option<DateTime<Utc>>,
    pub skipped: i64,
    pub reconnected: bool,
    /// `Some(Some(e))` a new error, `Some(None)` clears it.
    pub error: Option<Option<String>>,
}

/// Records `p` on `holder`'s row (nothing when it no longer holds the lease).
pub async fn record(
    db: &impl ConnectionTrait,
    gateway: &str,
    holder: &str,
    p: Progress,
) -> Result<()> {
    let mut sets = vec![
        "fills_count = fills_count + $3".to_string(),
        "skipped_count = skipped_count + $4".to_string(),
        "reconnects = reconnects + $5".to_string(),
        "updated_at = $6".to_string(),
    ];
    let mut values: Vec<Value> = vec![
        gateway.into(),
        holder.into(),
        p.fills.into(),
        p.skipped.into(),
        i32::from(p.reconnected).into(),
        Utc::now().into(),
    ];
    let mut set = |column: &str, value: Value| {
        values.push(value);
        sets.push(format!("{column} = ${}", values.len()));
    };
    if let Some(since) = p.connected_since {
        set("connected_since", since.into());
    }
    if let Some(id) = p.client_id {
        set("client_id", id.into());
    }
    if let Some(at) = p.last_fill_at {
        set("last_fill_at", at.into());
    }
    if let Some(error) = p.error {
        set("last_error", error.into());
    }
    let sql = format!(
        "UPDATE live_sessions SET {} WHERE gateway = $1 AND holder = $2",
        sets.join(", ")
    );
    db.execute_raw(statement(db.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// One gateway's row, if it has one.
pub async fn current(db: &impl ConnectionTrait, gateway: &str) -> Result<Option<LiveSession>> {
    Ok(LiveSession::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT * FROM live_sessions WHERE gateway = $1",
        [gateway.into()],
    ))
    .one(db)
    .await?)
}

impl From<LiveSession> for app::models::LiveSessionDto {
    fn from(s: LiveSession) -> Self {
        app::models::LiveSessionDto {
            gateway: s.gateway,
            holder: s.holder,
            client_id: s.client_id,
            connected_since: s.connected_since,
            last_fill_at: s.last_fill_at,
            fills_count: s.fills_count,
            reconnects: s.reconnects,
            skipped_count: s.skipped_count,
            last_error: s.last_error,
        }
    }
}

/// Every gateway's row, by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<LiveSession>> {
    Ok(LiveSession::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT * FROM live_sessions ORDER BY gateway",
        [],
    ))
    .all(db)
    .await?)
}
