//! Test database harness: the same integration test runs on SQLite and on PostgreSQL.
//!
//! * `sqlite()` — a fresh, migrated SQLite file under the system temp dir, removed on drop.
//! * `postgres()` — a fresh database cloned from a migrated template on the server named by
//!   `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped on
//!   drop; the template is built once per migration set (its name hashes `migration/src`),
//!   under an advisory lock, so test processes can run in parallel.
//! * `db_test!(name, |t| async move { … })` — generates `name::sqlite` and `name::postgres`.
//!
//! An unreachable PostgreSQL is a test failure, never a skip.
#![allow(dead_code)]

pub mod http;
pub mod logs;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use std::path::PathBuf;

/// The default admin connection for test databases.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated database that is removed when dropped.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: do the async work on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh, migrated SQLite database in a temporary file.
pub async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join("fillbook-tests");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(format!("{}.db", unique_suffix()));
    let url = format!("sqlite://{}", path.display());
    let db = fillbook::db::connect(&url).await.expect("open sqlite");
    fillbook::db::migrate(&db).await.expect("migrate sqlite");
    TestDb {
        db,
        url,
        cleanup: Cleanup::File(path),
    }
}

/// The admin URL of the PostgreSQL server used by tests.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A name that changes whenever any migration source changes.
fn template_name() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read migration/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    // FNV-1a over every migration file's name and text.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let text = std::fs::read(&file).unwrap_or_default();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for byte in name.as_bytes().iter().chain(text.iter()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("fillbook_tpl_{hash:016x}")
}

async fn single_connection(url: &str) -> DatabaseConnection {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    match Database::connect(opts).await {
        Ok(db) => db,
        Err(e) => panic!(
            "PostgreSQL for tests is unreachable at {url}: {e}. Start it, or point TEST_DATABASE_URL at one."
        ),
    }
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> bool {
    admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .expect("query pg_database")
        .is_some()
}

/// A fresh database cloned from the migrated template.
pub async fn postgres() -> TestDb {
    const LOCK_KEY: i64 = 7_243_001;
    let admin_url = admin_url();
    let admin = single_connection(&admin_url).await;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .await
        .expect("advisory lock");
    let template = template_name();
    if !database_exists(&admin, &template).await {
        let building = format!("{template}_build_{}", unique_suffix());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
            .await
            .expect("create template");
        let db = fillbook::db::connect(&with_database(&admin_url, &building))
            .await
            .expect("connect template");
        fillbook::db::migrate(&db).await.expect("migrate template");
        db.close().await.expect("close template");
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
            ))
            .await
            .expect("publish template");
    }
    let name = format!("fillbook_test_{}", unique_suffix());
    let created = admin
        .execute_unprepared(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .await;
    let _ = admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .await;
    let _ = admin.close().await;
    created.expect("clone template");
    let url = with_database(&admin_url, &name);
    let db = fillbook::db::connect(&url).await.expect("connect test db");
    TestDb {
        db,
        url,
        cleanup: Cleanup::PgDatabase { admin_url, name },
    }
}

/// Generates `$name::sqlite` and `$name::postgres`, each running `$body(TestDb)`.
#[allow(unused_macros)]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::sqlite().await;
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let t = $crate::support::postgres().await;
                ($body)(t).await;
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use db_test;

/// A signed-in operator: the `Cookie` header value of a fresh session and its CSRF token.
pub struct Operator {
    pub cookie: String,
    pub csrf: String,
}

/// Signs in `username` (created on first use, with `admin` rights) through the real
/// session store.
pub async fn operator(db: &DatabaseConnection, username: &str, admin: bool) -> Operator {
    use fillbook::auth::{operators, sessions, AuthSettings};
    let existing = operators::find(db, username).await.expect("find operator");
    let operator = match existing {
        Some(o) => o,
        None => operators::add(db, username, "a long test password", admin)
            .await
            .expect("add operator"),
    };
    let session = sessions::start(db, &AuthSettings::default(), operator.id, None, None)
        .await
        .expect("start session");
    Operator {
        cookie: format!("{}={}", sessions::COOKIE, session.cookie_value),
        csrf: session.csrf_token,
    }
}

/// A fresh API token with `scopes` (comma-separated).
pub async fn token(db: &DatabaseConnection, scopes: &str) -> String {
    let scopes = fillbook::auth::Scope::parse_list(scopes).expect("scopes");
    fillbook::auth::tokens::create(db, "test bot", &scopes, "tests")
        .await
        .expect("create token")
        .1
}

/// Every scope there is.
pub const ALL_SCOPES: &str =
    "trades:read,positions:read,jobs:write,orders:write,audit:read,imports:write";

/// `pred` holds for every item, and there is at least one item: an assertion over an
/// empty list proves nothing, so an empty list fails it.
pub fn every<T>(items: &[T], pred: impl FnMut(&T) -> bool) -> bool {
    !items.is_empty() && items.iter().all(pred)
}

/// The tables of the migrated schema, sorted.
pub async fn table_names(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    };
    names(db, sql.to_string()).await
}

/// The columns of `table`, sorted.
pub async fn column_names(db: &DatabaseConnection, table: &str) -> Vec<String> {
    assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY 1"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY 1"),
    };
    names(db, sql).await
}

async fn names(db: &DatabaseConnection, sql: String) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

/// Writes the demo scenario's ledger into `db` by a real sync from the simulator (trades,
/// and positions when asked); the simulator stops afterwards.
pub async fn seed_demo(db: &DatabaseConnection, positions: bool) {
    use fillbook_sim::{self as sim, Faults, Scenario};
    let sim = sim::start(Scenario::demo(), Faults::default())
        .await
        .unwrap();
    let ib = fillbook::ib::IbConnectOptions::new("127.0.0.1", sim.port(), 300);
    fillbook::sync::trades::sync_trades_once(db, &ib, 7, None)
        .await
        .unwrap();
    if positions {
        fillbook::sync::positions::sync_positions_once(db, &ib)
            .await
            .unwrap();
    }
    sim.stop();
}

/// A filled stock execution of `account`: exec id `<base>.01`, 10 AAPL at 100 under perm id
/// `perm_id`, with a commission of 1.
pub fn fill(account: &str, base: &str, perm_id: i64) -> fillbook::normalize::NormalizedExecution {
    use chrono::TimeZone;
    let exec_id = format!("{base}.01");
    fillbook::normalize::NormalizedExecution {
        account_code: account.into(),
        raw: fillbook::normalize::RawRecord::of(
            &serde_json::json!({ "execution": { "id": exec_id } }),
        ),
        ib_exec_id: exec_id,
        exec_id_base: base.into(),
        exec_revision: 1,
        perm_id,
        order_id: 1,
        order_ref: None,
        client_id: 100,
        executed_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 14, 0, 0)
            .unwrap(),
        quantity: 10.0,
        price: 100.0,
        side: "BUY".into(),
        symbol: Some("AAPL".into()),
        sec_type: Some("STK".into()),
        exchange: Some("ISLAND".into()),
        currency: Some("USD".into()),
        liquidity: None,
        commission: Some(1.0),
        flex: None,
    }
}
