//! Operators: people who sign in to the web UI. Added by first-run setup or
//! `fillbook users add`; disabled rather than deleted, so the audit log keeps its names.

use super::{password, sessions};
use crate::db::entities::operators;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Unchanged,
};
use serde::Serialize;

/// An operator as stored (the hash never leaves this module's callers' process).
pub type Operator = operators::Model;

/// An operator as listed (`fillbook users list`).
#[derive(Debug, Serialize)]
pub struct OperatorInfo {
    pub id: i32,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Operator> for OperatorInfo {
    fn from(o: Operator) -> Self {
        Self {
            id: o.id,
            username: o.username,
            is_admin: o.is_admin,
            disabled: o.disabled_at.is_some(),
            created_at: o.created_at,
        }
    }
}

/// Checks a user name: 1–64 letters, digits, `.`, `_`, `-` or `@`.
pub fn validate_username(username: &str) -> Result<()> {
    let ok = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "a user name has 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
        ))
    }
}

/// How many operators exist (disabled ones included).
pub async fn count(db: &impl ConnectionTrait) -> Result<i64> {
    Ok(operators::Entity::find().count(db).await? as i64)
}

/// The operator named `username`, if any.
pub async fn find(db: &impl ConnectionTrait, username: &str) -> Result<Option<Operator>> {
    Ok(operators::Entity::find()
        .filter(operators::Column::Username.eq(username))
        .one(db)
        .await?)
}

/// Every operator, by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<OperatorInfo>> {
    let all = operators::Entity::find()
        .order_by_asc(operators::Column::Username)
        .all(db)
        .await?;
    Ok(all.into_iter().map(OperatorInfo::from).collect())
}

/// Adds an operator; 409 when the name is taken.
pub async fn add(
    db: &impl ConnectionTrait,
    username: &str,
    new_password: &str,
    is_admin: bool,
) -> Result<Operator> {
    validate_username(username)?;
    password::validate(new_password, "password")?;
    if find(db, username).await?.is_some() {
        return Err(Error::Conflict(format!(
            "an operator named `{username}` already exists"
        )));
    }
    let hash = password::hashed(new_password).await?;
    let now = Utc::now();
    Ok(operators::ActiveModel {
        username: Set(username.to_string()),
        password_hash: Set(hash),
        is_admin: Set(is_admin),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Creates the first administrator; refused (409) once any operator exists.
pub async fn add_first_admin(
    db: &sea_orm::DatabaseConnection,
    username: &str,
    new_password: &str,
) -> Result<Operator> {
    let txn = crate::db::begin_write(db).await?;
    if count(&txn).await? > 0 {
        return Err(Error::Conflict(
            "this instance is already set up; sign in instead".into(),
        ));
    }
    let admin = add(&txn, username, new_password, true).await?;
    txn.commit().await?;
    Ok(admin)
}

async fn require(db: &impl ConnectionTrait, username: &str) -> Result<Operator> {
    find(db, username)
        .await?
        .ok_or_else(|| Error::NotFound(format!("operator `{username}`")))
}

/// What disabling an operator also ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Offboarded {
    /// Their API tokens revoked (re-enabling does not bring them back).
    pub tokens_revoked: u64,
}

/// Disables (or re-enables) an operator; disabling ends their sessions and revokes the API
/// tokens they made.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    username: &str,
    disabled: bool,
) -> Result<(OperatorInfo, Offboarded)> {
    let operator = require(db, username).await?;
    let now = Utc::now();
    operators::ActiveModel {
        id: Unchanged(operator.id),
        disabled_at: Set(disabled.then_some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    let mut offboarded = Offboarded::default();
    if disabled {
        sessions::end_all(db, operator.id).await?;
        offboarded.tokens_revoked = super::tokens::revoke_all_made_by(db, username).await?;
    }
    Ok((OperatorInfo::from(require(db, username).await?), offboarded))
}

/// Sets a new password and ends the operator's sessions.
pub async fn reset_password(
    db: &impl ConnectionTrait,
    username: &str,
    new_password: &str,
) -> Result<OperatorInfo> {
    password::validate(new_password, "password")?;
    let operator = require(db, username).await?;
    operators::ActiveModel {
        id: Unchanged(operator.id),
        password_hash: Set(password::hashed(new_password).await?),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await?;
    sessions::end_all(db, operator.id).await?;
    Ok(OperatorInfo::from(operator))
}
