//! `fillbook bench live`: how long a fill takes from the gateway to the ledger while the
//! live supervisor follows the simulator, on PostgreSQL and SQLite. Fills are emitted one
//! at a time, alternating the two paths a fill can take — the live client's own order (on
//! its order update stream) and another client's (announced by its commission report to
//! the master client, then read back) — and the time until the row is committed is
//! measured by polling for it every millisecond. Then, as an open page does, a client of
//! the server's change stream (`/api/v1/events`, over loopback HTTP) waits for the fills
//! event and re-reads the trades list: fill → page data. Prints p50/p99/max per path.

use crate::error::Result;
use crate::gateways::SyncSettings;
use crate::live::{self, lease, LiveConfig, LIVE_CLIENT_OFFSET};
use fillbook_sim::{self as sim, Faults, Scenario, SimExecution};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Options of `fillbook bench live`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLiveArgs {
    /// Fills emitted (half by each path).
    #[arg(long, default_value_t = 400)]
    pub fills: usize,
    /// Milliseconds between fills.
    #[arg(long, default_value_t = 20)]
    pub gap_ms: u64,
    /// PostgreSQL server for the PostgreSQL run (a fresh database is created and dropped).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Which databases to measure.
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    pub targets: Vec<String>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Latency {
    path: &'static str,
    fills: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct TargetReport {
    database: String,
    paths: Vec<Latency>,
    page: Latency,
}

const CLIENT: i32 = 900;
const ACCOUNT: &str = "DU0000001";

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchLiveArgs) -> Result<()> {
    let mut reports = Vec::new();
    for target in &args.targets {
        let (url, cleanup) = super::sync::fresh_database(target, &args.postgres_url).await?;
        let db = super::sync::prepared(&url).await?;
        let outcome = measure(&db, &args).await;
        db.close().await?;
        super::sync::drop_database(&cleanup, &args.postgres_url).await?;
        let (paths, page) = outcome?;
        reports.push(TargetReport {
            database: target.clone(),
            paths,
            page,
        });
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "fill → ledger row (committed), {} fills, one every {} ms, target p99 < 50 ms:",
        args.fills, args.gap_ms
    );
    for r in &reports {
        let p = &r.page;
        println!(
            "  {:<8} {:<28} n={:<4} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  (target p99 < 250 ms: {})",
            r.database,
            p.path,
            p.fills,
            p.p50_ms,
            p.p99_ms,
            p.max_ms,
            if p.p99_ms < 250.0 { "met" } else { "MISS" }
        );
        for p in &r.paths {
            println!(
                "  {:<8} {:<28} n={:<4} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({})",
                r.database,
                p.path,
                p.fills,
                p.p50_ms,
                p.p99_ms,
                p.max_ms,
                if p.p99_ms < 50.0 { "met" } else { "MISS" }
            );
        }
    }
    Ok(())
}

async fn measure(db: &DatabaseConnection, args: &BenchLiveArgs) -> Result<(Vec<Latency>, Latency)> {
    let mut scenario = Scenario::new(vec![ACCOUNT.into()]);
    scenario.master_client_id = Some(CLIENT + LIVE_CLIENT_OFFSET);
    let sim = sim::start(scenario, Faults::default()).await?;
    let config = LiveConfig {
        holder: "bench".into(),
        lease: Duration::from_secs(10),
        catch_up: Duration::from_secs(30),
        defaults: SyncSettings {
            host: "127.0.0.1".into(),
            port: sim.port(),
            client_id: CLIENT,
            connect_timeout: Duration::from_secs(5),
            lookback_days: 7,
            time_zone: chrono_tz::UTC,
        },
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(live::supervise(db.clone(), config, stopped));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let session = lease::current(db, "default").await?;
        if session.is_some_and(|s| s.connected_since.is_some()) {
            break;
        }

        if Instant::now() > deadline {
            return Err(crate::Error::Internal(
                "the live supervisor did not connect".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut own = Vec::new();
    let mut other = Vec::new();
    for i in 0..args.fills {
        let own_path = i % 2 == 0;
        let client_id = if own_path {
            CLIENT + LIVE_CLIENT_OFFSET
        } else {
            0
        };
        let exec_id = format!("0000be0c.{i:08x}.01.01");
        let started = Instant::now();
        sim.emit_fill(execution(&exec_id, client_id, 5_000_000 + i as i64));
        while !stored(db, &exec_id).await? {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(crate::Error::Internal(format!(
                    "fill {exec_id} never arrived"
                )));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if own_path {
            own.push(ms)
        } else {
            other.push(ms)
        }
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
    }
    let page = page_latency(db, &sim, args).await?;
    let _ = stop.send(true);
    let _ = task.await;
    Ok((
        vec![
            summary("own client (order stream)", own),
            summary("other client (master, read back)", other),
        ],
        page,
    ))
}

/// Fill → the data an open page shows: the web server on a loopback port, a client of its
/// change stream waits for the fills event, then re-reads the trades list.
async fn page_latency(
    db: &DatabaseConnection,
    sim: &sim::SimHandle,
    args: &BenchLiveArgs,
) -> Result<Latency> {
    let state = crate::state::AppState::new(
        db.clone(),
        crate::web::leptos_options(
            std::path::Path::new("target/site"),
            "127.0.0.1:0".parse().unwrap(),
        ),
    );
    let app = crate::web::router(state, Duration::from_secs(30));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| crate::Error::Internal(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| crate::Error::Internal(e.to_string()))?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let scopes = crate::auth::Scope::parse_list("trades:read")?;
    let (_, token) = crate::auth::tokens::create(db, "bench live", &scopes, "bench").await?;
    let client = reqwest::Client::new();
    let base = format!("http://{addr}/api/v1");
    let fail = |e: reqwest::Error| crate::Error::Internal(format!("bench client: {e}"));
    let mut events = client
        .get(format!("{base}/events"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(fail)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut samples = Vec::new();
    let n = (args.fills / 2).max(1);
    for i in 0..n {
        let exec_id = format!("0000be0d.{i:08x}.01.01");
        let started = Instant::now();
        sim.emit_fill(execution(&exec_id, 0, 6_000_000 + i as i64));
        let deadline = started + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, events.chunk())
                .await
                .map_err(|_| crate::Error::Internal("no fills event within 10 s".into()))?
                .map_err(fail)?
                .ok_or_else(|| crate::Error::Internal("the change stream ended".into()))?;
            if String::from_utf8_lossy(&chunk).contains("event: fills") {
                break;
            }
        }
        client
            .get(format!("{base}/trades?limit=50"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(fail)?
            .bytes()
            .await
            .map_err(fail)?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
    }
    server.abort();
    Ok(summary("fill → page data (SSE + list)", samples))
}

fn execution(exec_id: &str, client_id: i32, perm_id: i64) -> SimExecution {
    SimExecution {
        exec_id: exec_id.into(),
        account: ACCOUNT.into(),
        order_id: 1,
        client_id,
        perm_id,
        order_ref: None,
        contract: fillbook_sim::SimContract::stock(265598, "AAPL"),
        side: fillbook_sim::Side::Bought,
        shares: 10.0,
        price: 190.0,
        time: String::new(),
        exchange: "ISLAND".into(),
        cum_qty: None,
        avg_price: None,
        commission: Some(fillbook_sim::SimCommission {
            amount: 1.0,
            currency: "USD".into(),
            realized_pnl: None,
            delivery: fillbook_sim::CommissionDelivery::Inline,
        }),
    }
}

async fn stored(db: &DatabaseConnection, exec_id: &str) -> Result<bool> {
    let row = db
        .query_one_raw(crate::db::statement(
            db.get_database_backend(),
            "SELECT 1 AS one FROM trade_executions WHERE ib_exec_id = $1",
            [exec_id.into()],
        ))
        .await?;
    Ok(row.is_some())
}

fn summary(path: &'static str, mut ms: Vec<f64>) -> Latency {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Latency {
        path,
        fills: ms.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: ms.last().copied().unwrap_or(0.0),
    }
}
