//! `fillbook bench import`: a generated Flex statement of N executions (about 40
//! attributes a row, like a real Activity statement) imported into a fresh database.
//! Prints the parse-only time, the write floor of the same rows (the `bench sync` floor:
//! a bulk load into an empty, indexed `trade_executions`), the full import, its ratio to
//! the target `1.25 × (parse + floor)`, and the import's peak memory — the import runs in a
//! child process (`--only import`) so its peak is its own.

use crate::error::{Error, Result};
use crate::flex::statement::{parse_statement, DEFAULT_FLEX_ZONE};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `fillbook bench import`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchImportArgs {
    /// Executions in the generated statement.
    #[arg(long, default_value_t = 100_000)]
    pub executions: usize,
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
    /// Internal: run only the import of `--file` into `--database-url` and print its figures.
    #[arg(long, hide = true)]
    pub only_import: Option<PathBuf>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct ChildReport {
    seconds: f64,
    inserted: usize,
    peak_memory_mib: Option<f64>,
}

/// Writes a statement of `n` executions (orders of 1–4 fills) to `path`.
pub fn generate(path: &Path, n: usize) -> Result<u64> {
    let file = std::fs::File::create(path)
        .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let io = |e: std::io::Error| Error::Internal(format!("cannot write the statement: {e}"));
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#).map_err(io)?;
    writeln!(
        w,
        r#"<FlexQueryResponse queryName="bench" type="AF"><FlexStatements count="1">"#
    )
    .map_err(io)?;
    writeln!(w, r#"<FlexStatement accountId="U9000001" fromDate="20250101" toDate="20261120" period="Custom" whenGenerated="20261121;080000"><Trades>"#).map_err(io)?;
    let symbols = [
        "AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "TSLA", "META", "IBM",
    ];
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).expect("date");
    for i in 0..n {
        let order = i / 3;
        let day = start + chrono::Duration::days((order / 200) as i64);
        let secs = 34_200 + (i % 20_000) as u32;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let symbol = symbols[order % symbols.len()];
        let sell = order % 2 == 1;
        let qty = 1 + (i * 7919) % 500;
        let price = 100.0 + (i % 1000) as f64 / 100.0;
        writeln!(
            w,
            r#"<Trade accountId="U9000001" acctAlias="" model="" currency="USD" fxRateToBase="1" assetCategory="STK" symbol="{symbol}" description="{symbol} INC" conid="{conid}" securityID="" securityIDType="" cusip="" isin="" listingExchange="NASDAQ" underlyingConid="" underlyingSymbol="" multiplier="1" strike="" expiry="" putCall="" tradeID="{tid}" transactionID="{xid}" reportDate="{date}" dateTime="{date};{h:02}{m:02}{s:02}" tradeDate="{date}" settleDateTarget="" transactionType="ExchTrade" exchange="ISLAND" quantity="{q}" tradePrice="{price:.2}" tradeMoney="{money:.2}" proceeds="{proceeds:.2}" taxes="0" ibCommission="-{comm:.4}" ibCommissionCurrency="USD" netCash="0" closePrice="{price:.2}" openCloseIndicator="O" notes="" cost="0" fifoPnlRealized="0" buySell="{side}" ibOrderID="{oid}" ibExecID="{e1:08x}.{e2:08x}.01.01" brokerageOrderID="{oid:x}" orderReference="" orderTime="{date};{h:02}{m:02}{s:02}" levelOfDetail="EXECUTION"/>"#,
            conid = 265_598 + order % symbols.len(),
            tid = 100_000_000 + i,
            xid = 200_000_000 + i,
            date = day.format("%Y%m%d"),
            q = if sell { -(qty as i64) } else { qty as i64 },
            money = qty as f64 * price,
            proceeds = if sell { 1.0 } else { -1.0 } * qty as f64 * price,
            comm = 0.35 + qty as f64 * 0.005,
            side = if sell { "SELL" } else { "BUY" },
            oid = 500_000_000 + order,
            e1 = 0x0001_0000 + order,
            e2 = 0x6500_0000 + i,
        )
        .map_err(io)?;
    }
    writeln!(
        w,
        "</Trades></FlexStatement></FlexStatements></FlexQueryResponse>"
    )
    .map_err(io)?;
    w.flush().map_err(io)?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The child's part: import one file and print the figures as JSON.
async fn import_only(database_url: &str, file: &Path) -> Result<()> {
    let db = crate::db::connect(database_url).await?;
    crate::db::migrate(&db).await?;
    let input = std::io::BufReader::with_capacity(
        256 * 1024,
        std::fs::File::open(file).map_err(|e| Error::Internal(e.to_string()))?,
    );
    let started = Instant::now();
    let m = crate::sync::statement::import_flex(&db, input, None).await?;
    let report = ChildReport {
        seconds: started.elapsed().as_secs_f64(),
        inserted: m.executions_inserted,
        peak_memory_mib: super::peak_memory_mib(),
    };
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(())
}

/// Runs the benchmark (or, with `--only-import`, the child's part) and prints its figures.
pub async fn run(database_url: &str, args: BenchImportArgs) -> Result<()> {
    if let Some(file) = &args.only_import {
        return import_only(database_url, file).await;
    }
    let dir = std::env::temp_dir().join(format!("fillbook-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(e.to_string()))?;
    let file = dir.join("statement.xml");
    let started = Instant::now();
    let bytes = generate(&file, args.executions)?;
    println!(
        "bench import: {} executions, statement {:.1} MB, generated in {:.2} s",
        args.executions,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let input = std::io::BufReader::with_capacity(
        256 * 1024,
        std::fs::File::open(&file).map_err(|e| Error::Internal(e.to_string()))?,
    );
    let zones: HashMap<String, chrono_tz::Tz> =
        [("U9000001".to_string(), DEFAULT_FLEX_ZONE)].into();
    let parsed = parse_statement(input, &zones, None).map_err(crate::flex::statement::refused)?;
    let parse = started.elapsed().as_secs_f64();
    println!(
        "  parse only: {parse:.2} s ({:.0} rows/s)",
        parsed.executions.len() as f64 / parse
    );
    for target in &args.targets {
        let (url, cleanup) = super::sync::fresh_database(target, &args.postgres_url).await?;
        let floor = {
            let db = super::sync::prepared(&url).await?;
            let seconds = super::sync::write_floor(&db, &parsed.executions).await?;
            db.close().await?;
            seconds
        };
        super::sync::drop_database(&cleanup, &args.postgres_url).await?;
        let (url, cleanup) = super::sync::fresh_database(target, &args.postgres_url).await?;
        let out = tokio::process::Command::new(
            std::env::current_exe().map_err(|e| Error::Internal(e.to_string()))?,
        )
        .args(["--database-url", &url, "bench", "import", "--only-import"])
        .arg(&file)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run the import: {e}")))?;
        super::sync::drop_database(&cleanup, &args.postgres_url).await?;
        if !out.status.success() {
            return Err(Error::Internal(format!(
                "the import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let child: ChildReport = serde_json::from_slice(&out.stdout)
            .map_err(|e| Error::Internal(format!("unreadable import figures: {e}")))?;
        let target_seconds = 1.25 * (parse + floor);
        println!(
            "  {target}: write floor {floor:.2} s, import {:.2} s ({} inserted, {:.0} rows/s) = \
             {:.2} × target (1.25 × (parse + floor) = {target_seconds:.2} s), import peak RSS {}",
            child.seconds,
            child.inserted,
            child.inserted as f64 / child.seconds,
            child.seconds / target_seconds,
            child.peak_memory_mib.map_or("unknown".into(), |m| format!(
                "{m:.0} MiB (target < 200 MiB)"
            )),
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
