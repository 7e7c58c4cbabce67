//! A mutation fuzzer on stable Rust for the parsers of broker input: the Flex statement
//! reader with its row normaliser, and the stored gateway record read back and normalised
//! again. Inputs grow from the corpus kept in `server/fuzz/corpus/<target>/` by byte flips,
//! insertions, deletions, truncation, splices and repeated chunks, for a fixed time per
//! target. A run fails on any panic (the input is saved under `target/fuzz-crashes/`) and on
//! a statement row that is neither a fill, a cancellation nor a reported skip.

use super::{DrillArgs, DrillReport};
use crate::error::Result;
use crate::flex::statement::parse_statement;
use crate::normalize::{normalize_execution, parse_raw_record};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fuzz targets and their corpus folders.
const TARGETS: [&str; 2] = ["flex", "raw"];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(corpus_dir(target)) {
        for e in entries.flatten() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                out.push(bytes);
            }
        }
    }
    out
}

/// One input through `target`; `Err` names a broken invariant.
fn exercise(target: &str, input: &[u8]) -> std::result::Result<(), String> {
    match target {
        "flex" => {
            let zones = Default::default();
            if let Ok(parsed) = parse_statement(input, &zones, None) {
                let m = &parsed.summary.metrics;
                if m.rows_read != m.executions_read + m.cancellations_read + m.skipped.len() {
                    return Err(format!(
                        "{} rows read but {} fills, {} cancellations and {} skips",
                        m.rows_read,
                        m.executions_read,
                        m.cancellations_read,
                        m.skipped.len()
                    ));
                }
                if m.skipped.iter().any(|s| s.reason.trim().is_empty()) {
                    return Err("a skipped row without a reason".into());
                }
            }
            Ok(())
        }
        _ => {
            let Ok(raw) = serde_json::from_slice::<serde_json::Value>(input) else {
                return Ok(());
            };
            if let Ok((data, report)) = parse_raw_record(&raw) {
                if let Err(skipped) = normalize_execution(&data, report.as_ref(), chrono_tz::UTC) {
                    if skipped.reason.trim().is_empty() {
                        return Err("a skipped record without a reason".into());
                    }
                }
            }
            Ok(())
        }
    }
}

fn mutate(rng: &mut impl Rng, seeds: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..=len);
                let b = *[
                    b'<', b'>', b'"', b'&', b'\0', b'-', b'9', b'.', 0xff, b'{', b'}',
                ]
                .get(rng.random_range(0..11))
                .unwrap_or(&b'x');
                out.insert(i, b);
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(16));
                out.drain(i..i + n);
            }
            3 if len > 0 => out.truncate(rng.random_range(0..len)),
            4 if !seeds.is_empty() => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                if !other.is_empty() {
                    let a = rng.random_range(0..other.len());
                    let b = rng.random_range(a..other.len());
                    let i = rng.random_range(0..=len);
                    out.splice(i..i, other[a..b].iter().copied());
                }
            }
            5 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..len.min(a + 64));
                let chunk = out[a..b].to_vec();
                for _ in 0..rng.random_range(1..8) {
                    out.splice(b..b, chunk.iter().copied());
                }
            }
            _ => {
                let i = rng.random_range(0..=len);
                let digits = ["-1", "1e308", "NaN", "0", "99999999999999999999", "", "N/A"];
                let d = digits[rng.random_range(0..digits.len())];
                out.splice(i..i, d.bytes());
            }
        }
    }
    out
}

pub async fn run(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("fuzz");
    let seconds = args.fuzz_seconds;
    let outcome = tokio::task::spawn_blocking(move || fuzz_all(seconds))
        .await
        .map_err(|e| crate::Error::Internal(e.to_string()))?;
    for (target, inputs, problems) in outcome {
        report.runs += 1;
        report.notes.push(format!(
            "{target}: {inputs} inputs in {seconds} s, {} problems",
            problems.len()
        ));
        for p in problems {
            report.fail(format!("{target}: {p}"));
        }
    }
    Ok(report)
}

/// Every target for `seconds` each: (target, inputs run, problems).
fn fuzz_all(seconds: u64) -> Vec<(&'static str, u64, Vec<String>)> {
    let crashes = Path::new("target").join("fuzz-crashes");
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = Vec::new();
    for target in TARGETS {
        let seeds = corpus(target);
        let mut rng = rand::rngs::StdRng::seed_from_u64(rand::random());
        let mut problems = Vec::new();
        let mut inputs = 0u64;
        if seeds.is_empty() {
            problems.push(format!("no corpus in {}", corpus_dir(target).display()));
        }
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < deadline && !seeds.is_empty() && problems.len() < 10 {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            let input = mutate(&mut rng, &seeds, seed);
            inputs += 1;
            let result = std::panic::catch_unwind(|| exercise(target, &input));
            let problem = match result {
                Ok(Ok(())) => continue,
                Ok(Err(broken)) => broken,
                Err(panic) => format!(
                    "panic: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                ),
            };
            let _ = std::fs::create_dir_all(&crashes);
            let file = crashes.join(format!("{target}-{inputs}.bin"));
            let _ = std::fs::write(&file, &input);
            problems.push(format!("{problem} (input saved as {})", file.display()));
        }
        out.push((target, inputs, problems));
    }
    std::panic::set_hook(previous);
    out
}
