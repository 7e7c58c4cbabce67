//! The audit log: sign-ins (successful, failed, throttled), sign-outs, tokens created and
//! revoked, and every side effect (sync enqueued, order prepared/confirmed/submitted) with
//! who did it, when and from where. Append-only; secrets are never written to it.

use crate::db::entities::audit_events;
use crate::error::Result;
use app::models::{Actor, AuditEventDto, AuditQuery, Page};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
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

#[derive(FromQueryResult)]
struct Counts {
    by_target: i64,
    by_ip: i64,
}

/// Entries of `action` since `since` with this target (a user name) and with this address.
pub async fn count_since(
    db: &impl ConnectionTrait,
    action: &str,
    since: DateTime<Utc>,
    target: &str,
    ip: Option<&str>,
) -> Result<(i64, i64)> {
    use audit_events::Column as C;
    // How many rows match `condition`, as a column: SUM(CASE WHEN … THEN 1 ELSE 0 END).
    let count_of = |condition: SimpleExpr| {
        Expr::expr(Func::coalesce([
            Expr::expr(Expr::case(condition, 1).finally(0)).sum(),
            0.into(),
        ]))
    };
    let by_ip = match ip {
        Some(ip) => Expr::col(C::Ip).eq(ip),
        None => Expr::value(false),
    };
    let row = audit_events::Entity::find()
        .select_only()
        .column_as(count_of(Expr::col(C::Target).eq(target)), "by_target")
        .column_as(count_of(by_ip), "by_ip")
        .filter(C::Action.eq(action))
        .filter(C::At.gt(since))
        .into_model::<Counts>()
        .one(db)
        .await?;
    Ok(row.map_or((0, 0), |c| (c.by_target, c.by_ip)))
}
