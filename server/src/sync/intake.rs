//! The gateway side of a sync in bounded memory. The client library cannot slow the socket
//! down, so executions are taken as fast as they arrive: each is joined with its commission
//! report, normalised, and appended to a spool file as one line of JSON. The ledger writer
//! then reads the spool back in batches. Memory holds a window of recent executions (their
//! reports follow them) and one batch, never the whole run.
//!
//! The spool is an unnamed temporary file (its name is removed as soon as it is opened), so
//! nothing is left behind by a crash.

use crate::error::{Error, Result};
use crate::normalize::{keeps_report, normalize_execution, NormalizedExecution, SkippedExecution};
use chrono_tz::Tz;
use ibapi::orders::{CommissionReport, ExecutionData, Executions};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

/// Executions kept waiting for their commission report. The gateway sends a report right
/// after its execution (or after the end marker, when the next sync picks it up); a report
/// arriving more than this many executions later is counted as late, like one after the end.
const REPORT_WINDOW: usize = 10_000;

/// What a sync read from the gateway: the normalised records in a spool, what was skipped,
/// and the accounts seen.
#[derive(Debug)]
pub struct Intake {
    zone: Tz,
    window: VecDeque<ExecutionData>,
    reports: HashMap<String, CommissionReport>,
    spool: SpoolWriter,
    /// Executions received (normalised or skipped).
    pub fetched: usize,
    /// Records that could not be normalised, with their raw payload.
    pub skipped: Vec<SkippedExecution>,
    /// Accounts of the normalised records.
    pub accounts: BTreeSet<String>,
}

impl Intake {
    /// An empty intake reading legacy zoneless times in `zone`.
    pub fn new(zone: Tz) -> Result<Self> {
        Ok(Intake {
            zone,
            window: VecDeque::new(),
            reports: HashMap::new(),
            spool: SpoolWriter::create()?,
            fetched: 0,
            skipped: Vec::new(),
            accounts: BTreeSet::new(),
        })
    }

    /// Takes one item of the gateway's answer.
    pub fn take(&mut self, item: Executions) -> Result<()> {
        match item {
            Executions::ExecutionData(e) => {
                self.fetched += 1;
                self.window.push_back(e);
                if self.window.len() > REPORT_WINDOW {
                    self.settle_oldest()?;
                }
            }
            Executions::CommissionReport(c) => {
                let keep = self
                    .reports
                    .get(&c.execution_id)
                    .is_some_and(|old| keeps_report(old, &c));
                if !keep {
                    self.reports.insert(c.execution_id.clone(), c);
                }
            }
        }
        Ok(())
    }

    /// Takes every item `received` until its sender is gone, then returns the intake.
    pub fn take_all(mut self, received: std::sync::mpsc::Receiver<Executions>) -> Result<Self> {
        for item in received {
            self.take(item)?;
        }
        Ok(self)
    }

    /// Normalises the oldest waiting execution with its report and spools it.
    fn settle_oldest(&mut self) -> Result<()> {
        let Some(e) = self.window.pop_front() else {
            return Ok(());
        };
        let report = self.reports.remove(e.execution.execution_id.as_str());
        match normalize_execution(&e, report.as_ref(), self.zone) {
            Ok(row) => {
                if !self.accounts.contains(&row.account_code) {
                    self.accounts.insert(row.account_code.clone());
                }
                self.spool.push(&row)
            }
            Err(skipped) => {
                self.skipped.push(skipped);
                Ok(())
            }
        }
    }

    /// Settles every waiting execution and hands over the spool for reading. Reports that
    /// matched no execution of this answer are logged (the next sync brings them in).
    pub fn finish(mut self) -> Result<(Spool, Vec<SkippedExecution>, BTreeSet<String>)> {
        while !self.window.is_empty() {
            self.settle_oldest()?;
        }
        if !self.reports.is_empty() {
            tracing::debug!(
                count = self.reports.len(),
                "commission reports without an execution in this answer"
            );
        }
        Ok((self.spool.finish()?, self.skipped, self.accounts))
    }
}

fn spool_error(e: std::io::Error) -> Error {
    Error::Internal(format!("the sync's spool file failed: {e}"))
}

/// Appends normalised records to an unnamed temporary file.
#[derive(Debug)]
struct SpoolWriter {
    file: BufWriter<File>,
    count: usize,
}

impl SpoolWriter {
    fn create() -> Result<Self> {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("fillbook-sync-{}.jsonl", uuid::Uuid::new_v4()));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(spool_error)?;
        // Unnamed from here on: the open file lives until it is dropped, and nothing is
        // left on disk whatever happens to the process.
        std::fs::remove_file(&path).map_err(spool_error)?;
        Ok(SpoolWriter {
            file: BufWriter::with_capacity(1 << 16, file),
            count: 0,
        })
    }

    fn push(&mut self, row: &NormalizedExecution) -> Result<()> {
        serde_json::to_writer(&mut self.file, row)
            .map_err(|e| Error::Internal(format!("cannot spool a record: {e}")))?;
        self.file.write_all(b"\n").map_err(spool_error)?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<Spool> {
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| spool_error(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        Ok(Spool {
            lines: BufReader::with_capacity(1 << 16, file),
            remaining: self.count,
        })
    }
}

/// The spooled records of a run, read back in order.
#[derive(Debug)]
pub struct Spool {
    lines: BufReader<File>,
    remaining: usize,
}

impl Spool {
    /// Records not read yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next (up to) `size` records; empty once all are read.
    pub fn next_batch(&mut self, size: usize) -> Result<Vec<NormalizedExecution>> {
        let mut out = Vec::with_capacity(size.min(self.remaining));
        let mut line = String::new();
        while out.len() < size && self.remaining > 0 {
            line.clear();
            self.lines.read_line(&mut line).map_err(spool_error)?;
            let row = serde_json::from_str(&line)
                .map_err(|e| Error::Internal(format!("cannot read a spooled record: {e}")))?;
            out.push(row);
            self.remaining -= 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tests::{data, report};

    #[test]
    fn records_come_back_in_order_with_their_reports_across_the_window() {
        let mut intake = Intake::new(chrono_tz::UTC).unwrap();
        let n = REPORT_WINDOW + 5;
        let id = |i: usize| format!("0001f4e8.{i:08}.01.01");
        for i in 0..n {
            let time = "20261120 14:30:00 UTC";
            intake
                .take(Executions::ExecutionData(data(&id(i), time)))
                .unwrap();
            let r = report(&id(i), 1.0 + i as f64);
            intake.take(Executions::CommissionReport(r)).unwrap();
        }
        // Malformed: no execution id.
        let bad = data("", "20261120 14:30:00 UTC");
        intake.take(Executions::ExecutionData(bad)).unwrap();
        assert_eq!(intake.fetched, n + 1);
        let (mut spool, skipped, accounts) = intake.finish().unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!(accounts.into_iter().collect::<Vec<_>>(), ["DU1234567"]);
        let mut seen = 0;
        loop {
            let batch = spool.next_batch(4_000).unwrap();
            if batch.is_empty() {
                break;
            }
            for row in batch {
                assert_eq!(row.ib_exec_id, id(seen));
                assert_eq!(row.commission, Some(1.0 + seen as f64));
                seen += 1;
            }
        }
        assert_eq!(seen, n);
        assert_eq!(spool.remaining(), 0);
    }
}
