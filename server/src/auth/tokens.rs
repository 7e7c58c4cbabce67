//! API tokens for bots: `fb_` + 64 hex digits, shown once when created; the database keeps
//! only the SHA-256, the first characters (to recognise it in lists), its scopes, who made
//! it, and when it was last used. A revoked token stops working at once.

use super::{secret, Scope};
use crate::db::statement;
use crate::error::{Error, Result};
use app::models::ApiTokenDto;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

/// Every token starts with this.
pub const PREFIX: &str = "fb_";
/// Characters of a token kept in clear to recognise it.
const SHOWN: usize = 10;
/// The last-used time is written at most this often (seconds).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The bot behind a valid token.
#[derive(Clone, Debug)]
pub struct TokenUser {
    pub id: i32,
    pub name: String,
    pub scopes: Vec<Scope>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i32,
    name: String,
    prefix: String,
    scopes: String,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at";

impl From<Row> for ApiTokenDto {
    fn from(r: Row) -> Self {
        ApiTokenDto {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.split(',').map(str::to_string).collect(),
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Creates a token; returns its listing and the token itself (the only time it exists in
/// clear).
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    scopes: &[Scope],
    created_by: &str,
) -> Result<(ApiTokenDto, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "a token name has 1 to 100 characters",
        ));
    }
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "give at least one scope"));
    }
    let token = secret::generate(PREFIX);
    let scopes = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let row = Row::find_by_statement(statement(
        db.get_database_backend(),
        format!(
            "INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ),
        [
            name.into(),
            secret::digest(&token).into(),
            token[..SHOWN].to_string().into(),
            scopes.into(),
            created_by.into(),
            Utc::now().into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| Error::Internal("creating a token returned no row".into()))?;
    Ok((row.into(), token))
}

/// Tokens, newest first; only those made by `created_by` when given.
pub async fn list(db: &impl ConnectionTrait, created_by: Option<&str>) -> Result<Vec<ApiTokenDto>> {
    let (filter, values) = match created_by {
        Some(who) => ("WHERE created_by = $1", vec![who.into()]),
        None => ("", vec![]),
    };
    let rows = Row::find_by_statement(statement(
        db.get_database_backend(),
        format!("SELECT {COLUMNS} FROM api_tokens {filter} ORDER BY id DESC"),
        values,
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(ApiTokenDto::from).collect())
}

/// One token by id; limited to `created_by`'s tokens when given.
pub async fn get(
    db: &impl ConnectionTrait,
    id: i32,
    created_by: Option<&str>,
) -> Result<ApiTokenDto> {
    list(db, created_by)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::NotFound(format!("token {id}")))
}

/// Revokes a token (idempotent: revoking twice keeps the first time).
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: i32,
    created_by: Option<&str>,
) -> Result<ApiTokenDto> {
    get(db, id, created_by).await?;
    db.execute_raw(statement(
        db.get_database_backend(),
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        [Utc::now().into(), id.into()],
    ))
    .await?;
    get(db, id, created_by).await
}

/// Revokes every live token `created_by` made; answers how many.
pub async fn revoke_all_made_by(db: &impl ConnectionTrait, created_by: &str) -> Result<u64> {
    let done = db
        .execute_raw(statement(
            db.get_database_backend(),
            "UPDATE api_tokens SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL",
            [Utc::now().into(), created_by.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// The bot behind `token` if it is known and not revoked; records when it was used.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Option<TokenUser>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let hash = secret::digest(token);
    let found = Row::find_by_statement(statement(
        db.get_database_backend(),
        format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"),
        [hash.into()],
    ))
    .one(db)
    .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let now = Utc::now();
    let stale = row
        .last_used_at
        .is_none_or(|t| (now - t).num_seconds() >= TOUCH_EVERY_SECONDS);
    if stale {
        db.execute_raw(statement(
            db.get_database_backend(),
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
            [now.into(), row.id.into()],
        ))
        .await?;
    }
    let scopes = Scope::parse_list(&row.scopes).unwrap_or_default();
    Ok(Some(TokenUser {
        id: row.id,
        name: row.name,
        scopes,
    }))
}
