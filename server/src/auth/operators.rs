//! Operators: people who sign in to the web UI. Added by first-run setup or
//! `fillbook users add`; disabled rather than deleted, so the audit log keeps its names.

use super::{password, sessions};
use crate::db::statement;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;

/// An operator as stored (the hash never leaves this module's callers' process).
#[derive(Clone, Debug, FromQueryResult)]
pub struct Operator {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

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

const COLUMNS: &str = "id, username, password_hash, is_admin, disabled_at, created_at";

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
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM operators",
            [],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// The operator named `username`, if any.
pub async fn find(db: &impl ConnectionTrait, username: &str) -> Result<Option<Operator>> {
    Ok(Operator::find_by_statement(statement(
        db.get_database_backend(),
        format!("SELECT {COLUMNS} FROM operators WHERE username = $1"),
        [username.into()],
    ))
    .one(db)
    .await?)
}

/// Every operator, by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<OperatorInfo>> {
    let all = Operator::find_by_statement(statement(
        db.get_database_backend(),
        format!("SELECT {COLUMNS} FROM operators ORDER BY username"),
        [],
    ))
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
    Operator::find_by_statement(statement(
        db.get_database_backend(),
        format!(
            "INSERT INTO operators (username, password_hash, is_admin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        ),
        [username.into(), hash.into(), is_admin.into(), now.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| Error::Internal("adding an operator returned no row".into()))
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
    db.execute_raw(statement(
        db.get_database_backend(),
        "UPDATE operators SET disabled_at = $1, updated_at = $2 WHERE id = $3",
        [
            disabled.then_some(now).into(),
            now.into(),
            operator.id.into(),
        ],
    ))
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
    db.execute_raw(statement(
        db.get_database_backend(),
        "UPDATE operators SET password_hash = $1, updated_at = $2 WHERE id = $3",
        [
            password::hashed(new_password).await?.into(),
            Utc::now().into(),
            operator.id.into(),
        ],
    ))
    .await?;
    sessions::end_all(db, operator.id).await?;
    Ok(OperatorInfo::from(operator))
}
