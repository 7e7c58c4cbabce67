//! Database access: connecting (SQLite or PostgreSQL), migrating, readiness, entities
//! and the read queries that turn rows into DTOs.
//!
//! Policy: sea-orm's entities (one per table, with their relations) and query builder by
//! default. Raw SQL, through [`statement`] (which renders `$N` placeholders for SQLite), is
//! only for what the builder cannot say or what a benchmark measures, and each place says
//! which in a comment:
//!
//! * the ledger writer (`sync::trades`, `sync::records`, the rebuild's pages): set-based
//!   statements over per-column arrays (`unnest`) or bound record lists (`fillbook bench
//!   sync`);
//! * the queue's insert on a partial unique index, its claim and a failed attempt's
//!   guarded update (`fillbook bench jobs`);
//! * the keyset list of trades with its row-value comparison (`fillbook bench api`) and
//!   the export pages (`fillbook bench export`);
//! * one reconciliation join on two columns that no foreign key declares;
//! * PostgreSQL's `NOTIFY` (the change bus, the queue's wake-ups) and the readiness probe.
//!
//! The benchmarks and drills (`bench`, `drills`) write their floors and faults in SQL on
//! purpose: they measure the database, not the builder.

pub mod accounts;
pub mod coverage;
pub mod entities;
pub mod page;
pub mod read;
pub mod run;
mod statement;

pub use statement::statement;

use crate::error::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::path::Path;
use std::time::Duration;

/// Which engine a URL names.
pub fn backend_of(url: &str) -> Result<DatabaseBackend> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseBackend::Postgres)
    } else {
        Err(Error::Config(format!(
            "DATABASE_URL must start with sqlite:// or postgres://, got `{}`",
            redact(url)
        )))
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// For SQLite: create the file's directory and ask for the file to be created.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Config(format!(
                "cannot create the database directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    if query.contains("mode=") {
        Ok(url.to_string())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

/// Begins a transaction that will write. On SQLite it starts as the writer (`BEGIN
/// IMMEDIATE`, waiting up to the busy timeout for the lock): a transaction that began
/// deferred and read first cannot become the writer once another connection committed
/// after that read, and fails at once with "database is locked" (`SQLITE_BUSY_SNAPSHOT`).
/// Inside a transaction it opens a savepoint, as `begin` does.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// Opens a connection pool to `url`, failing fast with one clear sentence.
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let backend = backend_of(url)?;
    let url = match backend {
        DatabaseBackend::Sqlite => prepare_sqlite_url(url)?,
        _ => url.to_string(),
    };
    let mut opts = ConnectOptions::new(url.clone());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(8))
        .sqlx_logging(false);
    if backend == DatabaseBackend::Sqlite {
        opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    } else {
        opts.max_connections(16);
    }
    let db = Database::connect(opts)
        .await
        .map_err(|e| Error::DbConnect {
            url: redact(&url),
            reason: e.to_string(),
        })?;
    db.execute_unprepared("SELECT 1")
        .await
        .map_err(|e| Error::DbConnect {
            url: redact(&url),
            reason: e.to_string(),
        })?;
    Ok(db)
}

/// [`connect`], refusing a database with migrations still to apply: a command that reads
/// or writes its tables would otherwise fail on a missing table or column.
pub async fn connect_migrated(url: &str) -> Result<DatabaseConnection> {
    let db = connect(url).await?;
    if pending_migrations(&db).await? > 0 {
        return Err(Error::Config(
            "the database has pending migrations; run `fillbook migrate` first".into(),
        ));
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Rolls back `steps` migrations.
pub async fn migrate_down(db: &DatabaseConnection, steps: u32) -> Result<()> {
    Migrator::down(db, Some(steps)).await?;
    Ok(())
}

/// How many migrations are not applied yet.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}
