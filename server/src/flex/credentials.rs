//! Stored Flex Web Service credentials (`flex_credentials`): a name, the query id and the
//! token. Setting and removing them is audited without the token; listing never shows it.

use super::web::FlexCredentials;
use crate::db::entities::flex_credentials;
use crate::error::{Error, Result};
use app::models::Actor;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;

/// A stored set of credentials as listed (never with the token).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CredentialsInfo {
    pub name: String,
    pub query_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(Error::invalid(
            "name",
            "a credentials name is 1–64 letters, digits, `-`, `_` or `.`",
        ));
    }
    Ok(())
}

fn check(name: &str, query_id: &str, token: &str) -> Result<()> {
    check_name(name)?;
    if query_id.is_empty() || query_id.len() > 32 || !query_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(
            "query_id",
            "the Flex query id is the number Client Portal shows next to the query",
        ));
    }
    if token.is_empty() || token.len() > 256 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            "token",
            "the Flex Web Service token must be the letters and digits Client Portal generated",
        ));
    }
    Ok(())
}

/// Stores (or replaces) the credentials called `name`; returns whether they replaced
/// earlier ones. One transaction with its audit entry (`flex.credentials_set`).
pub async fn set(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    query_id: &str,
    token: &str,
) -> Result<bool> {
    check(name, query_id, token)?;
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let updated = flex_credentials::Entity::update_many()
        .col_expr(flex_credentials::Column::Token, Expr::value(token))
        .col_expr(flex_credentials::Column::QueryId, Expr::value(query_id))
        .col_expr(flex_credentials::Column::UpdatedAt, Expr::value(now))
        .filter(flex_credentials::Column::Name.eq(name))
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    if !updated {
        flex_credentials::ActiveModel {
            name: Set(name.to_string()),
            token: Set(token.to_string()),
            query_id: Set(query_id.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    crate::auth::audit::record(
        &txn,
        actor,
        "flex.credentials_set",
        Some(format!("flex credentials {name}")),
        Some(json!({ "query_id": query_id, "replaced": updated })),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Every stored set, by name (without tokens).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<CredentialsInfo>> {
    let rows = flex_credentials::Entity::find()
        .order_by_asc(flex_credentials::Column::Name)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| CredentialsInfo {
            name: r.name,
            query_id: r.query_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// Removes the credentials called `name` (audited as `flex.credentials_removed`).
pub async fn remove(db: &DatabaseConnection, actor: &Actor, name: &str) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let removed = flex_credentials::Entity::delete_many()
        .filter(flex_credentials::Column::Name.eq(name))
        .exec(&txn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Err(Error::NotFound(format!("flex credentials `{name}`")));
    }
    crate::auth::audit::record(
        &txn,
        actor,
        "flex.credentials_removed",
        Some(format!("flex credentials {name}")),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The credentials called `name`, token included (for the fetch only).
pub async fn load(db: &impl ConnectionTrait, name: &str) -> Result<FlexCredentials> {
    let row = flex_credentials::Entity::find()
        .filter(flex_credentials::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "flex credentials `{name}` (store them with `fillbook flex credentials set`)"
            ))
        })?;
    Ok(FlexCredentials {
        token: row.token,
        query_id: row.query_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_inputs() {
        assert!(check("main", "123456", "abc123").is_ok());
        let field = |r: Result<()>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check("", "1", "a")), "name");
        assert_eq!(field(check("a b", "1", "a")), "name");
        assert_eq!(field(check("a", "q1", "a")), "query_id");
        assert_eq!(field(check("a", "1", "")), "token");
        assert_eq!(field(check("a", "1", "a b")), "token");
    }
}
