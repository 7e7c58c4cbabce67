//! `fillbook drills`: failure drills against the real binary (worker and server processes
//! spawned from this executable), PostgreSQL and the IB Gateway simulator. Each drill
//! injects a failure — `kill -9`, a gateway or database restart, concurrency, a full disk,
//! malformed input — and checks afterwards that nothing was lost or duplicated. The result
//! is one table: drill, runs, failures, rows lost, rows duplicated, recovery time.

mod concurrent;
mod disk;
mod fuzz;
mod gateway;
mod kill_worker;
mod ledger;
mod pg_restart;
mod procs;
mod soak;
mod storm;

use crate::error::{Error, Result};
use serde::Serialize;

/// Every drill, in the order `fillbook drills` runs them.
pub const ALL: [&str; 9] = [
    "kill-worker",
    "gateway-restart",
    "orders-gateway-down",
    "postgres-restart",
    "concurrent-syncs",
    "sync-now-storm",
    "fuzz",
    "sqlite-full-disk",
    "api-soak",
];

/// Options of `fillbook drills`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// Drills to run (default: all): kill-worker, gateway-restart, orders-gateway-down,
    /// postgres-restart, concurrent-syncs, sync-now-storm, fuzz, sqlite-full-disk, api-soak.
    #[arg(value_delimiter = ',')]
    pub drills: Vec<String>,
    /// PostgreSQL server the drills create their databases on (dropped afterwards).
    #[arg(
        long,
        env = "DRILLS_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Executions of the sync the kill-worker and gateway-restart drills interrupt.
    #[arg(long, default_value_t = 100_000)]
    pub executions: usize,
    /// Kill points of the kill-worker drill.
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// Seconds the gateway stays down while orders are confirmed.
    #[arg(long, default_value_t = 300)]
    pub gateway_down_seconds: u64,
    /// Rounds of the concurrent-syncs drill.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Seconds each fuzz target runs.
    #[arg(long, default_value_t = 60)]
    pub fuzz_seconds: u64,
    /// Seconds of the API soak at 200 requests per second.
    #[arg(long, default_value_t = 600)]
    pub soak_seconds: u64,
    /// Print the table as JSON too.
    #[arg(long)]
    pub json: bool,
}

/// One drill's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrillReport {
    pub drill: String,
    pub runs: usize,
    pub failures: usize,
    pub rows_lost: i64,
    pub rows_duplicated: i64,
    /// Seconds from the failure to a recovered system, one per run.
    pub recovery_seconds: Vec<f64>,
    /// What else was measured or went wrong.
    pub notes: Vec<String>,
}

impl DrillReport {
    fn new(drill: &str) -> Self {
        Self {
            drill: drill.into(),
            ..Self::default()
        }
    }

    /// Records a failed run with its reason.
    fn fail(&mut self, why: impl Into<String>) {
        self.failures += 1;
        let why = why.into();
        tracing::error!(drill = %self.drill, "{why}");
        self.notes.push(why);
    }

    fn recovery(&self) -> String {
        if self.recovery_seconds.is_empty() {
            return "—".into();
        }
        let mut v = self.recovery_seconds.clone();
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        let max = v[v.len() - 1];
        format!("median {median:.1} s, max {max:.1} s")
    }
}

/// Runs the chosen drills and prints the table; fails when any drill failed.
pub async fn run(args: DrillArgs) -> Result<()> {
    let chosen: Vec<String> = if args.drills.is_empty() {
        ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.drills.clone()
    };
    for name in &chosen {
        if !ALL.contains(&name.as_str()) {
            return Err(Error::invalid(
                "drills",
                format!("unknown drill `{name}`; choose from {}", ALL.join(", ")),
            ));
        }
    }
    let mut reports = Vec::new();
    for name in &chosen {
        eprintln!("drill {name}: running");
        let started = std::time::Instant::now();
        let report = match name.as_str() {
            "kill-worker" => kill_worker::run(&args).await,
            "gateway-restart" => gateway::restart_mid_sync(&args).await,
            "orders-gateway-down" => gateway::orders_while_down(&args).await,
            "postgres-restart" => pg_restart::run(&args).await,
            "concurrent-syncs" => concurrent::run(&args).await,
            "sync-now-storm" => storm::run(&args).await,
            "fuzz" => fuzz::run(&args).await,
            "sqlite-full-disk" => disk::run(&args).await,
            "api-soak" => soak::run(&args).await,
            _ => unreachable!("checked above"),
        };
        let report = report.unwrap_or_else(|e| {
            let mut r = DrillReport::new(name);
            r.fail(format!("the drill could not run: {e}"));
            r
        });
        eprintln!(
            "drill {name}: {} runs, {} failures ({:.0} s)",
            report.runs,
            report.failures,
            started.elapsed().as_secs_f64()
        );
        reports.push(report);
    }
    print_table(&reports);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        );
    }
    let failed: usize = reports.iter().map(|r| r.failures).sum();
    if failed > 0 {
        return Err(Error::Internal(format!("{failed} drill runs failed")));
    }
    Ok(())
}

fn print_table(reports: &[DrillReport]) {
    println!(
        "| Drill | Runs | Failures | Rows lost | Rows duplicated | Recovery |\n|---|---|---|---|---|---|"
    );
    for r in reports {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.drill,
            r.runs,
            r.failures,
            r.rows_lost,
            r.rows_duplicated,
            r.recovery()
        );
    }
    for r in reports {
        for n in &r.notes {
            println!("- {}: {n}", r.drill);
        }
    }
}
