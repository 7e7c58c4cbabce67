//! API tokens for bots: `fb_` + 64 hex digits, shown once when created; the database keeps
//! only the SHA-256, the first characters (to recognise it in lists), its scopes, who made
//! it, and when it was last used. A revoked token stops working at once.

use super::{secret, Scope};
use crate::db::entities::api_tokens;
use crate::error::{Error, Result};
use app::models::ApiTokenDto;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

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

impl From<api_tokens::Model> for ApiTokenDto {
    fn from(r: api_tokens::Model) -> Self {
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
    let row = api_tokens::ActiveModel {
        name: Set(name.to_string()),
        token_hash: Set(secret::digest(&token)),
        prefix: Set(token[..SHOWN].to_string()),
        scopes: Set(scopes),
        created_by: Set(created_by.to_string()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((row.into(), token))
}

/// Tokens, newest first; only those made by `created_by` when given.
pub async fn list(db: &impl ConnectionTrait, created_by: Option<&str>) -> Result<Vec<ApiTokenDto>> {
    let mut select = api_tokens::Entity::find().order_by_desc(api_tokens::Column::Id);
    if let Some(who) = created_by {
        select = select.filter(api_tokens::Column::CreatedBy.eq(who));
    }
    let rows = select.all(db).await?;
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
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_tokens::Column::Id.eq(id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    get(db, id, created_by).await
}

/// Revokes every live token `created_by` made; answers how many.
pub async fn revoke_all_made_by(db: &impl ConnectionTrait, created_by: &str) -> Result<u64> {
    let done = api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_tokens::Column::CreatedBy.eq(created_by))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// The bot behind `token` if it is known and not revoked; records when it was used.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Option<TokenUser>> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let hash = secret::digest(token);
    let found = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(hash))
        .filter(api_tokens::Column::RevokedAt.is_null())
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
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    let scopes = Scope::parse_list(&row.scopes).unwrap_or_default();
    Ok(Some(TokenUser {
        id: row.id,
        name: row.name,
        scopes,
    }))
}
