//! The transaction a ledger run writes in. On SQLite it is sea-orm's own. On PostgreSQL it
//! is a sqlx transaction on a connection of the same pool, run through sea-orm's
//! `ConnectionTrait` like any other, so that a run can also `COPY` its new fills into the
//! ledger inside that transaction (sea-orm's transaction does not lend out its connection).
//! Dropped without [`RunTxn::commit`], either kind rolls back.

use crate::error::Result;
use async_trait::async_trait;
use sea_orm::sqlx::{self, postgres::Postgres, AssertSqlSafe, Transaction};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use tokio::sync::Mutex;

/// One run's transaction (see the module doc).
pub enum RunTxn {
    Orm(DatabaseTransaction),
    Postgres(Mutex<Transaction<'static, Postgres>>),
}

impl RunTxn {
    /// Begins a run's transaction on `db` (SQLite: `BEGIN IMMEDIATE`, as every write).
    pub async fn begin(db: &DatabaseConnection) -> Result<Self> {
        if db.get_database_backend() == DbBackend::Postgres {
            let txn = db
                .get_postgres_connection_pool()
                .begin()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
            Ok(RunTxn::Postgres(Mutex::new(txn)))
        } else {
            Ok(RunTxn::Orm(super::begin_write(db).await?))
        }
    }

    /// Commits the run.
    pub async fn commit(self) -> Result<()> {
        self.end(true).await
    }

    /// Rolls the run back.
    pub async fn rollback(self) -> Result<()> {
        self.end(false).await
    }

    async fn end(self, commit: bool) -> Result<()> {
        match self {
            RunTxn::Orm(txn) if commit => txn.commit().await?,
            RunTxn::Orm(txn) => txn.rollback().await?,
            RunTxn::Postgres(txn) => {
                let txn = txn.into_inner();
                let ended = if commit {
                    txn.commit().await
                } else {
                    txn.rollback().await
                };
                ended.map_err(sqlx_error_to_exec_err)?
            }
        }
        Ok(())
    }

    /// Whether [`RunTxn::copy_in`] can load rows (PostgreSQL).
    pub fn can_copy(&self) -> bool {
        matches!(self, RunTxn::Postgres(_))
    }

    /// Runs `statement` (a `COPY … FROM STDIN`) with the data `next` hands out piece by
    /// piece until it returns `None`; returns the rows loaded. Each piece is sent before the
    /// next is asked for, so the server parses one while the caller encodes the next.
    pub async fn copy_in(
        &self,
        statement: &str,
        mut next: impl FnMut() -> Result<Option<Vec<u8>>> + Send,
    ) -> Result<u64> {
        let RunTxn::Postgres(txn) = self else {
            return Err(crate::error::Error::Internal(
                "COPY is PostgreSQL's: this run has no PostgreSQL connection".into(),
            ));
        };
        let mut txn = txn.lock().await;
        let mut copy = txn
            .copy_in_raw(statement)
            .await
            .map_err(sqlx_error_to_exec_err)?;
        loop {
            let piece = match next() {
                Ok(Some(piece)) => piece,
                Ok(None) => break,
                Err(e) => {
                    // Ends the COPY with an error, so the transaction sees it fail too.
                    let _ = copy.abort(e.to_string()).await;
                    return Err(e);
                }
            };
            copy.send(piece).await.map_err(sqlx_error_to_exec_err)?;
        }
        Ok(copy.finish().await.map_err(sqlx_error_to_exec_err)?)
    }
}

/// A driver error of a statement, as sea-orm reports one.
fn sqlx_error_to_exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

/// A driver error of a query, as sea-orm reports one.
fn sqlx_error_to_query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[async_trait]
impl ConnectionTrait for RunTxn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            RunTxn::Orm(txn) => txn.get_database_backend(),
            RunTxn::Postgres(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> std::result::Result<ExecResult, DbErr> {
        match self {
            RunTxn::Orm(txn) => txn.execute_raw(stmt).await,
            RunTxn::Postgres(txn) => {
                let mut txn = txn.lock().await;
                query(&stmt)
                    .execute(&mut **txn)
                    .await
                    .map(Into::into)
                    .map_err(sqlx_error_to_exec_err)
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> std::result::Result<ExecResult, DbErr> {
        match self {
            RunTxn::Orm(txn) => txn.execute_unprepared(sql).await,
            RunTxn::Postgres(txn) => {
                let mut txn = txn.lock().await;
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut **txn)
                    .await
                    .map(Into::into)
                    .map_err(sqlx_error_to_exec_err)
            }
        }
    }

    async fn query_one_raw(
        &self,
        stmt: Statement,
    ) -> std::result::Result<Option<QueryResult>, DbErr> {
        match self {
            RunTxn::Orm(txn) => txn.query_one_raw(stmt).await,
            RunTxn::Postgres(txn) => {
                let mut txn = txn.lock().await;
                query(&stmt)
                    .fetch_optional(&mut **txn)
                    .await
                    .map(|row| row.map(Into::into))
                    .map_err(sqlx_error_to_query_err)
            }
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> std::result::Result<Vec<QueryResult>, DbErr> {
        match self {
            RunTxn::Orm(txn) => txn.query_all_raw(stmt).await,
            RunTxn::Postgres(txn) => {
                let mut txn = txn.lock().await;
                query(&stmt)
                    .fetch_all(&mut **txn)
                    .await
                    .map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(sqlx_error_to_query_err)
            }
        }
    }
}
