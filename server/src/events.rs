//! Changes to jobs and fills, published by the code that writes them and delivered to every
//! subscriber in every process: on PostgreSQL through `pg_notify` on [`CHANNEL`] (delivered
//! when the writer's transaction commits) and one `LISTEN` connection per process
//! ([`listen`]) feeding an in-process broadcast; on SQLite (one process) straight into that
//! broadcast. Live pages (`GET /api/v1/events`) and the job event stream subscribe here
//! instead of polling the database.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL notification channel of changes.
pub const CHANNEL: &str = "fillbook_changes";

pub use app::models::Change;

static BUS: LazyLock<broadcast::Sender<Change>> = LazyLock::new(|| broadcast::channel(1024).0);

/// Every change from now on. A subscriber that falls more than 1,024 changes behind gets a
/// `Lagged` error and should re-read what it shows.
pub fn subscribe() -> broadcast::Receiver<Change> {
    BUS.subscribe()
}

/// Publishes `change` through `db` (a connection or the writer's transaction: on PostgreSQL
/// the notification goes out when it commits). Never fails the write: a change that cannot
/// be announced is logged.
pub async fn publish(db: &impl ConnectionTrait, change: Change) {
    if db.get_database_backend() == DbBackend::Postgres {
        let text = serde_json::to_string(&change).unwrap_or_default();
        let sent = db
            .execute_raw(crate::db::statement(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), text.into()],
            ))
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not announce a change");
        }
    } else {
        let _ = BUS.send(change);
    }
}

/// Forwards PostgreSQL notifications on [`CHANNEL`] to this process's subscribers,
/// reconnecting after errors. Runs until dropped; a no-op on SQLite.
pub async fn listen(db: DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return std::future::pending().await;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "change listener cannot connect; retrying in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN {CHANNEL} failed; retrying in 2 s");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) => match serde_json::from_str::<Change>(n.payload()) {
                    Ok(change) => {
                        let _ = BUS.send(change);
                    }
                    Err(e) => tracing::warn!(error = %e, "undecodable change notification"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "change listener lost its connection; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Starts [`listen`] once per process and database (idempotent), on PostgreSQL.
pub fn ensure_listening(db: &DatabaseConnection) {
    static STARTED: LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        LazyLock::new(Default::default);
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let options = db.get_postgres_connection_pool().connect_options();
    let key = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let fresh = STARTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key);
    if fresh {
        tokio::spawn(listen(db.clone()));
    }
}
