//! `fillbook bench api`: seeds PostgreSQL with executions in trades over several accounts,
//! serves the app in-process, loads the list endpoints (and the `/trades` page) with `wrk`,
//! and checks with `EXPLAIN` that every list query uses an index.

use crate::db::read;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::web::{leptos_options, router};
use app::models::TradeQuery;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The seeded PostgreSQL data set `bench api` and `bench export` read.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchDataArgs {
    /// PostgreSQL database to seed (created when missing; reused when already seeded).
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/fillbook_bench_api"
    )]
    pub bench_database_url: String,
    /// Trades to seed.
    #[arg(long, default_value_t = 100_000)]
    pub trades: u32,
    /// Executions per trade.
    #[arg(long, default_value_t = 10)]
    pub executions_per_trade: u32,
    /// Accounts the trades are spread over.
    #[arg(long, default_value_t = 10)]
    pub accounts: u32,
}

impl BenchDataArgs {
    /// The data set, seeded unless already there; the connection and the seeding time.
    pub async fn open(&self) -> Result<(DatabaseConnection, Option<f64>)> {
        ensure_database(&self.bench_database_url).await?;
        let db = crate::db::connect(&self.bench_database_url).await?;
        if db.get_database_backend() != DbBackend::Postgres {
            return Err(Error::Config(
                "the benchmark data set needs a PostgreSQL --bench-database-url".into(),
            ));
        }
        crate::db::migrate(&db).await?;
        let seconds = seed(&db, self).await?;
        Ok((db, seconds))
    }
}

/// Options of `fillbook bench api`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchApiArgs {
    #[command(flatten)]
    pub data: BenchDataArgs,
    /// Seconds of load per endpoint.
    #[arg(long, default_value_t = 10)]
    pub duration_seconds: u32,
    /// Concurrent connections of the load generator: each endpoint is loaded once per
    /// count (throughput is judged at 32, latency at 8).
    #[arg(long, value_delimiter = ',', default_values_t = [32, 8])]
    pub connections: Vec<u32>,
    /// Load only these endpoints (by name, e.g. `--only "list filtered"`; repeatable), so
    /// one endpoint can be profiled on its own. All of them when not given.
    #[arg(long)]
    pub only: Vec<String>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct LoadResult {
    name: String,
    path: String,
    connections: u32,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

#[derive(Debug, Serialize)]
struct PlanCheck {
    name: String,
    uses_index: bool,
    plan: String,
}

#[derive(Debug, Serialize)]
struct Report {
    trades: u64,
    executions: u64,
    seed_seconds: Option<f64>,
    loads: Vec<LoadResult>,
    plans: Vec<PlanCheck>,
}

/// The endpoints the benchmark loads, by the names `--only` takes.
const ENDPOINTS: [&str; 5] = [
    "list",
    "list filtered",
    "list deep cursor",
    "executions",
    "page /trades (SSR)",
];

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchApiArgs) -> Result<()> {
    // Checked before the data set is seeded (minutes on a fresh database).
    if let Some(unknown) = args.only.iter().find(|o| !ENDPOINTS.contains(&o.as_str())) {
        return Err(Error::Config(format!(
            "--only: no endpoint named `{unknown}` (known: {})",
            ENDPOINTS.join(", ")
        )));
    }
    let (db, seed_seconds) = args.data.open().await?;
    let trades = count(&db, "trades").await?;
    let executions = count(&db, "trade_executions").await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Bind {
            addr: "127.0.0.1:0".into(),
            reason: e.to_string(),
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let options = leptos_options(std::path::Path::new("target/site"), addr);
    let app = router(AppState::new(db.clone(), options), Duration::from_secs(30));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // Measured as real clients call: the API with a bot's token, the page with an
    // operator's session (each trusted for the credential cache's 2 s, then looked up again).
    let scopes = crate::auth::Scope::parse_list("trades:read")?;
    let (_, token) = crate::auth::tokens::create(&db, "bench", &scopes, "bench").await?;
    let operator = match crate::auth::operators::find(&db, "bench").await? {
        Some(o) => o,
        None => {
            crate::auth::operators::add(&db, "bench", &crate::auth::secret::generate(""), false)
                .await?
        }
    };
    let settings = crate::auth::AuthSettings::default();
    let session = crate::auth::sessions::start(&db, &settings, operator.id, None, None).await?;
    let bearer = format!("Authorization: Bearer {token}");
    let cookie = format!(
        "Cookie: {}={}",
        crate::auth::sessions::COOKIE,
        session.cookie_value
    );

    let deep = deep_cursor(&db, trades / 2).await?;
    let middle_trade = trades / 2;
    // In the order of ENDPOINTS.
    let paths = [
        "/api/v1/trades?limit=50".to_string(),
        "/api/v1/trades?limit=50&account_id=3&status=filled".to_string(),
        format!("/api/v1/trades?limit=50&cursor={deep}"),
        format!("/api/v1/trades/{middle_trade}/executions"),
        "/trades".to_string(),
    ];
    let mut loads = Vec::new();
    for (name, path) in ENDPOINTS.into_iter().zip(paths) {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let url = format!("http://{addr}{path}");
        let credential = if path.starts_with("/api/") {
            &bearer
        } else {
            &cookie
        };
        for &connections in &args.connections {
            loads.push(wrk(name, &path, &url, credential, connections, &args).await?);
        }
    }
    let plans = explain_all(&db, &deep).await?;
    let report = Report {
        trades,
        executions,
        seed_seconds,
        loads,
        plans,
    };
    print_report(&report, &args);
    Ok(())
}

fn print_report(report: &Report, args: &BenchApiArgs) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    println!(
        "bench api: {} trades, {} executions on PostgreSQL; wrk -d{}s per endpoint and \
         connection count{}",
        report.trades,
        report.executions,
        args.duration_seconds,
        report
            .seed_seconds
            .map(|s| format!(" (seeded in {s:.1} s)"))
            .unwrap_or_default()
    );
    println!(
        "{:<22} {:>5} {:>10} {:>9} {:>9} {:>8}",
        "endpoint", "conns", "req/s", "p50 ms", "p99 ms", "non-2xx"
    );
    for l in &report.loads {
        println!(
            "{:<22} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>8}",
            l.name, l.connections, l.requests_per_second, l.p50_ms, l.p99_ms, l.non_2xx
        );
    }
    for p in &report.plans {
        println!(
            "EXPLAIN {:<20} {}  ({})",
            p.name,
            if p.uses_index { "index" } else { "SEQ SCAN" },
            p.plan
        );
    }
}

/// Creates the database named in `url` when it does not exist.
async fn ensure_database(url: &str) -> Result<()> {
    let name = url
        .rsplit('/')
        .next()
        .and_then(|n| n.split('?').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Config(format!("no database name in {}", crate::db::redact(url))))?
        .to_string();
    let cut = url.len() - url.rsplit('/').next().map_or(0, str::len);
    let admin = crate::db::connect(&format!("{}postgres", &url[..cut])).await?;
    let exists = admin
        .query_one_raw(crate::db::statement(
            DbBackend::Postgres,
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    admin.close().await?;
    Ok(())
}

pub(crate) async fn count(db: &DatabaseConnection, table: &str) -> Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT COUNT(*)::bigint AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| Error::Internal("count returned no row".into()))?;
    Ok(row.try_get::<i64>("", "n")? as u64)
}

/// Seeds the data set unless exactly that many trades and executions are already there.
async fn seed(db: &DatabaseConnection, args: &BenchDataArgs) -> Result<Option<f64>> {
    let want_trades = u64::from(args.trades);
    let want_execs = want_trades * u64::from(args.executions_per_trade);
    if count(db, "trades").await? == want_trades
        && count(db, "trade_executions").await? == want_execs
    {
        return Ok(None);
    }
    let started = Instant::now();
    let (a, t, e) = (args.accounts, args.trades, args.executions_per_trade);
    let statements = [
        "TRUNCATE trade_executions, trades, positions, order_events, orders, accounts RESTART IDENTITY CASCADE".to_string(),
        format!(
            "INSERT INTO accounts (code, alias, created_at, updated_at) \
             SELECT 'DUB' || lpad(i::text, 5, '0'), NULL, now(), now() FROM generate_series(1, {a}) i"
        ),
        format!(
            "INSERT INTO trades (account_id, match_key, ib_perm_id, ib_order_id, client_id, symbol, sec_type, \
             side, exchange, currency, status, total_quantity, avg_price, first_executed_at, last_executed_at, \
             fetched_at, created_at, updated_at) \
             SELECT (i % {a}) + 1, 'perm:' || i, i, i, 100, \
             (ARRAY['AAPL','MSFT','SPY','QQQ','TSLA','NVDA','AMZN','META'])[1 + i % 8], 'STK', \
             CASE WHEN i % 2 = 0 THEN 'BUY' ELSE 'SELL' END, 'SMART', 'USD', \
             (ARRAY['filled','filled','filled','partial','cancelled','unknown'])[1 + (i / 3) % 6], \
             {e} * 100, 100 + (i % 500) / 10.0, \
             TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '5 minutes', \
             TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL '5 minutes' + {e} * INTERVAL '1 second', \
             now(), now(), now() FROM generate_series(1, {t}) i"
        ),
        format!(
            "INSERT INTO trade_executions (trade_id, account_id, ib_exec_id, exec_id_base, exec_revision, \
             ib_perm_id, ib_order_id, client_id, executed_at, quantity, price, side, symbol, exchange, \
             currency, liquidity, commission, is_canonical, raw, fetched_at, created_at, updated_at) \
             SELECT tr.id, tr.account_id, lpad(to_hex(tr.id), 8, '0') || '.' || lpad(j::text, 4, '0') || '.01.01', \
             lpad(to_hex(tr.id), 8, '0') || '.' || lpad(j::text, 4, '0') || '.01', 1, tr.ib_perm_id, \
             tr.ib_order_id, 100, tr.first_executed_at + j * INTERVAL '1 second', 100, tr.avg_price, \
             tr.side, tr.symbol, 'NYSE', 'USD', 'added', 0.35, TRUE, \
             jsonb_build_object('execution_id', tr.id::text || '.' || j::text), now(), now(), now() \
             FROM trades tr CROSS JOIN generate_series(1, {e}) j"
        ),
        // What the ledger writer keeps on each trade: its canonical fills and their commission.
        format!("UPDATE trades SET fills_count = {e}, commission_total = 0.35 * {e}"),
        "ANALYZE".to_string(),
    ];
    for sql in statements {
        db.execute_unprepared(&sql).await?;
    }
    Ok(Some(started.elapsed().as_secs_f64()))
}

async fn deep_cursor(db: &DatabaseConnection, offset: u64) -> Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT last_executed_at, id FROM trades ORDER BY last_executed_at DESC, id DESC OFFSET {offset} LIMIT 1"
            ),
        ))
        .await?
        .ok_or_else(|| Error::Internal("no trade at the deep offset".into()))?;
    let at: chrono::DateTime<chrono::Utc> = row.try_get("", "last_executed_at")?;
    let id: i32 = row.try_get("", "id")?;
    Ok(read::encode_trade_cursor(Some(at), id))
}

async fn explain_all(db: &DatabaseConnection, deep: &str) -> Result<Vec<PlanCheck>> {
    let cases = [
        ("list", TradeQuery::default()),
        (
            "list filtered",
            TradeQuery {
                account_id: Some(3),
                status: Some(app::models::TradeStatus::Filled),
                ..TradeQuery::default()
            },
        ),
        (
            "list deep cursor",
            TradeQuery {
                cursor: Some(deep.to_string()),
                ..TradeQuery::default()
            },
        ),
    ];
    let mut out = Vec::new();
    for (name, query) in cases {
        let stmt = read::trades_statement(DbBackend::Postgres, &query, 51)?;
        out.push(explain(db, name, stmt).await?);
    }
    let execs = crate::db::statement(
        DbBackend::Postgres,
        "SELECT * FROM trade_executions WHERE trade_id = $1 ORDER BY executed_at",
        [1i32.into()],
    );
    out.push(explain(db, "executions", execs).await?);
    Ok(out)
}

async fn explain(db: &DatabaseConnection, name: &str, stmt: Statement) -> Result<PlanCheck> {
    let explain = crate::db::statement(
        DbBackend::Postgres,
        format!("EXPLAIN {}", stmt.sql),
        stmt.values.map(|v| v.0).unwrap_or_default(),
    );
    let lines: Vec<String> = db
        .query_all_raw(explain)
        .await?
        .into_iter()
        .filter_map(|r| r.try_get::<String>("", "QUERY PLAN").ok())
        .collect();
    let whole = lines.join("\n");
    let seq =
        whole.contains("Seq Scan on trades") || whole.contains("Seq Scan on trade_executions");
    let summary = lines
        .iter()
        .filter(|l| l.contains("Index") || l.contains("Seq Scan"))
        .map(|l| l.trim().trim_start_matches("->").trim().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(PlanCheck {
        name: name.to_string(),
        uses_index: !seq,
        plan: summary,
    })
}

/// Loads `url` with wrk (sending the `header` credential) and parses its figures; any
/// answer other than 2xx/3xx fails the benchmark.
async fn wrk(
    name: &str,
    path: &str,
    url: &str,
    header: &str,
    connections: u32,
    args: &BenchApiArgs,
) -> Result<LoadResult> {
    let output = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", args.duration_seconds),
            "--latency",
            "-H",
            header,
            url,
        ])
        .output()
        .await
        .map_err(|e| {
            Error::Config(format!(
                "cannot run wrk ({e}); install it with `scripts/bootstrap.sh bench`"
            ))
        })?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if text.contains("Non-2xx") {
        return Err(Error::Internal(format!(
            "{name}: error answers under load:\n{text}"
        )));
    }
    let percentile = |p: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(parse_duration_ms)
            .unwrap_or(f64::NAN)
    };
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(LoadResult {
        name: name.to_string(),
        path: path.to_string(),
        connections,
        requests_per_second: rps,
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
        non_2xx,
    })
}

/// `1.23ms`, `456.00us`, `1.20s` → milliseconds.
fn parse_duration_ms(text: &str) -> f64 {
    let (number, factor) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().map_or(f64::NAN, |n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn wrk_durations_become_milliseconds() {
        assert_eq!(parse_duration_ms("456.00us"), 0.456);
        assert_eq!(parse_duration_ms("1.50ms"), 1.5);
        assert_eq!(parse_duration_ms("1.20s"), 1200.0);
    }
}
