//! The audit log: sign-ins (successful, failed, throttled), sign-outs, tokens created and
//! revoked, and every side effect (sync enqueued, order prepared/confirmed/submitted) with
//! who did it, when and from where. Append-only; secrets are never written to it.

use crate::db::statement;
use crate::error::Result;
use app::models::{Actor, AuditEventDto, AuditQuery, Page};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

/// Writes one entry.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    detail: Option<serde_json::Value>,
) -> Result<()> {
    db.execute_raw(statement(
        db.get_database_backend(),
        "INSERT INTO audit_events (at, actor_kind, actor, action, target, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            Utc::now().into(),
            actor.kind.clone().into(),
            actor.name.clone().into(),
            action.into(),
            target.into(),
            actor.ip.clone().into(),
            detail.map(|d| d.to_string()).into(),
        ],
    ))
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct Row {
    id: i32,
    at: DateTime<Utc>,
    actor_kind: String,
    actor: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

/// A page of entries, newest first; the cursor is the last entry's id.
pub async fn list(db: &impl ConnectionTrait, query: AuditQuery) -> Result<Page<AuditEventDto>> {
    let limit = crate::db::page::page_size(query.limit, 100)?;
    let mut conditions = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(id) = crate::db::page::id_cursor(query.cursor.as_deref())? {
        values.push(id.into());
        conditions.push(format!("id < ${}", values.len()));
    }
    if let Some(action) = &query.action {
        values.push(action.clone().into());
        conditions.push(format!("action = ${}", values.len()));
    }
    if let Some(actor) = &query.actor {
        values.push(actor.clone().into());
        conditions.push(format!("actor = ${}", values.len()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let rows = Row::find_by_statement(statement(
        db.get_database_backend(),
        format!(
            "SELECT id, at, actor_kind, actor, action, target, ip, detail FROM audit_events \
             {filter} ORDER BY id DESC LIMIT {}",
            limit + 1
        ),
        values,
    ))
    .all(db)
    .await?;
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
