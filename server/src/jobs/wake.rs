//! Wake-ups for idle workers: an in-process [`Notify`] fired on every enqueue, and on
//! PostgreSQL a `LISTEN` on [`CHANNEL`] (enqueue runs `pg_notify`, delivered at commit, so
//! workers in other processes and hosts wake too). Workers also poll as a fallback.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::Notify;

/// The PostgreSQL notification channel of the queue.
pub const CHANNEL: &str = "fillbook_jobs";

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// The process-wide notifier idle workers wait on.
pub fn notifier() -> &'static Notify {
    &WAKE
}

/// Tells idle workers that a job may be waiting: in this process at once, and on
/// PostgreSQL through `pg_notify` (delivered when the caller's transaction commits).
pub async fn announce(db: &impl ConnectionTrait) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(crate::db::statement(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [CHANNEL.into()],
        ))
        .await?;
    }
    WAKE.notify_waiters();
    Ok(())
}

/// Listens on [`CHANNEL`] and forwards every notification to [`notifier`], reconnecting
/// after errors. Runs until dropped; a no-op on SQLite.
pub async fn listen(db: DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return std::future::pending().await;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "job listener cannot connect; polling only, retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN {CHANNEL} failed; retrying in 5 s");
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(_) => WAKE.notify_waiters(),
                Err(e) => {
                    tracing::warn!(error = %e, "job listener lost its connection; reconnecting");
                    // Jobs enqueued while we were away are found by the next poll or wake.
                    WAKE.notify_waiters();
                    break;
                }
            }
        }
    }
}
