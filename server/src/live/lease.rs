//! The `live_sessions` table: one row per gateway saying which process follows its fills
//! (a lease the holder renews; once it lapses another process takes over) and the state
//! operators see — connected since, last fill, fills, reconnects, skipped records, last
//! error.

use crate::db::entities::live_sessions::{self, Column, Entity};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::time::Duration;

/// One gateway's live subscription as stored: its holder (the worker process following it,
/// while its lease runs), connected since (empty while disconnected), and its counters.
pub type LiveSession = live_sessions::Model;

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
    Entity::insert(live_sessions::ActiveModel {
        gateway: Set(gateway.to_string()),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(Column::Gateway).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    let before = current(db, gateway).await?;
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let taken = Entity::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::LeaseExpiresAt, Expr::value(until))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Gateway.eq(gateway))
        .filter(
            Column::Holder
                .is_null()
                .or(Column::Holder.eq(holder))
                .or(Column::LeaseExpiresAt.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected
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
    let renewed = Entity::update_many()
        .col_expr(Column::LeaseExpiresAt, Expr::value(until))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Gateway.eq(gateway))
        .filter(Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Gives the lease up (a clean shutdown): the next process takes over at once.
pub async fn release(db: &impl ConnectionTrait, gateway: &str, holder: &str) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::Holder, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            Column::ConnectedSince,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Gateway.eq(gateway))
        .filter(Column::Holder.eq(holder))
        .exec(db)
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
    let mut update = Entity::update_many()
        .col_expr(
            Column::FillsCount,
            Expr::col(Column::FillsCount).add(p.fills),
        )
        .col_expr(
            Column::SkippedCount,
            Expr::col(Column::SkippedCount).add(p.skipped),
        )
        .col_expr(
            Column::Reconnects,
            Expr::col(Column::Reconnects).add(i32::from(p.reconnected)),
        )
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(since) = p.connected_since {
        update = update.col_expr(Column::ConnectedSince, Expr::value(since));
    }
    if let Some(id) = p.client_id {
        update = update.col_expr(Column::ClientId, Expr::value(id));
    }
    if let Some(at) = p.last_fill_at {
        update = update.col_expr(Column::LastFillAt, Expr::value(at));
    }
    if let Some(error) = p.error {
        update = update.col_expr(Column::LastError, Expr::value(error));
    }
    update
        .filter(Column::Gateway.eq(gateway))
        .filter(Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// One gateway's row, if it has one.
pub async fn current(db: &impl ConnectionTrait, gateway: &str) -> Result<Option<LiveSession>> {
    Ok(Entity::find_by_id(gateway).one(db).await?)
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
    Ok(Entity::find().order_by_asc(Column::Gateway).all(db).await?)
}
