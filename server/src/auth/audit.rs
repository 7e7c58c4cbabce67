//! The audit log: sign-ins (successful, failed, throttled), sign-outs, tokens created and
//! revoked, and every side effect (sync enqueued, order prepared/confirmed/submitted) with
//! who did it, when and from where. Append-only; secrets are never written to it.

use crate::db::entities::audit_events;
use crate::db::statement;
use crate::error::Result;
use app::models::{Actor, AuditEventDto, AuditQuery, Page};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// Writes one entry.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    detail: Option<serde_json::Value>,
) -> Result<()> {
    audit_events::ActiveModel {
        at: Set(Utc::now()),
        actor_kind: Set(actor.kind.clone()),
        actor: Set(actor.name.clone()),
        action: Set(action.to_string()),
        target: Set(target),
        ip: Set(actor.ip.clone()),
        detail: Set(detail.map(|d| d.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A page of entries, newest first; the cursor is the last entry's id.
pub async fn list(db: &impl ConnectionTrait, query: AuditQuery) -> Result<Page<AuditEventDto>> {
    let limit = crate::db::page::page_size(query.limit, 100)?;
    let mut select = audit_events::Entity::find().order_by_desc(audit_events::Column::Id);
    if let Some(id) = crate::db::page::id_cursor(query.cursor.as_deref())? {
        select = select.filter(audit_events::Column::Id.lt(id));
    }
    if let Some(action) = query.action {
        select = select.filter(audit_events::Column::Action.eq(action));
    }
    if let Some(actor) = query.actor {
        select = select.filter(audit_events::Column::Actor.eq(actor));
    }
    let rows = select.limit(limit + 1).all(db).await?;
    Ok(crate::db::page::page_of(
        rows,
        limit,
        |r| r.id.to_string(),
        |r| AuditEventDto {
            id: r.id,
            at: r.at,
            actor_kind: r.actor_kind,
            actor: r.actor,
            action: r.action,
            target: r.target,
            ip: r.ip,
            detail: r.detail.and_then(|d| serde_json::from_str(&d).ok()),
        },
    ))
}

/// Entries of `action` since `since` with this target (a user name) and with this address.
pub async fn count_since(
    db: &impl ConnectionTrait,
    action: &str,
    since: DateTime<Utc>,
    target: &str,
    ip: Option<&str>,
) -> Result<(i64, i64)> {
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT \
               COALESCE(SUM(CASE WHEN target = $3 THEN 1 ELSE 0 END), 0) AS by_target, \
               COALESCE(SUM(CASE WHEN ip = $4 THEN 1 ELSE 0 END), 0) AS by_ip \
             FROM audit_events WHERE action = $1 AND at > $2",
            [
                action.into(),
                since.into(),
                target.into(),
                ip.map(str::to_string).into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        return Ok((0, 0));
    };
    Ok((row.try_get("", "by_target")?, row.try_get("", "by_ip")?))
}
