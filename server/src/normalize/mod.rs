//! Normalisation of gateway execution records into [`NormalizedExecution`] rows: pure
//! functions, no I/O (normalisation never touches the database).
//!
//! One execution's path: `ExecutionData` + its `CommissionReport` (joined by exec id) →
//! [`normalize_batch`] → a row the sync upserts, or a [`SkippedExecution`] with the raw record
//! and the reason (empty exec id or account, unparseable time, unknown side, bad quantity or
//! price). The raw record keeps every broker field except the per-request `request_id`, so
//! re-fetching an unchanged execution yields an identical row.

pub mod exec_id;
pub mod fields;
pub mod raw;
pub mod time;

pub use exec_id::parse_exec_id;
pub use fields::{normalize_commission, normalize_side};
pub use raw::{raw_record, ContractTexts};
pub use time::{parse_execution_time, resolve_zone};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ibapi::orders::{CommissionReport, Execution, ExecutionData, Liquidity};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One fill as Fillbook stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedExecution {
    pub account_code: String,
    pub ib_exec_id: String,
    pub exec_id_base: String,
    pub exec_revision: i32,
    pub perm_id: i64,
    pub order_id: i64,
    pub order_ref: Option<String>,
    pub client_id: i32,
    pub executed_at: DateTime<Utc>,
    /// Always positive; the direction is `side`.
    pub quantity: f64,
    pub price: f64,
    /// `BUY` or `SELL`.
    pub side: String,
    pub symbol: Option<String>,
    pub sec_type: Option<String>,
    pub exchange: Option<String>,
    pub currency: Option<String>,
    pub liquidity: Option<String>,
    pub commission: Option<f64>,
    /// The gateway's record: execution fields, contract and matched commission report
    /// (`{}` for a fill seen only in a Flex statement).
    pub raw: RawRecord,
    /// What a Flex statement says of this fill, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex: Option<FlexFields>,
}

impl NormalizedExecution {
    /// A stable 64-bit digest of the whole record (XXH3 of its JSON form): two deliveries of
    /// a fill with the same digest carry the same fields, so the second changes nothing.
    /// Stored beside the fill; XXH3 is a fixed algorithm, so digests survive upgrades.
    pub fn digest(&self) -> i64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        // Writing into the hasher never fails, and a record always serialises.
        let _ = serde_json::to_writer(HashWriter(&mut hasher), self);
        hasher.digest() as i64
    }
}

/// Feeds serialised bytes straight into a hasher (no intermediate buffer).
struct HashWriter<'a>(&'a mut xxhash_rust::xxh3::Xxh3);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fill's Flex statement record: the statement's own ids and row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlexFields {
    pub trade_id: Option<String>,
    pub transaction_id: Option<String>,
    pub ib_order_id: Option<String>,
    pub brokerage_order_id: Option<String>,
    pub order_reference: Option<String>,
    /// The currency of the commission (it can differ from the trade's).
    pub commission_currency: Option<String>,
    /// The statement had only the trade date; the stored time is the start of that day.
    pub time_unknown: bool,
    /// The whole statement row as compact JSON text.
    pub raw: String,
}

/// A Flex statement's cancellation of an earlier fill (never a fill itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlexCancellation {
    pub account_code: String,
    /// `flex-txn:<transactionID>`, else `flex-trade:<tradeID>`, else the row's `ibExecID`.
    pub cancel_key: String,
    pub orig_trade_id: Option<String>,
    pub orig_transaction_id: Option<String>,
    pub orig_order_id: Option<String>,
    pub symbol: Option<String>,
    /// Positive, like a fill's.
    pub quantity: Option<f64>,
    pub price: Option<f64>,
    pub executed_at: Option<DateTime<Utc>>,
    pub raw: Value,
}

/// Whether a stored `raw` record is the gateway's (a fill seen only in a statement has `{}`).
pub fn seen_by_gateway(raw: &Value) -> bool {
    raw.as_object().is_some_and(|o| !o.is_empty())
}

/// A record's raw gateway fields as compact JSON text, written as it is into the `raw`
/// column and into the record's digest. It is the text serde_json writes for the tree it
/// was made from (keys in order), so digests match those computed from the tree. A tree
/// is built again only where a stored fill is merged with a record that differs from it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawRecord(Box<RawValue>);

impl RawRecord {
    /// The compact text of `tree`.
    pub fn of(tree: &Value) -> Self {
        // Serialising a tree of JSON values cannot fail.
        RawRecord(serde_json::value::to_raw_value(tree).expect("a JSON tree serialises"))
    }

    /// Text already written as JSON (see [`raw::raw_record_text`]).
    fn from_text(text: String) -> Self {
        // The writer joins serde_json's own output: the text is JSON.
        RawRecord(RawValue::from_string(text).expect("a raw record's text is JSON"))
    }

    /// `{}`: the raw record of a fill seen only in a statement.
    pub fn empty() -> Self {
        RawRecord::of(&json!({}))
    }

    /// The text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The text as embedded JSON (serialises without quoting).
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// The record as a tree.
    pub fn tree(&self) -> Value {
        // The text was written from a tree, so it parses.
        serde_json::from_str(self.text()).unwrap_or(Value::Null)
    }

    /// Whether this is the gateway's record (see [`seen_by_gateway`]).
    pub fn seen_by_gateway(&self) -> bool {
        self.text().starts_with('{') && self.text() != "{}"
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// A record that could not be normalised, kept for the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedExecution {
    pub raw: Value,
    pub reason: String,
}

/// The outcome of normalising one fetched batch.
#[derive(Debug, Clone, Default)]
pub struct NormalizedBatch {
    pub executions: Vec<NormalizedExecution>,
    pub skipped: Vec<SkippedExecution>,
}

/// Normalises every execution, joining commission reports by exec id (a real figure wins
/// over a placeholder; otherwise the last report wins). `gateway_zone` reads legacy zoneless
/// times.
pub fn normalize_batch(
    executions: &[ExecutionData],
    commissions: &[CommissionReport],
    gateway_zone: Tz,
) -> NormalizedBatch {
    let mut reports: HashMap<&str, &CommissionReport> = HashMap::new();
    for report in commissions {
        let keep_existing = reports
            .get(report.execution_id.as_str())
            .is_some_and(|old| keeps_report(old, report));
        if !keep_existing {
            reports.insert(report.execution_id.as_str(), report);
        }
    }
    let mut batch = NormalizedBatch::default();
    let mut normalizer = Normalizer::new(gateway_zone);
    for data in executions {
        let report = reports.get(data.execution.execution_id.as_str()).copied();
        match normalizer.execution(data, report) {
            Ok(row) => batch.executions.push(row),
            Err(skipped) => batch.skipped.push(skipped),
        }
    }
    batch
}

/// Whether an execution's commission report `old` stays when `new` arrives for the same
/// execution: a real figure wins over a placeholder; otherwise the last report wins.
pub fn keeps_report(old: &CommissionReport, new: &CommissionReport) -> bool {
    normalize_commission(old.commission).is_some() && normalize_commission(new.commission).is_none()
}

/// Normalises one execution with its commission report, if any.
pub fn normalize_execution(
    data: &ExecutionData,
    report: Option<&CommissionReport>,
    gateway_zone: Tz,
) -> Result<NormalizedExecution, SkippedExecution> {
    Normalizer::new(gateway_zone).execution(data, report)
}

/// Normalises the executions of one answer in turn: it reads legacy zoneless times in the
/// gateway's zone and writes each distinct contract's text once (see [`ContractTexts`]).
#[derive(Debug)]
pub struct Normalizer {
    zone: Tz,
    contracts: ContractTexts,
}

impl Normalizer {
    /// A normaliser reading zoneless times in `gateway_zone`.
    pub fn new(gateway_zone: Tz) -> Self {
        Normalizer {
            zone: gateway_zone,
            contracts: ContractTexts::default(),
        }
    }

    /// Normalises one execution with its commission report, if any.
    pub fn execution(
        &mut self,
        data: &ExecutionData,
        report: Option<&CommissionReport>,
    ) -> Result<NormalizedExecution, SkippedExecution> {
        let contract = self.contracts.text(&data.contract);
        let raw = raw::raw_record_text(data, report, contract);
        normalize_with_raw(data, report, self.zone, raw)
    }
}

fn normalize_with_raw(
    data: &ExecutionData,
    report: Option<&CommissionReport>,
    gateway_zone: Tz,
    raw: RawRecord,
) -> Result<NormalizedExecution, SkippedExecution> {
    let skip = |reason: String| SkippedExecution {
        raw: raw.tree(),
        reason,
    };
    let e = &data.execution;
    let ib_exec_id = e.execution_id.trim().to_string();
    if ib_exec_id.is_empty() {
        return Err(skip("empty execution id".into()));
    }
    let account_code = e.account_number.trim().to_string();
    if account_code.is_empty() {
        return Err(skip(format!("execution {ib_exec_id} has no account")));
    }
    let executed_at = parse_execution_time(&e.time, gateway_zone)
        .map_err(|why| skip(format!("execution {ib_exec_id}: {why}")))?;
    if !(e.shares.is_finite() && e.shares > 0.0) {
        return Err(skip(format!(
            "execution {ib_exec_id}: quantity {} is not a positive number",
            e.shares
        )));
    }
    if !(e.price.is_finite() && e.price >= 0.0) {
        return Err(skip(format!(
            "execution {ib_exec_id}: price {} is not a usable number",
            e.price
        )));
    }
    let side = normalize_side(e.side.as_str())
        .ok_or_else(|| skip(format!("execution {ib_exec_id}: unknown side")))?;
    let (exec_id_base, exec_revision) = parse_exec_id(&ib_exec_id);
    let contract = &data.contract;
    Ok(NormalizedExecution {
        account_code,
        exec_id_base,
        exec_revision,
        perm_id: e.perm_id,
        order_id: i64::from(e.order_id),
        order_ref: non_empty(&e.order_reference),
        client_id: e.client_id,
        executed_at,
        quantity: e.shares,
        price: e.price,
        side: side.to_string(),
        symbol: non_empty(&contract.symbol.0),
        sec_type: non_empty(&contract.security_type.to_string()),
        exchange: non_empty(&e.exchange).or_else(|| non_empty(&contract.exchange.0)),
        currency: non_empty(&contract.currency.0),
        liquidity: liquidity_code(&e.last_liquidity),
        commission: report.and_then(|r| normalize_commission(r.commission)),
        ib_exec_id,
        raw,
        flex: None,
    })
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `added`, `removed`, `routed_out`, `code:<n>` for codes this crate does not model; `None`
/// when the gateway sent none.
pub fn liquidity_code(l: &Liquidity) -> Option<String> {
    match l {
        Liquidity::None => None,
        Liquidity::AddedLiquidity => Some("added".into()),
        Liquidity::RemovedLiquidity => Some("removed".into()),
        Liquidity::LiquidityRoutedOut => Some("routed_out".into()),
        Liquidity::Unknown(code) => Some(format!("code:{code}")),
    }
}

/// The wire's number for a liquidity code (the inverse of `Liquidity::from`).
pub fn liquidity_number(l: &Liquidity) -> i32 {
    match l {
        Liquidity::None => 0,
        Liquidity::AddedLiquidity => 1,
        Liquidity::RemovedLiquidity => 2,
        Liquidity::LiquidityRoutedOut => 3,
        Liquidity::Unknown(code) => *code,
    }
}

/// Reads a stored `raw` record back into the broker's types: the inverse of [`raw_record`],
/// so a stored fill can be normalised again (`fillbook rebuild`).
pub fn parse_raw_record(raw: &Value) -> Result<(ExecutionData, Option<CommissionReport>), String> {
    let e = raw
        .get("execution")
        .filter(|e| e.is_object())
        .ok_or("the raw record has no `execution` object")?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let float = |v: &Value, k: &str| -> Result<f64, String> {
        match v.get(k) {
            Some(Value::Number(n)) => n.as_f64().ok_or(format!("`{k}` is not a number")),
            Some(Value::String(s)) => s.parse().map_err(|_| format!("`{k}` is not a number")),
            _ => Err(format!("`{k}` is missing")),
        }
    };
    let opt_float = |v: &Value, k: &str| match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => float(v, k).map(Some),
    };
    let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    let side = text(e, "side");
    let execution = Execution {
        order_id: int(e, "order_id") as i32,
        client_id: int(e, "client_id") as i32,
        execution_id: text(e, "execution_id"),
        time: text(e, "time"),
        account_number: text(e, "account_number"),
        exchange: text(e, "exchange"),
        side: side.parse().map_err(|_| format!("unknown side `{side}`"))?,
        shares: float(e, "shares")?,
        price: float(e, "price")?,
        perm_id: int(e, "perm_id"),
        liquidation: int(e, "liquidation") as i32,
        cumulative_quantity: float(e, "cumulative_quantity").unwrap_or(0.0),
        average_price: float(e, "average_price").unwrap_or(0.0),
        order_reference: text(e, "order_reference"),
        ev_rule: text(e, "ev_rule"),
        ev_multiplier: opt_float(e, "ev_multiplier")?,
        model_code: text(e, "model_code"),
        last_liquidity: Liquidity::from(int(e, "last_liquidity") as i32),
        pending_price_revision: e
            .get("pending_price_revision")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        submitter: text(e, "submitter"),
    };
    let contract = match raw.get("contract") {
        Some(c) if !c.is_null() => serde_json::from_value(c.clone())
            .map_err(|err| format!("the raw contract cannot be read: {err}"))?,
        _ => Default::default(),
    };
    let report = match raw.get("commission_report") {
        Some(r) if r.is_object() => Some(CommissionReport {
            execution_id: text(r, "execution_id"),
            commission: float(r, "commission")?,
            currency: text(r, "currency"),
            realized_pnl: opt_float(r, "realized_pnl")?,
            yields: opt_float(r, "yields")?,
            yield_redemption_date: text(r, "yield_redemption_date"),
        }),
        _ => None,
    };
    let data = ExecutionData {
        request_id: 0,
        contract,
        execution,
    };
    Ok((data, report))
}

/// A period one run covered for one account (the coverage map).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoveragePeriod {
    pub account_code: String,
    /// `sync` (a gateway window) or `flex` (a statement period).
    pub source: &'static str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// What recorded it, e.g. `job:12` or `import:3`.
    pub reference: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ibapi::contracts::Contract;
    use ibapi::orders::ExecutionSide;

    pub(crate) fn data(exec_id: &str, time: &str) -> ExecutionData {
        ExecutionData {
            request_id: 1_500_000_000,
            contract: Contract::stock("AAPL").build(),
            execution: Execution {
                order_id: 12,
                client_id: 100,
                execution_id: exec_id.into(),
                time: time.into(),
                account_number: "DU1234567".into(),
                exchange: "ISLAND".into(),
                side: ExecutionSide::Sold,
                shares: 100.0,
                price: 189.25,
                perm_id: 1_750_000_123,
                order_reference: "bot-7".into(),
                last_liquidity: Liquidity::AddedLiquidity,
                ..Default::default()
            },
        }
    }

    pub(crate) fn report(exec_id: &str, commission: f64) -> CommissionReport {
        CommissionReport {
            execution_id: exec_id.into(),
            commission,
            currency: "USD".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_full_record_normalises() {
        let d = data("0000e0d5.6576ba1b.01.02", "20231215 10:30:00 US/Eastern");
        let r = report("0000e0d5.6576ba1b.01.02", 1.05);
        let n = normalize_execution(&d, Some(&r), Tz::UTC).unwrap();
        assert_eq!(n.account_code, "DU1234567");
        assert_eq!(n.exec_id_base, "0000e0d5.6576ba1b.01");
        assert_eq!(n.exec_revision, 2);
        assert_eq!(n.side, "SELL");
        assert_eq!(n.symbol.as_deref(), Some("AAPL"));
        assert_eq!(n.sec_type.as_deref(), Some("STK"));
        assert_eq!(n.exchange.as_deref(), Some("ISLAND"));
        assert_eq!(n.currency.as_deref(), Some("USD"));
        assert_eq!(n.liquidity.as_deref(), Some("added"));
        assert_eq!(n.order_ref.as_deref(), Some("bot-7"));
        assert_eq!(n.commission, Some(1.05));
        assert_eq!(n.executed_at.to_rfc3339(), "2023-12-15T15:30:00+00:00");
        assert_eq!(n.raw.tree()["execution"]["side"], "SLD");
        assert_eq!(n.raw.tree()["commission_report"]["commission"], 1.05);
        assert_eq!(n.raw.tree()["contract"]["symbol"], "AAPL");
        assert!(n.raw.tree()["execution"].get("request_id").is_none());
        // The record serialises (and so digests) with its raw text exactly where a tree
        // would have written itself: digests stored before raw records were text still match.
        let tree = n.raw.tree();
        let written = serde_json::to_string(&n).unwrap();
        let expected = format!(r#""raw":{}"#, serde_json::to_string(&tree).unwrap());
        assert!(written.contains(&expected), "{written}");
        assert!(n.raw.seen_by_gateway() && !RawRecord::empty().seen_by_gateway());
        // The stored record reads back into the same fill.
        let (data, report) = parse_raw_record(&tree).unwrap();
        let again = normalize_execution(&data, report.as_ref(), chrono_tz::UTC).unwrap();
        assert_eq!(again, n);
    }

    #[test]
    fn malformed_records_are_skipped_with_reasons() {
        let cases = [
            (data("", "20231214-20:57:37"), "empty execution id"),
            (data("x.01", "yesterday"), "unparseable execution time"),
            (
                data("x.01", "20231215 10:30:00 Mars/Olympus"),
                "unknown time zone",
            ),
        ];
        for (d, why) in cases {
            let err = normalize_execution(&d, None, Tz::UTC).unwrap_err();
            assert!(err.reason.contains(why), "{} vs {why}", err.reason);
            assert_eq!(
                err.raw["execution"]["execution_id"],
                d.execution.execution_id
            );
        }
        let mut d = data("x.01", "20231214-20:57:37");
        d.execution.shares = 0.0;
        assert!(normalize_execution(&d, None, Tz::UTC).is_err());
        d.execution.shares = f64::NAN;
        assert!(normalize_execution(&d, None, Tz::UTC).is_err());
        let mut d = data("x.01", "20231214-20:57:37");
        d.execution.account_number = " ".into();
        assert!(normalize_execution(&d, None, Tz::UTC).is_err());
    }

    #[test]
    fn batch_joins_commissions_and_prefers_real_figures() {
        let execs = [
            data("a.01", "20231214-20:57:37"),
            data("b.01", "20231214-20:57:38"),
            data("", "20231214-20:57:38"),
        ];
        let reports = [
            report("a.01", 1.0),
            report("a.01", f64::MAX),
            report("b.01", -1.0),
        ];
        let batch = normalize_batch(&execs, &reports, Tz::UTC);
        assert_eq!(batch.executions.len(), 2);
        assert_eq!(batch.skipped.len(), 1);
        assert_eq!(batch.executions[0].commission, Some(1.0));
        assert_eq!(batch.executions[1].commission, None);
        assert_eq!(
            batch.executions[1].raw.tree()["commission_report"]["commission"],
            -1.0
        );
        let sentinel =
            normalize_execution(&execs[0], Some(&report("a.01", f64::MAX)), Tz::UTC).unwrap();
        assert_eq!(sentinel.commission, None);
        assert!(
            sentinel.raw.tree()["commission_report"]["commission"]
                .as_f64()
                .unwrap()
                > 1e300
        );
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn time_parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_execution_time(&s, Tz::UTC);
        }

        #[test]
        fn time_parser_never_panics_near_valid_shapes(
            d in "[0-9]{6,9}", sep in "[ -]{1,3}", t in "[0-9:]{5,9}", z in "[A-Za-z/_+0-9-]{0,20}"
        ) {
            let _ = parse_execution_time(&format!("{d}{sep}{t} {z}"), Tz::America__New_York);
        }

        #[test]
        fn exec_id_parser_never_panics_and_round_trips(s in "\\PC{0,40}") {
            let (base, rev) = parse_exec_id(&s);
            let default = rev == 0 && base == s;
            let split = rev >= 0 && s.len() > base.len() + 1 && s.starts_with(&base);
            prop_assert!(default || split);
        }

        #[test]
        fn commission_is_none_or_a_real_figure(v in proptest::num::f64::ANY) {
            if let Some(c) = normalize_commission(v) {
                prop_assert!((0.0..1e300).contains(&c));
            }
        }
    }
}
