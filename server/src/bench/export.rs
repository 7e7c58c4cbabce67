//! `fillbook bench export`: the CSV export of every canonical fill of the seeded PostgreSQL
//! data set (1M executions by default, shared with `bench api`) streamed into a file:
//! rows, seconds, rows/s, the process's peak memory before and after the export, and a
//! read-back with Python's `csv` module (row count and the sum of quantities against the
//! database's).

use super::api::BenchDataArgs;
use crate::error::{Error, Result};
use crate::exports::{write_csv, ExportFilter, ExportKind};
use sea_orm::{ConnectionTrait, Statement};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `fillbook bench export`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchExportArgs {
    #[command(flatten)]
    pub data: BenchDataArgs,
    /// Where the CSV is written (removed afterwards).
    #[arg(long, default_value = "target/bench/export-fills.csv")]
    pub output: PathBuf,
}

/// Python's reading of the file: `rows sum_of_quantity`.
const READ_BACK: &str = r#"
import csv, sys
with open(sys.argv[1], newline='') as f:
    n = 0
    total = 0.0
    for row in csv.DictReader(f):
        n += 1
        total += float(row['quantity'])
print(n, total)
"#;

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchExportArgs) -> Result<()> {
    let (db, seeded) = args.data.open().await?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*)::bigint AS n, SUM(quantity)::float8 AS q FROM trade_executions \
             WHERE is_canonical AND busted_by IS NULL",
        ))
        .await?
        .ok_or_else(|| Error::Internal("count returned no row".into()))?;
    let (expected_rows, expected_sum) =
        (row.try_get::<i64>("", "n")?, row.try_get::<f64>("", "q")?);
    if let Some(dir) = args.output.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Internal(e.to_string()))?;
    }
    let file = std::fs::File::create(&args.output)
        .map_err(|e| Error::Config(format!("cannot write {}: {e}", args.output.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let before = super::peak_memory_mib();
    let started = Instant::now();
    let rows = write_csv(db, ExportKind::Fills, ExportFilter::default(), &mut out).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = super::peak_memory_mib();
    drop(out);
    let bytes = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    let read_back = std::process::Command::new("python3")
        .arg("-c")
        .arg(READ_BACK)
        .arg(&args.output)
        .output()
        .map_err(|e| Error::Internal(format!("cannot run python3: {e}")))?;
    let text = String::from_utf8_lossy(&read_back.stdout).to_string();
    if !read_back.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&read_back.stderr));
    }
    let mut parts = text.split_whitespace();
    let py_rows: i64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
    let py_sum: f64 = parts
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN);
    let _ = std::fs::remove_file(&args.output);
    let mib = |m: Option<f64>| m.map_or("?".into(), |m| format!("{m:.0} MiB"));
    println!(
        "bench export: {rows} fills in {seconds:.2} s ({:.0} rows/s, {:.0} MB){}",
        rows as f64 / seconds.max(1e-9),
        bytes as f64 / 1e6,
        seeded
            .map(|s| format!(" (data set seeded in {s:.1} s)"))
            .unwrap_or_default()
    );
    println!(
        "  peak memory: {} before the export, {} after (growth {})",
        mib(before),
        mib(after),
        match (before, after) {
            (Some(b), Some(a)) => format!("{:.0} MiB", a - b),
            _ => "?".into(),
        }
    );
    let matches = py_rows == expected_rows
        && (py_sum - expected_sum).abs() < 1e-6 * expected_sum.abs().max(1.0);
    println!(
        "  Python csv read-back: {py_rows} rows, quantity sum {py_sum} — database: {expected_rows} rows, {expected_sum} ({})",
        if matches { "match" } else { "MISMATCH" }
    );
    if !matches {
        return Err(Error::Internal(
            "the export does not read back to the ledger's figures".into(),
        ));
    }
    Ok(())
}
