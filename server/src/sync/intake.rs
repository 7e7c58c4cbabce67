//! The gateway side of a sync in bounded memory. The client library cannot slow the socket
//! down, so the task draining it only appends each decoded message to a raw spool (a compact
//! binary form, a few microseconds each) and announces how many are there. The intake thread
//! follows that spool: it joins each execution with its commission report, normalises it and
//! hands the records to the ledger writer a small chunk at a time over a bounded channel, so
//! the writer stores them while the gateway is still answering. When the writer falls behind,
//! the intake waits and the backlog waits on disk in the raw spool, not in memory: memory
//! holds a window of recent executions (their reports follow them), a few chunks and the
//! writer's batch, never the whole run.
//!
//! The raw spool is an unnamed temporary file (its name is removed as soon as it is opened),
//! so nothing is left behind by a crash.

use crate::error::{Error, Result};
use crate::normalize::raw::RecentContracts;
use crate::normalize::{
    keeps_report, liquidity_number, NormalizedExecution, Normalizer, SkippedExecution,
};
use chrono_tz::Tz;
use ibapi::contracts::Contract;
use ibapi::orders::{
    CommissionReport, Execution, ExecutionData, ExecutionSide, Executions, Liquidity,
};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::mpsc::{Receiver, Sender};
use tokio::sync::mpsc as chunks;

/// Executions kept waiting for their commission report. The gateway sends a report right
/// after its execution (or after the end marker, when the next sync picks it up); a report
/// arriving more than this many executions later is counted as late, like one after the end.
/// Its records take memory beside the writer's next batch (see [`HANDOVER_QUEUE`]): 5,000
/// kept a sync of 1,000,000 under 300 MB (measured 2026-12-08: 284 MiB on SQLite, against
/// 294 MiB with 10,000).
const REPORT_WINDOW: usize = 5_000;

/// Records handed to the writer at a time.
pub const HANDOVER: usize = 1_000;

/// Chunks of [`HANDOVER`] records that may wait for the writer: a whole ledger batch, so
/// the intake normalises the next batch while the writer stores this one (with 2 the writer
/// waited ≈50 ms per batch of 10,000 for the intake to fill it; measured 2026-12-08, first
/// sync of 100,000 on PostgreSQL 1.10 → 0.90 of target).
pub const HANDOVER_QUEUE: usize = 10;

/// The records an intake hands over, a chunk at a time, in the gateway's order.
pub type Records = chunks::Receiver<Vec<NormalizedExecution>>;

/// What a sync read from the gateway, as it reads it: the normalised records go to the
/// writer (see [`Records`]); what was skipped and the accounts seen stay here.
#[derive(Debug)]
pub struct Intake {
    normalizer: Normalizer,
    window: VecDeque<ExecutionData>,
    reports: HashMap<String, CommissionReport>,
    ready: Vec<NormalizedExecution>,
    send: chunks::Sender<Vec<NormalizedExecution>>,
    /// Executions received (normalised or skipped).
    pub fetched: usize,
    /// Records that could not be normalised, with their raw payload.
    pub skipped: Vec<SkippedExecution>,
    /// Accounts of the normalised records.
    pub accounts: BTreeSet<String>,
}

impl Intake {
    /// An empty intake reading legacy zoneless times in `zone`, and the records it will
    /// hand over. It runs on a thread of its own: handing over blocks while the writer is
    /// [`HANDOVER_QUEUE`] chunks behind.
    pub fn new(zone: Tz) -> (Self, Records) {
        let (send, records) = chunks::channel(HANDOVER_QUEUE);
        let intake = Intake {
            normalizer: Normalizer::new(zone),
            window: VecDeque::new(),
            reports: HashMap::new(),
            ready: Vec::with_capacity(HANDOVER),
            send,
            fetched: 0,
            skipped: Vec::new(),
            accounts: BTreeSet::new(),
        };
        (intake, records)
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

    /// Takes every item of `raw` as the drain announces it, until the drain has finished,
    /// then [`Intake::finish`]es.
    pub fn take_all(mut self, mut raw: RawSpoolReader) -> Result<IntakeSummary> {
        while let Some(item) = raw.next_item()? {
            self.take(item)?;
        }
        self.finish()
    }

    /// Hands the ready records over; fails when the writer has stopped (its own error is
    /// the one the run reports).
    fn hand_over(&mut self) -> Result<()> {
        if self.ready.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.ready, Vec::with_capacity(HANDOVER));
        self.send
            .blocking_send(chunk)
            .map_err(|_| Error::Internal("the ledger writer stopped taking records".into()))
    }

    /// Normalises the oldest waiting execution with its report and queues it for the writer.
    fn settle_oldest(&mut self) -> Result<()> {
        let Some(e) = self.window.pop_front() else {
            return Ok(());
        };
        let report = self.reports.remove(e.execution.execution_id.as_str());
        match self.normalizer.execution(&e, report.as_ref()) {
            Ok(row) => {
                if !self.accounts.contains(&row.account_code) {
                    self.accounts.insert(row.account_code.clone());
                }
                self.ready.push(row);
                if self.ready.len() >= HANDOVER {
                    self.hand_over()?;
                }
                Ok(())
            }
            Err(skipped) => {
                self.skipped.push(skipped);
                Ok(())
            }
        }
    }

    /// Settles every waiting execution and hands the last records over; the writer's
    /// stream ends when this returns. Reports that matched no execution of this answer are
    /// logged (the next sync brings them in).
    pub fn finish(mut self) -> Result<IntakeSummary> {
        while !self.window.is_empty() {
            self.settle_oldest()?;
        }
        self.hand_over()?;
        if !self.reports.is_empty() {
            tracing::debug!(
                count = self.reports.len(),
                "commission reports without an execution in this answer"
            );
        }
        Ok(IntakeSummary {
            fetched: self.fetched,
            skipped: self.skipped,
            accounts: self.accounts,
        })
    }
}

/// What an intake saw besides the records it handed over.
#[derive(Debug)]
pub struct IntakeSummary {
    /// Executions received (normalised or skipped).
    pub fetched: usize,
    /// Records that could not be normalised, with their raw payload.
    pub skipped: Vec<SkippedExecution>,
    /// Accounts of the normalised records.
    pub accounts: BTreeSet<String>,
}

fn spool_error(e: std::io::Error) -> Error {
    Error::Internal(format!("the sync's spool file failed: {e}"))
}

/// A temporary file opened twice (one handle appends, the other reads from the start), with
/// its name removed at once: the open handles keep it alive until they are dropped, and
/// nothing is left on disk whatever happens to the process.
fn unnamed_file(kind: &str) -> Result<(File, File)> {
    let path = std::env::temp_dir().join(format!("fillbook-{kind}-{}", uuid::Uuid::new_v4()));
    let write = File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(spool_error)?;
    let read = File::open(&path);
    std::fs::remove_file(&path).map_err(spool_error)?;
    Ok((write, read.map_err(spool_error)?))
}

/// How many raw items the drain appends between two announcements to the intake.
const ANNOUNCE_EVERY: usize = 2_048;

/// A raw spool: the drain's writing end and the intake's reading end.
pub fn raw_spool() -> Result<(RawSpoolWriter, RawSpoolReader)> {
    let (write, read) = unnamed_file("sync-raw")?;
    let (announce, announced) = std::sync::mpsc::channel();
    Ok((
        RawSpoolWriter {
            file: BufWriter::with_capacity(1 << 16, write),
            announce,
            written: 0,
            pending: 0,
            contracts: RecentContracts::default(),
        },
        RawSpoolReader {
            file: BufReader::with_capacity(1 << 16, read),
            announced,
            available: 0,
            taken: 0,
            contracts: RecentContracts::default(),
        },
    ))
}

/// The drain's end of the raw spool: appends each message of the gateway's answer as it is
/// decoded, and tells the reader every [`ANNOUNCE_EVERY`] messages how many are complete on
/// disk. Dropping it (or [`RawSpoolWriter::finish`]) ends the reader's stream.
#[derive(Debug)]
pub struct RawSpoolWriter {
    file: BufWriter<File>,
    announce: Sender<usize>,
    written: usize,
    pending: usize,
    contracts: RecentContracts<()>,
}

impl RawSpoolWriter {
    /// Appends one message.
    pub fn push(&mut self, item: &Executions) -> Result<()> {
        encode_item(&mut self.file, item, &mut self.contracts).map_err(spool_error)?;
        self.written += 1;
        self.pending += 1;
        if self.pending >= ANNOUNCE_EVERY {
            self.announce()?;
        }
        Ok(())
    }

    fn announce(&mut self) -> Result<()> {
        self.file.flush().map_err(spool_error)?;
        self.pending = 0;
        // A reader that is gone has failed; its own error is the one reported.
        let _ = self.announce.send(self.written);
        Ok(())
    }

    /// Writes out and announces the last messages; the reader then sees the end.
    pub fn finish(mut self) -> Result<()> {
        self.announce()
    }
}

/// The intake's end of the raw spool: yields the drain's messages in order, waiting for the
/// drain when it has read everything announced so far.
#[derive(Debug)]
pub struct RawSpoolReader {
    file: BufReader<File>,
    announced: Receiver<usize>,
    available: usize,
    taken: usize,
    contracts: RecentContracts<()>,
}

impl RawSpoolReader {
    /// The next message; `None` once the drain has finished and everything is read.
    pub fn next_item(&mut self) -> Result<Option<Executions>> {
        while self.taken == self.available {
            match self.announced.recv() {
                Ok(count) => self.available = count,
                Err(_) => return Ok(None),
            }
        }
        self.taken += 1;
        decode_item(&mut self.file, &mut self.contracts)
            .map(Some)
            .map_err(|e| {
                Error::Internal(format!(
                    "cannot read message {} of the raw spool: {e}",
                    self.taken
                ))
            })
    }
}

// The raw spool's encoding: one tag byte, then the fields in a fixed order; strings and the
// contract (as JSON) are length-prefixed, numbers are little-endian bytes, so every value the
// client decoded (NaN included) comes back exactly. A contract equal to one of the last
// distinct ones written is written as its slot: both ends fill their `RecentContracts` with
// the new contracts in the order they cross the spool, so a slot means the same contract.
const TAG_EXECUTION: u8 = b'E';
const TAG_REPORT: u8 = b'C';
const CONTRACT_NEW: u8 = 0;
const CONTRACT_SLOT: u8 = 1;

fn put_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    out.write_all(&(s.len() as u32).to_le_bytes())?;
    out.write_all(s.as_bytes())
}

fn put_f64(out: &mut impl Write, v: f64) -> std::io::Result<()> {
    out.write_all(&v.to_le_bytes())
}

fn put_opt_f64(out: &mut impl Write, v: Option<f64>) -> std::io::Result<()> {
    match v {
        Some(v) => {
            out.write_all(&[1])?;
            put_f64(out, v)
        }
        None => out.write_all(&[0]),
    }
}

fn encode_item(
    out: &mut impl Write,
    item: &Executions,
    contracts: &mut RecentContracts<()>,
) -> std::io::Result<()> {
    match item {
        Executions::ExecutionData(d) => {
            let e = &d.execution;
            out.write_all(&[TAG_EXECUTION])?;
            out.write_all(&d.request_id.to_le_bytes())?;
            out.write_all(&e.order_id.to_le_bytes())?;
            out.write_all(&e.client_id.to_le_bytes())?;
            put_str(out, &e.execution_id)?;
            put_str(out, &e.time)?;
            put_str(out, &e.account_number)?;
            put_str(out, &e.exchange)?;
            out.write_all(&[u8::from(e.side == ExecutionSide::Sold)])?;
            put_f64(out, e.shares)?;
            put_f64(out, e.price)?;
            out.write_all(&e.perm_id.to_le_bytes())?;
            out.write_all(&e.liquidation.to_le_bytes())?;
            put_f64(out, e.cumulative_quantity)?;
            put_f64(out, e.average_price)?;
            put_str(out, &e.order_reference)?;
            put_str(out, &e.ev_rule)?;
            put_opt_f64(out, e.ev_multiplier)?;
            put_str(out, &e.model_code)?;
            out.write_all(&liquidity_number(&e.last_liquidity).to_le_bytes())?;
            out.write_all(&[u8::from(e.pending_price_revision)])?;
            put_str(out, &e.submitter)?;
            if let Some(slot) = contracts.find(&d.contract) {
                return out.write_all(&[CONTRACT_SLOT, slot]);
            }
            let contract = serde_json::to_vec(&d.contract).map_err(std::io::Error::other)?;
            out.write_all(&[CONTRACT_NEW])?;
            out.write_all(&(contract.len() as u32).to_le_bytes())?;
            out.write_all(&contract)?;
            contracts.remember(d.contract.clone(), ());
            Ok(())
        }
        Executions::CommissionReport(r) => {
            out.write_all(&[TAG_REPORT])?;
            put_str(out, &r.execution_id)?;
            put_f64(out, r.commission)?;
            put_str(out, &r.currency)?;
            put_opt_f64(out, r.realized_pnl)?;
            put_opt_f64(out, r.yields)?;
            put_str(out, &r.yield_redemption_date)
        }
    }
}

fn take<const N: usize>(input: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    input.read_exact(&mut b)?;
    Ok(b)
}

fn take_bytes(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let len = u32::from_le_bytes(take(input)?) as usize;
    let mut b = vec![0u8; len];
    input.read_exact(&mut b)?;
    Ok(b)
}

fn take_str(input: &mut impl Read) -> std::io::Result<String> {
    String::from_utf8(take_bytes(input)?).map_err(std::io::Error::other)
}

fn take_f64(input: &mut impl Read) -> std::io::Result<f64> {
    Ok(f64::from_le_bytes(take(input)?))
}

fn take_opt_f64(input: &mut impl Read) -> std::io::Result<Option<f64>> {
    match take::<1>(input)? {
        [0] => Ok(None),
        _ => take_f64(input).map(Some),
    }
}

fn take_i32(input: &mut impl Read) -> std::io::Result<i32> {
    Ok(i32::from_le_bytes(take(input)?))
}

fn decode_item(
    input: &mut impl Read,
    contracts: &mut RecentContracts<()>,
) -> std::io::Result<Executions> {
    match take::<1>(input)? {
        [TAG_EXECUTION] => {
            let request_id = take_i32(input)?;
            let execution = Execution {
                order_id: take_i32(input)?,
                client_id: take_i32(input)?,
                execution_id: take_str(input)?,
                time: take_str(input)?,
                account_number: take_str(input)?,
                exchange: take_str(input)?,
                side: match take::<1>(input)? {
                    [0] => ExecutionSide::Bought,
                    _ => ExecutionSide::Sold,
                },
                shares: take_f64(input)?,
                price: take_f64(input)?,
                perm_id: i64::from_le_bytes(take(input)?),
                liquidation: take_i32(input)?,
                cumulative_quantity: take_f64(input)?,
                average_price: take_f64(input)?,
                order_reference: take_str(input)?,
                ev_rule: take_str(input)?,
                ev_multiplier: take_opt_f64(input)?,
                model_code: take_str(input)?,
                last_liquidity: Liquidity::from(take_i32(input)?),
                pending_price_revision: take::<1>(input)? != [0],
                submitter: take_str(input)?,
            };
            let contract = match take::<1>(input)? {
                [CONTRACT_SLOT] => {
                    let slot = take::<1>(input)?[0];
                    let (contract, ()) = contracts.get(slot).ok_or_else(|| {
                        std::io::Error::other(format!("no contract in slot {slot}"))
                    })?;
                    contract.clone()
                }
                _ => {
                    let contract: Contract = serde_json::from_slice(&take_bytes(input)?)
                        .map_err(std::io::Error::other)?;
                    contracts.remember(contract.clone(), ());
                    contract
                }
            };
            Ok(Executions::ExecutionData(ExecutionData {
                request_id,
                contract,
                execution,
            }))
        }
        [TAG_REPORT] => Ok(Executions::CommissionReport(CommissionReport {
            execution_id: take_str(input)?,
            commission: take_f64(input)?,
            currency: take_str(input)?,
            realized_pnl: take_opt_f64(input)?,
            yields: take_opt_f64(input)?,
            yield_redemption_date: take_str(input)?,
        })),
        [tag] => Err(std::io::Error::other(format!("unknown tag {tag}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tests::{data, report};

    /// Every message survives the raw spool exactly, odd values included, while the intake
    /// follows the drain from another thread.
    #[test]
    fn the_raw_spool_hands_over_every_message_exactly_across_threads() {
        use crate::normalize::raw_record;
        let n = ANNOUNCE_EVERY * 2 + 7;
        // Runs of one contract, and more distinct contracts than the spool has slots.
        let message = |i: usize| {
            let id = format!("0001f4e8.{i:08}.01.01");
            let even = i.is_multiple_of(2);
            if i % 3 == 2 {
                let mut r = report(&id, if even { f64::NAN } else { 1.25 });
                r.realized_pnl = (!even).then_some(-0.5);
                r.yield_redemption_date = "20270101".into();
                return Executions::CommissionReport(r);
            }
            let mut d = data(&id, "20261120 14:30:00 Europe/Zürich");
            d.request_id = i as i32;
            d.execution.side = if even {
                ExecutionSide::Sold
            } else {
                ExecutionSide::Bought
            };
            d.execution.shares = if i == 4 { f64::INFINITY } else { i as f64 };
            d.execution.ev_multiplier = even.then_some(2.5);
            d.execution.last_liquidity = Liquidity::from((i % 6) as i32);
            d.execution.pending_price_revision = !even;
            d.execution.submitter = "ü".repeat(i % 4);
            d.contract.contract_id = (i / 5 % 300) as i32;
            if i.is_multiple_of(11) {
                d.contract.symbol = format!("S{i}").into();
            }
            Executions::ExecutionData(d)
        };
        let wire = |m: &Executions| match m {
            Executions::ExecutionData(d) => raw_record(d, None).tree(),
            Executions::CommissionReport(r) => {
                serde_json::json!([
                    r.execution_id,
                    r.commission.to_string(),
                    r.currency,
                    r.realized_pnl,
                    r.yields,
                    r.yield_redemption_date
                ])
            }
        };
        let (mut writer, mut reader) = raw_spool().unwrap();
        let drain = std::thread::spawn(move || {
            for i in 0..n {
                writer.push(&message(i)).unwrap();
            }
            writer.finish().unwrap();
        });
        let mut seen = 0;
        while let Some(m) = reader.next_item().unwrap() {
            assert_eq!(wire(&m), wire(&message(seen)), "message {seen}");
            if let (Executions::ExecutionData(got), Executions::ExecutionData(want)) =
                (&m, &message(seen))
            {
                assert_eq!(got.request_id, want.request_id);
            }
            seen += 1;
        }
        drain.join().unwrap();
        assert_eq!(seen, n);
    }

    /// A drain that stops early (the gateway dropped) ends the intake's stream with what
    /// was announced; nothing hangs.
    #[test]
    fn a_dropped_drain_ends_the_stream() {
        let (mut writer, mut reader) = raw_spool().unwrap();
        for i in 0..3 {
            let id = format!("0001f4e8.{i:08}.01.01");
            writer
                .push(&Executions::CommissionReport(report(&id, 1.0)))
                .unwrap();
        }
        drop(writer);
        assert!(reader.next_item().unwrap().is_none());
    }

    #[test]
    fn records_come_back_in_order_with_their_reports_across_the_window() {
        let (mut intake, mut records) = Intake::new(chrono_tz::UTC);
        let n = REPORT_WINDOW + 5;
        let id = |i: usize| format!("0001f4e8.{i:08}.01.01");
        // The intake hands over from its own thread and waits while the queue is full.
        let producer = std::thread::spawn(move || {
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
            intake.finish().unwrap()
        });
        let mut seen = 0;
        while let Some(chunk) = records.blocking_recv() {
            assert!(
                !chunk.is_empty() && chunk.len() <= HANDOVER,
                "{}",
                chunk.len()
            );
            for row in chunk {
                assert_eq!(row.ib_exec_id, id(seen));
                assert_eq!(row.commission, Some(1.0 + seen as f64));
                seen += 1;
            }
        }
        let summary = producer.join().unwrap();
        assert_eq!(seen, n);
        assert_eq!(summary.fetched, n + 1);
        assert_eq!(summary.skipped.len(), 1);
        let accounts: Vec<_> = summary.accounts.into_iter().collect();
        assert_eq!(accounts, ["DU1234567"]);
    }

    /// A writer that stops taking records makes the intake fail instead of waiting forever.
    #[test]
    fn a_stopped_writer_stops_the_intake() {
        let (mut intake, records) = Intake::new(chrono_tz::UTC);
        drop(records);
        let id = |i: usize| format!("0001f4e8.{i:08}.01.01");
        let mut failed = None;
        for i in 0..REPORT_WINDOW + HANDOVER + 1 {
            let item = Executions::ExecutionData(data(&id(i), "20261120 14:30:00 UTC"));
            if let Err(e) = intake.take(item) {
                failed = Some((i, e.to_string()));
                break;
            }
        }
        let (at, why) = failed.expect("the intake kept going without a writer");
        assert_eq!(at, REPORT_WINDOW + HANDOVER - 1);
        assert!(why.contains("stopped taking records"), "{why}");
    }
}
