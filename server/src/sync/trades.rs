//! `trades.sync`: executions from the gateway are
//! normalised, upserted on `(account_id, ib_exec_id)` (updated only when something changed,
//! such as a late commission), grouped into parent trades by `match_key`, given canonical
//! flags per `(account_id, exec_id_base)` (highest revision wins), and every touched trade's
//! aggregates are recomputed from canonical rows only. One transaction per run: a gateway
//! error or a stream that ends early commits nothing. Malformed records are skipped,
//! counted and reported with their raw payload. Append/update only; never deletes.

use crate::db::accounts::upsert_accounts;
use crate::db::run::RunTxn;
use crate::error::{Error, Result};
use crate::history::FillEvent;
use crate::ib::{execution_requests, Gateway, IbConnectOptions};
use crate::normalize::{
    seen_by_gateway, CoveragePeriod, FlexCancellation, NormalizedExecution, SkippedExecution,
};
use crate::sync::cancellations::{bust_cancelled, record_cancellations, Bust};
use crate::sync::intake::{raw_spool, Intake, Records};
use crate::sync::merge::{
    changes, with_known_commission, Digests, ExistingExec, KnownExec, Mutable, EXISTING_SELECT,
    KNOWN_SELECT,
};
use crate::sync::records::{self, FillChange, FillValues, NewFill, NewTrade, TradeKey};
pub(crate) use crate::sync::status::refresh_status;
pub use crate::sync::status::{trade_status, KnownOrder};
use crate::sync::totals::Totals;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Value as SqlValue};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Rows per multi-row statement (well under SQLite's and PostgreSQL's parameter limits).
pub(super) const CHUNK: usize = 500;

/// What one sync did (the `trades.sync` job's result).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SyncMetrics {
    pub fetched_executions_count: usize,
    pub inserted_executions_count: usize,
    pub updated_executions_count: usize,
    pub canonical_changes_count: usize,
    pub touched_trades_count: usize,
    pub skipped_executions_count: usize,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Each skipped record with its raw payload and the reason.
    pub skipped: Vec<SkippedExecution>,
    /// Periods before this window that neither a sync nor a statement covered, per account:
    /// the gateway no longer reports them, so their fills can only come from a statement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncovered: Vec<UncoveredPeriod>,
}

/// A period no run covered, reported by the sync that comes after it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UncoveredPeriod {
    pub account: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, FromQueryResult)]
struct LastCovered {
    code: String,
    covered_until: Option<DateTime<Utc>>,
}

/// For each account with earlier coverage, the period between the end of the latest run
/// that covered it (sync or statement) and `window_start`, when there is one.
async fn uncovered_before(
    db: &impl ConnectionTrait,
    accounts: &[String],
    window_start: DateTime<Utc>,
) -> Result<Vec<UncoveredPeriod>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let rows = LastCovered::find_by_statement(crate::db::statement(
        db.get_database_backend(),
        format!(
            "SELECT a.code AS code, MAX(c.period_end) AS covered_until FROM accounts a \
             JOIN coverage c ON c.account_id = a.id WHERE a.code IN ({}) GROUP BY a.code",
            placeholders(1, accounts.len())
        ),
        accounts
            .iter()
            .map(|a| SqlValue::from(a.clone()))
            .collect::<Vec<_>>(),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let from = r.covered_until?;
            (from < window_start).then(|| UncoveredPeriod {
                message: format!(
                    "{}: fills between {} and {} can only come from a Flex statement",
                    r.code,
                    from.format("%Y-%m-%d %H:%M UTC"),
                    window_start.format("%Y-%m-%d %H:%M UTC")
                ),
                account: r.code,
                from,
                to: window_start,
            })
        })
        .collect())
}

/// Verifies that the tables the sync writes exist.
pub async fn check_trades_tables_ready(db: &impl ConnectionTrait) -> Result<()> {
    for table in ["accounts", "trades", "trade_executions"] {
        db.execute_unprepared(&format!("SELECT 1 FROM {table} WHERE 1 = 0"))
            .await
            .map_err(|_| {
                Error::Config(format!(
                    "table `{table}` is missing: run `fillbook migrate` first"
                ))
            })?;
    }
    Ok(())
}

/// Records per ledger batch of a sync. Measured at 100,000 executions (release,
/// 2026-12-05): 10,000 peaks at 241 MiB on PostgreSQL and 233 MiB on SQLite against 305 and
/// 282 MiB with 20,000, for a first sync about 4% slower.
const WRITE_BATCH: usize = 10_000;

/// Connects, streams the window's executions through the intake (see [`Intake`]) into the
/// ledger batch by batch while the gateway answers, reads the gateway's orders, and settles
/// the run's trades, all in one transaction.
/// `source` names the run in the fills' history (`job:<id>`).
pub async fn sync_trades_once(
    db: &DatabaseConnection,
    ib: &IbConnectOptions,
    lookback_days: u32,
    source: Option<String>,
) -> Result<SyncMetrics> {
    sync_trades_in_batches(db, ib, lookback_days, source, WRITE_BATCH).await
}

/// [`sync_trades_once`] writing `batch` records at a time (tests use tiny batches).
pub async fn sync_trades_in_batches(
    db: &DatabaseConnection,
    ib: &IbConnectOptions,
    lookback_days: u32,
    source: Option<String>,
    batch: usize,
) -> Result<SyncMetrics> {
    let started = std::time::Instant::now();
    check_trades_tables_ready(db).await?;
    let window_end = Utc::now();
    let days = lookback_days.clamp(1, 7);
    let window_start = window_end - Duration::days(i64::from(days));
    let gateway = Gateway::connect_read_only(ib).await?;
    let managed = gateway.managed_accounts().await?;
    let txn = RunTxn::begin(db).await?;
    let now = Utc::now();
    // Three stages run at once: a task drains the gateway's answer into a raw spool at
    // socket speed (a reader that falls behind loses frames and the answer is discarded),
    // the intake follows that spool on a thread of its own, and this task writes the
    // records the intake hands over. All in one transaction: an answer cut short commits
    // nothing.
    let (intake, mut records) = Intake::new(ib.time_zone);
    let (mut raw, raw_reader) = raw_spool()?;
    let intake = tokio::task::spawn_blocking(move || intake.take_all(raw_reader));
    let requests = execution_requests(&managed, days as i32);
    let reader = tokio::spawn(async move {
        let read = gateway
            .each_execution_of(requests, |item| raw.push(&item))
            .await;
        let spooled = raw.finish();
        // The orders are read after the executions: a connection that dropped while they
        // streamed fails here, so a cut-short answer is never written.
        let orders = match (&read, &spooled) {
            (Ok(()), Ok(())) => read_orders(&gateway).await,
            _ => Ok(Vec::new()),
        };
        gateway.disconnect().await;
        (read, spooled, orders)
    });
    let written = write_records(&txn, &managed, &mut records, batch, &source, now).await;
    // A writer that failed stops the intake, whose reader then drops; the drain still
    // finishes the answer (and leaves the gateway) before the run reports the error.
    drop(records);
    let summary = intake
        .await
        .map_err(|e| Error::Internal(format!("the sync's intake failed: {e}")));
    let drained = reader
        .await
        .map_err(|e| Error::Internal(format!("the sync's gateway reader failed: {e}")));
    let mut run = written?;
    let summary = summary??;
    let (read, spooled, orders) = drained?;
    spooled?;
    read?;
    let orders = orders?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        records = summary.fetched,
        "trades sync read, normalised and wrote the gateway's answer"
    );
    let mut accounts: Vec<String> = managed;
    for a in summary.accounts {
        if !accounts.contains(&a) {
            accounts.push(a);
        }
    }
    // Read before this run's own coverage is recorded below.
    let uncovered = uncovered_before(&txn, &accounts, window_start).await?;
    let coverage = accounts
        .iter()
        .map(|a| CoveragePeriod {
            account_code: a.clone(),
            source: "sync",
            start: window_start,
            end: window_end,
            reference: source.clone(),
        })
        .collect();
    let written: Vec<String> = accounts.clone();
    let last = LedgerBatch {
        accounts,
        coverage,
        skip_statistics: true,
        source: source.clone(),
        ..LedgerBatch::default()
    };
    run.absorb(write_batch(&txn, last, now).await?);
    settle(&txn, &mut run, &orders, true, now).await?;
    txn.commit().await?;
    announce_fills(db, written, &run.metrics).await;
    let mut metrics = run.metrics;
    for u in &uncovered {
        tracing::warn!(account = %u.account, "{}", u.message);
    }
    metrics.touched_trades_count = run.touched_trade_ids.len();
    metrics.uncovered = uncovered;
    metrics.fetched_executions_count = summary.fetched;
    metrics.skipped_executions_count = summary.skipped.len();
    metrics.skipped = summary.skipped;
    metrics.window_start = window_start;
    metrics.window_end = window_end;
    for s in &metrics.skipped {
        tracing::warn!(reason = %s.reason, raw = %s.raw, "skipped a malformed execution");
    }
    Ok(metrics)
}

/// The gateway's completed and open orders, of every client.
async fn read_orders(gateway: &Gateway) -> Result<Vec<KnownOrder>> {
    let mut orders: Vec<KnownOrder> = gateway
        .completed_orders()
        .await?
        .iter()
        .map(KnownOrder::from_gateway)
        .collect();
    orders.extend(
        gateway
            .open_orders()
            .await?
            .iter()
            .map(KnownOrder::from_gateway),
    );
    Ok(orders)
}

/// Writes the records an intake hands over inside the caller's transaction, `batch` at a
/// time, as they arrive; the first batch also locks `accounts` (the gateway's managed
/// accounts, so a run takes their locks in one fixed order up front).
async fn write_records(
    txn: &RunTxn,
    accounts: &[String],
    records: &mut Records,
    batch: usize,
    source: &Option<String>,
    now: DateTime<Utc>,
) -> Result<LedgerOutcome> {
    let batch = batch.max(1);
    let mut run = LedgerOutcome::default();
    let mut rows: Vec<NormalizedExecution> = Vec::with_capacity(batch);
    let mut accounts = Some(accounts.to_vec());
    // Time spent waiting for the intake, reported with the run's timings.
    let mut waited = std::time::Duration::ZERO;
    loop {
        let asked = std::time::Instant::now();
        let chunk = records.recv().await;
        waited += asked.elapsed();
        let done = chunk.is_none();
        rows.extend(chunk.unwrap_or_default());
        while rows.len() >= batch || (done && !rows.is_empty()) {
            let part: Vec<NormalizedExecution> = rows.drain(..rows.len().min(batch)).collect();
            let b = LedgerBatch {
                accounts: accounts.take().unwrap_or_default(),
                rows: part,
                skip_statistics: run.skip_statistics(),
                source: source.clone(),
                known: run.take_known(),
                ..LedgerBatch::default()
            };
            run.absorb(write_batch(txn, b, now).await?);
        }
        if done {
            tracing::debug!(
                waited_ms = waited.as_millis() as u64,
                "the writer waited this long for the intake's records"
            );
            return Ok(run);
        }
    }
}

/// The parent trade key of an execution: `perm:<id>`, `ref:<order_ref>`, for a fill seen
/// only in a statement `flexorder:<IB order id>`, else
/// `ord:<client>:<order>:<symbol>:<side>:<UTC date>`.
pub fn match_key(e: &NormalizedExecution) -> String {
    let flex_order = e.flex.as_ref().and_then(|f| f.ib_order_id.as_deref());
    if e.perm_id > 0 {
        format!("perm:{}", e.perm_id)
    } else if let Some(r) = e.order_ref.as_deref().filter(|r| !r.is_empty()) {
        format!("ref:{r}")
    } else if let Some(order) = flex_order {
        format!("flexorder:{order}")
    } else {
        format!(
            "ord:{}:{}:{}:{}:{}",
            e.client_id,
            e.order_id,
            e.symbol.as_deref().unwrap_or(""),
            e.side,
            e.executed_at.format("%Y-%m-%d")
        )
    }
}

/// What the canonical-flag pass needs of a stored execution (no raw record: that pass
/// reads every revision of every touched base, up to the whole run).
#[derive(Debug, FromQueryResult)]
struct Revision {
    id: i32,
    trade_id: i32,
    account_id: i32,
    exec_id_base: String,
    exec_revision: i32,
    is_canonical: bool,
    busted_by: Option<String>,
    created_at: DateTime<Utc>,
}

/// `$start, …` — `count` numbered placeholders (`db::statement` renders them for SQLite).
pub(super) fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything one run writes, in one transaction.
#[derive(Debug, Default)]
pub struct LedgerBatch<'a> {
    /// Accounts to record even when they have no fills (the gateway's managed accounts).
    pub accounts: Vec<String>,
    pub rows: Vec<NormalizedExecution>,
    pub cancellations: Vec<FlexCancellation>,
    pub orders: &'a [KnownOrder],
    /// Whether `orders` is the gateway's view of the orders (a sync), so a trade whose order
    /// it does not name is `unknown`; a statement knows no order states, so its run keeps a
    /// trade's status unless Fillbook's own orders decide it.
    pub knows_orders: bool,
    pub coverage: Vec<CoveragePeriod>,
    /// Do not refresh the planner's statistics after a large insert: a run written in
    /// several batches refreshes them after its first batch only (see
    /// [`LedgerOutcome::skip_statistics`]).
    pub skip_statistics: bool,
    /// What makes the changes, for the fills' history: `job:<id>`, `import:<id>`,
    /// `live:<gateway>`.
    pub source: Option<String>,
    /// What earlier batches of the same run wrote, found or locked (see
    /// [`LedgerOutcome::take_known`]): this batch looks up only what it lacks.
    pub known: RunIds,
}

/// Parent trade ids by `(account_id, match_key)`.
pub type ParentIds = HashMap<(i32, String), i32>;

/// The ids a run's batches have found so far, handed from each batch to the next: the
/// parent trades, and the accounts (by code) whose lock the run holds — a lock taken in
/// the run's transaction is held until it ends, so a later batch takes only new ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunIds {
    pub parents: ParentIds,
    pub accounts: HashMap<String, i32>,
}

/// What a run did beyond the sync's counts: statement cancellations.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LedgerOutcome {
    /// Batches absorbed into this outcome (see [`LedgerOutcome::absorb`]).
    #[serde(skip)]
    pub batches: usize,
    pub metrics: SyncMetrics,
    /// New cancellation rows recorded.
    pub cancellations_recorded: usize,
    /// Executions busted by a cancellation in this run.
    pub busted_executions_count: usize,
    /// Cancellations whose original fill is not in the ledger (yet), by key.
    pub unmatched_cancellations: Vec<String>,
    /// Cancellations that busted their fill in this batch, by key.
    #[serde(skip)]
    pub applied_cancellations: Vec<String>,
    /// Every trade this batch touched (a run of several batches counts each once).
    #[serde(skip)]
    pub touched_trade_ids: HashSet<i32>,
    /// Trades whose totals and status wait for [`settle`].
    #[serde(skip)]
    pub unsettled: Unsettled,
    /// The parent trades and locked accounts of this run's batches, for its next batch.
    #[serde(skip)]
    pub known: RunIds,
}

/// The trades a run's batches touched whose totals and status are not recomputed yet: a run
/// of several batches settles them once, after its last batch, instead of recomputing a
/// trade's totals from all its fills again in every batch that adds one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unsettled {
    /// Trades whose stored fills changed: totals recomputed from the stored fills.
    trades: HashSet<i32>,
    /// Trades the run inserted fills into, with those fills' totals.
    added: HashMap<i32, Totals>,
    /// Trades the run created: one of them with only inserted fills, and no other change,
    /// has its totals written from `added` (see [`crate::sync::totals`]).
    created: HashSet<i32>,
    /// Trades of every fill seen, changed or not: status rechecked.
    referenced: HashSet<i32>,
    /// Account id → code of the accounts written.
    accounts: HashMap<i32, String>,
}

impl Unsettled {
    /// The trades whose totals are written from memory, with their totals, and those
    /// recomputed from their stored fills: a trade the run created and changed only by
    /// inserting fills is summed; any other trade the run touched is recomputed.
    fn totals(&self) -> (Vec<(i32, Totals)>, Vec<i32>) {
        let mut summed = Vec::new();
        let mut recomputed: Vec<i32> = self.trades.iter().copied().collect();
        for (id, t) in &self.added {
            if self.trades.contains(id) {
                continue; // recomputed already
            }
            if self.created.contains(id) {
                summed.push((*id, *t));
            } else {
                recomputed.push(*id);
            }
        }
        (summed, recomputed)
    }
}

impl LedgerOutcome {
    /// Whether the next batch of this run should skip refreshing the planner's statistics:
    /// they are refreshed after the first batch only. PostgreSQL scales the row count of
    /// its statistics by the table's current size and keeps a unique column's distinct
    /// count as a fraction of the rows, so lookups stay on their indexes as the run grows
    /// the table (refreshing again after batches 2, 4 and 8 cost 0.1–0.6 s each).
    pub fn skip_statistics(&self) -> bool {
        self.batches > 0
    }

    /// The ids the run knows so far, for its next batch's [`LedgerBatch::known`] (a trade
    /// spans batches: a first sync of 100,000 fills of 5,000 trades meets most of them in
    /// every batch of 10,000, and looked them all up again in each; its accounts were
    /// upserted and locked again in each).
    pub fn take_known(&mut self) -> RunIds {
        std::mem::take(&mut self.known)
    }

    /// Adds the outcome of one more batch of the same run: counts add up, each trade and
    /// each cancellation counts once.
    pub fn absorb(&mut self, o: LedgerOutcome) {
        let (m, n) = (&mut self.metrics, o.metrics);
        m.inserted_executions_count += n.inserted_executions_count;
        m.updated_executions_count += n.updated_executions_count;
        m.canonical_changes_count += n.canonical_changes_count;
        self.cancellations_recorded += o.cancellations_recorded;
        self.busted_executions_count += o.busted_executions_count;
        for key in o.unmatched_cancellations {
            if !self.unmatched_cancellations.contains(&key) {
                self.unmatched_cancellations.push(key);
            }
        }
        self.applied_cancellations.extend(o.applied_cancellations);
        self.known.parents.extend(o.known.parents);
        self.known.accounts.extend(o.known.accounts);
        self.touched_trade_ids.extend(o.touched_trade_ids);
        m.touched_trades_count = self.touched_trade_ids.len();
        let u = &mut self.unsettled;
        u.trades.extend(o.unsettled.trades);
        for (id, t) in o.unsettled.added {
            Totals::add_to(&mut u.added, id, t);
        }
        u.created.extend(o.unsettled.created);
        u.referenced.extend(o.unsettled.referenced);
        u.accounts.extend(o.unsettled.accounts);
        self.batches += 1;
    }
}

/// Writes normalised executions in one transaction and returns the counts.
pub async fn apply_executions(
    db: &DatabaseConnection,
    managed: &[String],
    rows: Vec<NormalizedExecution>,
    orders: &[KnownOrder],
    now: DateTime<Utc>,
) -> Result<SyncMetrics> {
    let batch = LedgerBatch {
        accounts: managed.to_vec(),
        rows,
        orders,
        knows_orders: true,
        ..LedgerBatch::default()
    };
    Ok(apply_batch(db, batch, now).await?.metrics)
}

/// Writes one run — fills, statement cancellations, coverage — in one transaction.
pub async fn apply_batch(
    db: &DatabaseConnection,
    batch: LedgerBatch<'_>,
    now: DateTime<Utc>,
) -> Result<LedgerOutcome> {
    let mut accounts: Vec<String> = batch.rows.iter().map(|r| r.account_code.clone()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let txn = RunTxn::begin(db).await?;
    let outcome = apply_in(&txn, batch, now).await?;
    txn.commit().await?;
    announce_fills(db, accounts, &outcome.metrics).await;
    Ok(outcome)
}

/// Tells live pages that fills of `accounts` were written (nothing when none changed).
pub async fn announce_fills(db: &impl ConnectionTrait, accounts: Vec<String>, m: &SyncMetrics) {
    let count = m.inserted_executions_count + m.updated_executions_count;
    if count > 0 {
        let change = crate::events::Change::Fills { accounts, count };
        crate::events::publish(db, change).await;
    }
}

/// What the steps of one batch touched: the trades whose aggregates and status are
/// recomputed, the revision groups whose canonical flag is settled, and the fills' history.
#[derive(Default)]
struct Touched {
    /// Trades whose stored fills changed: aggregates recomputed.
    trades: HashSet<i32>,
    /// Trades fills were inserted into, with the inserted fills' totals.
    added: HashMap<i32, Totals>,
    /// Trades this batch created.
    created: HashSet<i32>,
    /// Trades of every fill in the batch, changed or not: status rechecked.
    referenced: HashSet<i32>,
    /// `(account_id, exec_id_base)` groups whose canonical flag is settled.
    bases: HashSet<(i32, String)>,
    history: Vec<FillEvent>,
    /// Group → trade of fills already in the ledger: new fills of a group join that trade.
    shared: HashMap<(i32, String), i32>,
}

impl Touched {
    /// A stored fill of `trade_id` changed: its base's canonical flag is settled again.
    fn fill(&mut self, trade_id: i32, account_id: i32, exec_id_base: &str) {
        self.trades.insert(trade_id);
        self.referenced.insert(trade_id);
        self.bases.insert((account_id, exec_id_base.to_string()));
    }

    /// Fill `r` of `trade_id` was inserted. It is inserted canonical, which is settled:
    /// unless [`merge_stored`] found its base shared (stored already, or with another new
    /// revision in the batch) and put the base in `bases`, it is the base's only fill.
    fn new_fill(&mut self, trade_id: i32, r: &NormalizedExecution) {
        Totals::add_to(&mut self.added, trade_id, Totals::of(r));
        self.referenced.insert(trade_id);
    }

    /// Every trade the batch touched: fills inserted or stored fills changed.
    fn all_trades(&self) -> HashSet<i32> {
        self.trades
            .iter()
            .chain(self.added.keys())
            .copied()
            .collect()
    }
}

/// Writes one batch inside the caller's transaction and settles its trades' totals and
/// status: [`write_batch`] then [`settle`].
pub async fn apply_in(
    txn: &RunTxn,
    batch: LedgerBatch<'_>,
    now: DateTime<Utc>,
) -> Result<LedgerOutcome> {
    let (orders, knows_orders) = (batch.orders, batch.knows_orders);
    let mut outcome = write_batch(txn, batch, now).await?;
    settle(txn, &mut outcome, orders, knows_orders, now).await?;
    Ok(outcome)
}

/// Writes one batch's fills inside the caller's transaction, leaving its trades' totals and
/// status to [`settle`]. A run may write several batches in one transaction (a sync as the
/// gateway answers, a statement as it streams, in chunks) and settle once: a later batch
/// sees the earlier ones' rows as stored, so the outcome is the same as one batch of
/// everything.
/// The steps (each timed in the debug log): lock the accounts, merge records of stored
/// fills, insert new fills under their parent trades, apply statement cancellations,
/// settle canonical flags and write the history.
pub async fn write_batch(
    txn: &RunTxn,
    batch: LedgerBatch<'_>,
    now: DateTime<Utc>,
) -> Result<LedgerOutcome> {
    let mut outcome = LedgerOutcome {
        metrics: SyncMetrics {
            window_start: now,
            window_end: now,
            ..SyncMetrics::default()
        },
        ..LedgerOutcome::default()
    };
    let mut phases = Phases::start();
    let rows = last_copy_wins(batch.rows);
    phases.lap("dedupe");
    let RunIds {
        parents: known_parents,
        accounts: mut locked,
    } = batch.known;
    let codes: BTreeSet<&str> = batch
        .accounts
        .iter()
        .map(String::as_str)
        .chain(rows.iter().map(|r| r.account_code.as_str()))
        .chain(batch.cancellations.iter().map(|c| c.account_code.as_str()))
        .chain(batch.coverage.iter().map(|c| c.account_code.as_str()))
        .collect();
    // Only the accounts the run has not locked yet are upserted and locked.
    let new: BTreeSet<String> = codes
        .iter()
        .filter(|code| !locked.contains_key(**code))
        .map(|code| code.to_string())
        .collect();
    locked.extend(lock_accounts(txn, &new, now).await?);
    let account_ids: HashMap<String, i32> = codes
        .iter()
        .map(|code| (code.to_string(), locked[*code]))
        .collect();
    outcome.known.accounts = locked;
    record_coverage(txn, &batch.coverage, &account_ids, now).await?;
    if rows.is_empty() && batch.cancellations.is_empty() {
        outcome.known.parents = known_parents;
        return Ok(outcome);
    }
    phases.lap("accounts");
    let mut touched = Touched::default();
    let (pending, updated) = merge_stored(txn, &rows, &account_ids, &mut touched, now).await?;
    outcome.metrics.updated_executions_count = updated;
    phases.lap("existing");
    let mut parents = known_parents;
    outcome.metrics.inserted_executions_count = insert_new(
        txn,
        &pending,
        &mut touched,
        &mut parents,
        !batch.skip_statistics,
        &mut phases,
        now,
    )
    .await?;
    outcome.known.parents = parents;
    phases.lap("executions");
    apply_cancellations(
        txn,
        &batch.cancellations,
        &account_ids,
        &mut touched,
        &mut outcome,
        now,
    )
    .await?;
    phases.lap("cancellations");
    let bases = std::mem::take(&mut touched.bases);
    let (canonical_changes, flipped) =
        settle_canonical(txn, bases, now, &mut touched.history).await?;
    outcome.metrics.canonical_changes_count = canonical_changes;
    touched.trades.extend(flipped);
    phases.lap("canonical");
    crate::history::record(txn, &touched.history, batch.source.as_deref(), now).await?;
    phases.lap("history");
    tracing::debug!(phases = %phases.report(), "ledger write timings");
    outcome.touched_trade_ids = touched.all_trades();
    outcome.metrics.touched_trades_count = outcome.touched_trade_ids.len();
    outcome.unsettled = Unsettled {
        trades: touched.trades,
        added: touched.added,
        created: touched.created,
        referenced: touched.referenced,
        accounts: account_ids.iter().map(|(c, i)| (*i, c.clone())).collect(),
    };
    Ok(outcome)
}

/// Recomputes the totals of the trades `run` left unsettled and refreshes their status
/// from `orders` (see [`refresh_status`] for `knows_orders`); a trade whose status changed
/// counts as touched.
pub async fn settle(
    txn: &RunTxn,
    run: &mut LedgerOutcome,
    orders: &[KnownOrder],
    knows_orders: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let u = std::mem::take(&mut run.unsettled);
    let mut phases = Phases::start();
    let (summed, recomputed) = u.totals();
    refresh_aggregates(txn, &recomputed, now).await?;
    phases.lap("aggregates");
    records::update_totals(txn, &summed, now).await?;
    phases.lap("totals");
    let referenced: Vec<i32> = u.referenced.into_iter().collect();
    let changed = refresh_status(txn, &referenced, &u.accounts, orders, knows_orders, now).await?;
    phases.lap("status");
    tracing::debug!(
        phases = %phases.report(),
        recomputed = recomputed.len(),
        summed = summed.len(),
        "ledger settle timings"
    );
    run.touched_trade_ids.extend(changed);
    run.metrics.touched_trades_count = run.touched_trade_ids.len();
    Ok(())
}

/// The rows of one delivery with each execution once: of two copies the last wins, keeping
/// a commission only the earlier one had; the rows keep the order of their first copies.
fn last_copy_wins(rows: Vec<NormalizedExecution>) -> Vec<NormalizedExecution> {
    use std::collections::hash_map::Entry;
    let mut at: HashMap<(String, String), usize> = HashMap::with_capacity(rows.len());
    let mut unique: Vec<NormalizedExecution> = Vec::with_capacity(rows.len());
    for row in rows {
        match at.entry((row.account_code.clone(), row.ib_exec_id.clone())) {
            Entry::Occupied(seen) => {
                let earlier = &unique[*seen.get()];
                let row = with_known_commission(
                    row,
                    earlier.commission,
                    earlier.raw.tree().get("commission_report"),
                );
                unique[*seen.get()] = row;
            }
            Entry::Vacant(slot) => {
                slot.insert(unique.len());
                unique.push(row);
            }
        }
    }
    unique
}

/// Records the accounts and locks them for this run: on SQLite the first write takes the
/// single writer's lock; on PostgreSQL one sync per account at a time, the locks taken in
/// a fixed order so that two runs cannot deadlock. Returns code → id.
async fn lock_accounts(
    txn: &RunTxn,
    codes: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, i32>> {
    let account_ids = upsert_accounts(txn, codes, now).await?;
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        let mut ids: Vec<i32> = account_ids.values().copied().collect();
        ids.sort_unstable();
        for id in ids {
            txn.execute_raw(crate::db::statement(
                backend,
                "SELECT pg_advisory_xact_lock(7243100, $1)",
                [id.into()],
            ))
            .await?;
        }
    }
    Ok(account_ids)
}

/// Records the periods this run covered (a period recorded before is kept as it is).
async fn record_coverage(
    txn: &RunTxn,
    coverage: &[CoveragePeriod],
    account_ids: &HashMap<String, i32>,
    now: DateTime<Utc>,
) -> Result<()> {
    for c in coverage {
        txn.execute_raw(crate::db::statement(
            txn.get_database_backend(),
            "INSERT INTO coverage (account_id, source, period_start, period_end, reference, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account_id, source, period_start, period_end) DO NOTHING",
            [
                account_ids[&c.account_code].into(),
                c.source.into(),
                c.start.into(),
                c.end.into(),
                c.reference.clone().into(),
                now.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// A record of a fill not in the ledger yet: `(record, account_id, match_key)`.
type Pending<'r> = (&'r NormalizedExecution, i32, String);

/// Merges the records of fills already in the ledger, a chunk at a time (memory stays
/// bounded): a record whose digest equals the one last merged from its source is skipped
/// without reading the stored fill; the others are merged and the changed fills written
/// in one statement per chunk. A stored fill keeps its trade, and new fills of its group
/// join that trade (fills of one order seen partly live and partly in a statement end in
/// one trade). One lookup by base finds the stored fills and the stored revisions of new
/// fills' bases. Returns the records of new fills and how many stored fills changed; the
/// bases whose canonical flag must be settled again are left in `touched.bases` (a new
/// fill alone in its base is canonical as inserted, so a first sync settles none).
async fn merge_stored<'r>(
    txn: &RunTxn,
    rows: &'r [NormalizedExecution],
    account_ids: &HashMap<String, i32>,
    touched: &mut Touched,
    now: DateTime<Utc>,
) -> Result<(Vec<Pending<'r>>, usize)> {
    let mut pending: Vec<Pending<'r>> = Vec::new();
    let mut updated = 0;
    for slice in rows.chunks(CHUNK) {
        let stored: Vec<KnownExec> = load_where(
            txn,
            KNOWN_SELECT,
            "exec_id_base",
            group(
                slice
                    .iter()
                    .map(|r| (account_ids[&r.account_code], r.exec_id_base.clone())),
            ),
        )
        .await?;
        let known: HashMap<(i32, &str), &KnownExec> = stored
            .iter()
            .map(|e| ((e.account_id, e.ib_exec_id.as_str()), e))
            .collect();
        let stored_bases: HashSet<(i32, &str)> = stored
            .iter()
            .map(|e| (e.account_id, e.exec_id_base.as_str()))
            .collect();
        // Stored fills whose record differs from the one they last merged from this source.
        let mut differing: Vec<(&NormalizedExecution, i32, i64)> = Vec::new();
        for r in slice {
            let account_id = account_ids[&r.account_code];
            let key = match_key(r);
            let Some(old) = known.get(&(account_id, r.ib_exec_id.as_str())) else {
                // A new revision of a stored base: the base's canonical flag is settled again.
                if stored_bases.contains(&(account_id, r.exec_id_base.as_str())) {
                    touched.bases.insert((account_id, r.exec_id_base.clone()));
                }
                pending.push((r, account_id, key));
                continue;
            };
            touched
                .shared
                .entry((account_id, key))
                .or_insert(old.trade_id);
            touched.referenced.insert(old.trade_id);
            let digest = r.digest();
            if !old.already_merged(r, digest) {
                differing.push((r, account_id, digest));
            }
        }
        if differing.is_empty() {
            continue;
        }
        let existing: Vec<ExistingExec> = load_where(
            txn,
            EXISTING_SELECT,
            "ib_exec_id",
            group(
                differing
                    .iter()
                    .map(|(r, account_id, _)| (*account_id, r.ib_exec_id.clone())),
            ),
        )
        .await?;
        let by_key: HashMap<(i32, &str), &ExistingExec> = existing
            .iter()
            .map(|e| ((e.account_id, e.ib_exec_id.as_str()), e))
            .collect();
        let mut merged: Vec<(i32, Mutable, Digests)> = Vec::new();
        for (r, account_id, digest) in differing {
            let old = by_key[&(account_id, r.ib_exec_id.as_str())];
            // A delivery without the commission report (it came after the end marker
            // this time) must not erase a commission already known.
            let kept;
            let r = if r.commission.is_none() && old.commission.is_some() && r.flex.is_none() {
                kept = with_known_commission(
                    r.clone(),
                    old.commission,
                    old.raw.get("commission_report"),
                );
                &kept
            } else {
                r
            };
            let before = Mutable::of_stored(old);
            let after = Mutable::merged(before.clone(), r);
            if after == before {
                continue;
            }
            for (kind, b, a) in changes(&before, &after) {
                touched.history.push(FillEvent {
                    execution_id: old.id,
                    trade_id: old.trade_id,
                    account_id,
                    kind,
                    before: b,
                    after: a,
                });
            }
            if r.flex.is_none() && !seen_by_gateway(&before.raw) && r.perm_id > 0 {
                adopt_order(txn, old.trade_id, r, now).await?;
            }
            touched.fill(old.trade_id, account_id, &r.exec_id_base);
            merged.push((old.id, after, Digests::after(old.digests(), r, digest)));
        }
        updated += merged.len();
        let changes: Vec<FillChange> = merged
            .iter()
            .map(|(id, after, digests)| FillChange {
                id: *id,
                values: FillValues::merged(after, *digests, now),
            })
            .collect();
        records::update(txn, &changes).await?;
    }
    // Two new revisions of one base in the batch: which one is canonical is settled too.
    let mut new_bases = HashSet::new();
    for (r, account_id, _) in &pending {
        if !new_bases.insert((*account_id, r.exec_id_base.as_str())) {
            touched.bases.insert((*account_id, r.exec_id_base.clone()));
        }
    }
    Ok((pending, updated))
}

/// Inserts the new fills: each joins the trade its group already has, else a parent trade
/// inserted for it (`known` holds the parents of the run's earlier batches and gains this
/// batch's). Returns how many were inserted.
async fn insert_new(
    txn: &RunTxn,
    pending: &[Pending<'_>],
    touched: &mut Touched,
    known: &mut ParentIds,
    statistics: bool,
    phases: &mut Phases,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut parents: HashMap<(i32, String), &NormalizedExecution> = HashMap::new();
    for (r, account_id, key) in pending {
        let group = (*account_id, key.clone());
        if !touched.shared.contains_key(&group) && !known.contains_key(&group) {
            parents.entry(group).or_insert(r);
        }
    }
    let (ids, created) = ensure_parents(txn, &parents, now, statistics).await?;
    known.extend(ids);
    touched.created.extend(created);
    phases.lap("parents");
    let inserts: Vec<(&NormalizedExecution, i32, i32)> = pending
        .iter()
        .map(|(r, account_id, key)| {
            let group = (*account_id, key.clone());
            let trade_id = match touched.shared.get(&group) {
                Some(id) => *id,
                None => known[&group],
            };
            (*r, *account_id, trade_id)
        })
        .collect();
    for (r, _, trade_id) in &inserts {
        touched.new_fill(*trade_id, r);
    }
    insert_executions(txn, &inserts, now).await?;
    if statistics {
        refresh_statistics(txn, "trade_executions", inserts.len() as u64).await?;
    }
    Ok(inserts.len())
}

/// Records statement cancellations, then busts every fill they name that is in the ledger
/// (also those recorded by earlier runs whose original arrives only now).
async fn apply_cancellations(
    txn: &RunTxn,
    cancellations: &[FlexCancellation],
    account_ids: &HashMap<String, i32>,
    touched: &mut Touched,
    outcome: &mut LedgerOutcome,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<i32> = account_ids.values().copied().collect();
    outcome.cancellations_recorded =
        record_cancellations(txn, cancellations, account_ids, now).await?;
    for bust in bust_cancelled(txn, &ids, now).await? {
        match bust {
            Bust::Done {
                account_id,
                trade_id,
                execution_id,
                exec_id_base,
                cancel_key,
            } => {
                touched.history.push(FillEvent {
                    execution_id,
                    trade_id,
                    account_id,
                    kind: "busted",
                    before: json!({ "busted_by": null }),
                    after: json!({ "busted_by": cancel_key }),
                });
                outcome.busted_executions_count += 1;
                outcome.applied_cancellations.push(cancel_key);
                touched.fill(trade_id, account_id, &exec_id_base);
            }
            Bust::Unmatched(key) => outcome.unmatched_cancellations.push(key),
        }
    }
    Ok(())
}

/// Runs `UPDATE trades|trade_executions SET … WHERE id IN (…)` over `ids` a chunk at a
/// time: `set` numbers its placeholders from `$1`, bound to `values`; the ids follow.
pub(super) async fn update_ids(
    txn: &impl ConnectionTrait,
    table: &str,
    set: &str,
    values: &[SqlValue],
    ids: &[i32],
) -> Result<()> {
    let backend = txn.get_database_backend();
    for chunk in ids.chunks(CHUNK) {
        let list = placeholders(values.len() + 1, chunk.len());
        let mut bound: Vec<SqlValue> = values.to_vec();
        bound.extend(chunk.iter().map(|id| SqlValue::from(*id)));
        txn.execute_raw(crate::db::statement(
            backend,
            format!("UPDATE {table} SET {set} WHERE id IN ({list})"),
            bound,
        ))
        .await?;
    }
    Ok(())
}

/// Canonical flags of every `(account_id, exec_id_base)` in `bases`: the highest revision
/// that no cancellation busted wins. Fills recorded before `now` that lose or regain the
/// flag get a `superseded` / `canonical` event. Returns how many flags changed and the
/// trades whose fills changed.
pub(crate) async fn settle_canonical(
    txn: &impl ConnectionTrait,
    bases: HashSet<(i32, String)>,
    now: DateTime<Utc>,
    history: &mut Vec<FillEvent>,
) -> Result<(usize, HashSet<i32>)> {
    let group_rows: Vec<Revision> = load_where(
        txn,
        REVISION_SELECT,
        "exec_id_base",
        group(bases.into_iter()),
    )
    .await?;
    let mut best: HashMap<(i32, &str), (i32, i32)> = HashMap::new();
    for e in group_rows.iter().filter(|e| e.busted_by.is_none()) {
        let candidate = (e.exec_revision, e.id);
        best.entry((e.account_id, e.exec_id_base.as_str()))
            .and_modify(|b| {
                if candidate > *b {
                    *b = candidate
                }
            })
            .or_insert(candidate);
    }
    let mut make_true = Vec::new();
    let mut make_false = Vec::new();
    let mut trades = HashSet::new();
    for e in &group_rows {
        let winner = best.get(&(e.account_id, e.exec_id_base.as_str()));
        let canonical = winner.is_some_and(|b| b.1 == e.id);
        if canonical == e.is_canonical {
            continue;
        }
        if canonical {
            make_true.push(e.id);
        } else {
            make_false.push(e.id);
        }
        trades.insert(e.trade_id);
        // A busted fill has its own event; a fill recorded by this run has no history yet.
        if e.busted_by.is_none() && e.created_at < now {
            let (kind, after) = match (canonical, winner) {
                (true, _) => ("canonical", json!({ "is_canonical": true })),
                (false, Some((revision, _))) => (
                    "superseded",
                    json!({ "is_canonical": false, "by_revision": revision }),
                ),
                (false, None) => ("superseded", json!({ "is_canonical": false })),
            };
            history.push(FillEvent {
                execution_id: e.id,
                trade_id: e.trade_id,
                account_id: e.account_id,
                kind,
                before: json!({ "is_canonical": e.is_canonical }),
                after,
            });
        }
    }
    let changed = make_true.len() + make_false.len();
    for (flag, ids) in [(true, make_true), (false, make_false)] {
        let set = "is_canonical = $1, updated_at = $2";
        update_ids(
            txn,
            "trade_executions",
            set,
            &[flag.into(), now.into()],
            &ids,
        )
        .await?;
    }
    Ok((changed, trades))
}

/// Recomputes the aggregates of `trades` from their canonical fills: quantity, average
/// price, first and last fill time, fill count and commission total. One grouped pass over
/// the fills of a chunk of trades (a trade left without canonical fills gets zero and
/// nulls), not one correlated subquery per aggregate and trade.
pub(crate) async fn refresh_aggregates(
    txn: &impl ConnectionTrait,
    trades: &[i32],
    now: DateTime<Utc>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    for chunk in trades.chunks(CHUNK) {
        let list = placeholders(2, chunk.len());
        let sql = format!(
            "UPDATE trades SET total_quantity = a.quantity, avg_price = a.avg_price, \
             first_executed_at = a.first_at, last_executed_at = a.last_at, \
             fills_count = a.fills, commission_total = a.commission, \
             fetched_at = $1, updated_at = $1 \
             FROM (SELECT t.id AS trade_id, COALESCE(SUM(e.quantity), 0) AS quantity, \
                   SUM(e.quantity * e.price) / NULLIF(SUM(e.quantity), 0) AS avg_price, \
                   MIN(e.executed_at) AS first_at, MAX(e.executed_at) AS last_at, \
                   COUNT(e.id) AS fills, SUM(e.commission) AS commission \
                   FROM trades t LEFT JOIN trade_executions e \
                   ON e.trade_id = t.id AND e.is_canonical \
                   WHERE t.id IN ({list}) GROUP BY t.id) AS a \
             WHERE trades.id = a.trade_id"
        );
        let mut values: Vec<SqlValue> = vec![now.into()];
        values.extend(chunk.iter().map(|id| SqlValue::from(*id)));
        txn.execute_raw(crate::db::statement(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// Inserts the missing parent trades of `parents` (one representative fill per
/// `(account_id, match_key)`) and returns the id of every one of them and the ids of those
/// it created. Only the groups whose trade existed already are looked up: the insert
/// returns the ids it made.
pub(super) async fn ensure_parents(
    txn: &impl ConnectionTrait,
    parents: &HashMap<(i32, String), &NormalizedExecution>,
    now: DateTime<Utc>,
    statistics: bool,
) -> Result<(ParentIds, HashSet<i32>)> {
    let backend = txn.get_database_backend();
    let trades: Vec<NewTrade> = parents
        .iter()
        .map(|((account_id, key), e)| NewTrade::of(*account_id, key, e, now))
        .collect();
    let inserted = records::insert_trades(txn, &trades).await?;
    if statistics {
        refresh_statistics(txn, "trades", inserted.len() as u64).await?;
    }
    let created: HashSet<i32> = inserted.iter().map(|t| t.id).collect();
    let mut trade_ids: ParentIds = inserted
        .into_iter()
        .map(|t| ((t.account_id, t.match_key), t.id))
        .collect();
    let existing: Vec<&(i32, String)> = parents
        .keys()
        .filter(|group| !trade_ids.contains_key(*group))
        .collect();
    for chunk in existing.chunks(CHUNK) {
        let mut values: Vec<SqlValue> = Vec::new();
        let mut pairs = Vec::new();
        for (account_id, key) in chunk {
            let n = values.len();
            pairs.push(format!("(${}, ${})", n + 1, n + 2));
            values.push((*account_id).into());
            values.push(key.clone().into());
        }
        // A row-value `IN (VALUES …)` (a hash join), not a chain of 500 `OR`s: measured
        // 85 ms → 7.5 ms per 500 keys on PostgreSQL.
        let found = TradeKey::find_by_statement(crate::db::statement(
            backend,
            format!(
                "SELECT id, account_id, match_key FROM trades WHERE (account_id, match_key) \
                 IN (VALUES {})",
                pairs.join(", ")
            ),
            values,
        ))
        .all(txn)
        .await?;
        for f in found {
            trade_ids.insert((f.account_id, f.match_key), f.id);
        }
    }
    Ok((trade_ids, created))
}

/// A trade first seen in a statement takes the gateway's order identity (perm id, its
/// `perm:` key, order and client ids) once the gateway reports one of its fills, unless
/// another trade of the account already holds that order; so a statement imported before
/// or after a sync ends in the same trade.
async fn adopt_order(
    txn: &impl ConnectionTrait,
    trade_id: i32,
    r: &NormalizedExecution,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = format!("perm:{}", r.perm_id);
    txn.execute_raw(crate::db::statement(
        txn.get_database_backend(),
        "UPDATE trades SET ib_perm_id = $1, match_key = $2, ib_order_id = $3, client_id = $4, \
         order_ref = COALESCE($5, order_ref), updated_at = $6 \
         WHERE id = $7 AND ib_perm_id IS NULL AND NOT EXISTS (SELECT 1 FROM trades o \
         WHERE o.account_id = trades.account_id AND o.id <> trades.id \
         AND (o.ib_perm_id = $1 OR o.match_key = $2))",
        [
            r.perm_id.into(),
            key.into(),
            r.order_id.into(),
            r.client_id.into(),
            r.order_ref.clone().into(),
            now.into(),
            trade_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Wall-clock time of each step of a run, logged at debug level.
struct Phases {
    last: std::time::Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Self {
        Phases {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }

    fn report(&self) -> String {
        self.laps
            .iter()
            .map(|(name, d)| format!("{name}={:.0}ms", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Rows inserted in one run from which the planner's statistics are refreshed.
const ANALYZE_AFTER_ROWS: u64 = 1_000;

/// After a large insert, refreshes PostgreSQL's statistics of `table` inside the run's
/// transaction. Without them the planner prices a 500-value `IN (…)` lookup at the default
/// selectivity, picks a sequential scan, and every later lookup of the run (and of the next
/// run, until autovacuum gets there) scans the whole table: measured 0.4 s per lookup on
/// 50,000 rows. SQLite's planner uses the unique indexes without statistics.
///
/// Only the columns the writer looks rows up by are sampled (the row count is refreshed
/// whatever the list): the raw records' JSON columns made a full `ANALYZE` of 50,000 fills
/// cost 280–320 ms against 100 ms for these. Autovacuum still analyzes every column later.
async fn refresh_statistics(txn: &impl ConnectionTrait, table: &str, inserted: u64) -> Result<()> {
    if inserted >= ANALYZE_AFTER_ROWS && txn.get_database_backend() == DbBackend::Postgres {
        let columns = match table {
            "trade_executions" => {
                "account_id, ib_exec_id, exec_id_base, exec_revision, trade_id, is_canonical, \
                 busted_by"
            }
            "trades" => "account_id, match_key, ib_perm_id, order_ref",
            other => return Err(Error::Internal(format!("no statistics list for {other}"))),
        };
        txn.execute_unprepared(&format!("ANALYZE {table} ({columns})"))
            .await?;
    }
    Ok(())
}

/// Inserts new executions `(row, account_id, trade_id)` (PostgreSQL: one `COPY`; SQLite: a
/// chunk per statement); every row starts canonical (the caller recomputes the flags of its
/// base).
pub async fn insert_executions(
    txn: &RunTxn,
    inserts: &[(&NormalizedExecution, i32, i32)],
    now: DateTime<Utc>,
) -> Result<()> {
    let fills: Vec<NewFill> = inserts
        .iter()
        .map(|(r, account_id, trade_id)| NewFill::of(r, *account_id, *trade_id, now))
        .collect();
    records::insert(txn, &fills).await
}

/// Stored executions (as `select` reads them) whose `column` is one of the given values,
/// per account.
async fn load_where<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    select: &str,
    column: &str,
    keys: HashMap<i32, Vec<String>>,
) -> Result<Vec<T>> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for (account_id, mut keys) in keys {
        // Each key once (a probe per key returns a row once per copy of its key), in index
        // order.
        keys.sort_unstable();
        keys.dedup();
        for chunk in keys.chunks(CHUNK) {
            let statement = lookup_statement(backend, select, column, account_id, chunk);
            out.extend(T::find_by_statement(statement).all(db).await?);
        }
    }
    Ok(out)
}

/// The statement that reads `select`'s rows of `account_id` whose `column` is one of `keys`.
/// PostgreSQL probes the index once per key, whatever its statistics say: with
/// `column IN (…)` a planner whose statistics predate an account's rows (they are refreshed
/// after a run's first batch only) expects one row for that account and filters the
/// account's whole index range instead (measured at 500,000 fills of an account: 518 ms and
/// 135,000 buffers per 500 keys, against 11 ms), and a first sync of 1,000,000 executions
/// spent 11 s in these lookups. Public for the plan test.
#[doc(hidden)]
pub fn lookup_statement(
    backend: DbBackend,
    select: &str,
    column: &str,
    account_id: i32,
    keys: &[String],
) -> sea_orm::Statement {
    let mut values: Vec<SqlValue> = vec![account_id.into()];
    let sql = if backend == DbBackend::Postgres {
        let keys = keys.iter().map(|k| SqlValue::from(k.clone())).collect();
        values.push(SqlValue::Array(
            sea_orm::sea_query::ArrayType::String,
            Some(Box::new(keys)),
        ));
        format!(
            "SELECT e.* FROM unnest($2::text[]) AS k(key) CROSS JOIN LATERAL \
             ({select} WHERE account_id = $1 AND {column} = k.key OFFSET 0) AS e"
        )
    } else {
        values.extend(keys.iter().map(|k| SqlValue::from(k.clone())));
        let list = placeholders(2, keys.len());
        format!("{select} WHERE account_id = $1 AND {column} IN ({list})")
    };
    crate::db::statement(backend, sql, values)
}

const REVISION_SELECT: &str = "SELECT id, trade_id, account_id, exec_id_base, exec_revision, \
     is_canonical, busted_by, created_at FROM trade_executions";

fn group(pairs: impl Iterator<Item = (i32, String)>) -> HashMap<i32, Vec<String>> {
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    for (account_id, key) in pairs {
        out.entry(account_id).or_default().push(key);
    }
    out
}
