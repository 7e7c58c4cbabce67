//! The gateway's record of one fill as compact JSON text, written field by field.
//!
//! The text is exactly what serde_json writes for the record as a tree of values — keys in
//! sorted order at every level, non-finite numbers as their text — so records stored (and
//! digested) before it was written directly stay byte for byte the same. Only the contract,
//! a large record of its own that nearly every execution of an answer shares with others,
//! still goes through a tree: [`ContractTexts`] keeps the text of the contracts seen lately,
//! so a run writes each distinct contract's text once.

use super::{liquidity_number, RawRecord};
use ibapi::contracts::Contract;
use ibapi::orders::{CommissionReport, Execution, ExecutionData};
use serde::{Serialize, Serializer};

/// How many contracts a [`RecentContracts`] holds (an answer's executions share a few; a
/// slot number fits in one byte).
pub const RECENT_CONTRACTS: usize = 256;

/// The last [`RECENT_CONTRACTS`] distinct contracts seen, each with a value, in slots that
/// are filled in turn (the oldest is replaced): two holders fed the same new contracts in
/// the same order number them alike, which the sync's raw spool relies on.
#[derive(Debug)]
pub struct RecentContracts<V> {
    slots: Vec<(Contract, V)>,
    next: usize,
}

impl<V> Default for RecentContracts<V> {
    fn default() -> Self {
        RecentContracts {
            slots: Vec::new(),
            next: 0,
        }
    }
}

impl<V> RecentContracts<V> {
    /// The slot holding `contract`, if any.
    pub fn find(&self, contract: &Contract) -> Option<u8> {
        // The id first: the derived comparison of whole contracts is not cheap enough to
        // scan with (measured: a tenth of the sync's intake thread).
        self.slots
            .iter()
            .position(|(c, _)| c.contract_id == contract.contract_id && c == contract)
            .map(|i| i as u8)
    }

    /// What slot `slot` holds.
    pub fn get(&self, slot: u8) -> Option<&(Contract, V)> {
        self.slots.get(usize::from(slot))
    }

    /// Keeps `contract` with `value` in the next slot and returns that slot.
    pub fn remember(&mut self, contract: Contract, value: V) -> u8 {
        let slot = self.next;
        if self.slots.len() < RECENT_CONTRACTS {
            self.slots.push((contract, value));
        } else {
            self.slots[slot] = (contract, value);
        }
        self.next = (slot + 1) % RECENT_CONTRACTS;
        slot as u8
    }
}

/// The JSON text of the contracts normalised lately.
#[derive(Debug, Default)]
pub struct ContractTexts {
    recent: RecentContracts<String>,
}

impl ContractTexts {
    /// The text of `contract` as it appears in a raw record.
    pub fn text(&mut self, contract: &Contract) -> &str {
        let slot = match self.recent.find(contract) {
            Some(slot) => slot,
            None => self
                .recent
                .remember(contract.clone(), contract_text(contract)),
        };
        &self
            .recent
            .get(slot)
            .expect("a slot just found or filled")
            .1
    }
}

/// A contract as sorted-key JSON text (`null` for one that does not serialise).
pub fn contract_text(contract: &Contract) -> String {
    serde_json::to_value(contract).map_or_else(|_| "null".to_string(), |v| v.to_string())
}

/// The raw record `{commission_report, contract, execution}` of an execution, its report (if
/// any) and its contract's text (see [`contract_text`]).
pub fn raw_record_text(
    data: &ExecutionData,
    report: Option<&CommissionReport>,
    contract: &str,
) -> RawRecord {
    let mut text = String::with_capacity(contract.len() + 640);
    text.push_str(r#"{"commission_report":"#);
    push_json(&mut text, &report.map(ReportFields::of));
    text.push_str(r#","contract":"#);
    text.push_str(contract);
    text.push_str(r#","execution":"#);
    push_json(&mut text, &ExecutionFields::of(&data.execution));
    text.push('}');
    RawRecord::from_text(text)
}

/// The raw record of an execution, its contract's text written afresh.
pub fn raw_record(data: &ExecutionData, report: Option<&CommissionReport>) -> RawRecord {
    raw_record_text(data, report, &contract_text(&data.contract))
}

fn push_json(out: &mut String, value: &impl Serialize) {
    // Serialising these field structs into memory cannot fail.
    out.push_str(&serde_json::to_string(value).expect("record fields serialise"));
}

/// A number as a JSON tree holds it: finite as a number, otherwise its text (`NaN`, `inf`).
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

/// An execution's fields, declared in sorted key order (the order a tree writes them).
#[derive(Serialize)]
struct ExecutionFields<'a> {
    account_number: &'a str,
    average_price: Num,
    client_id: i32,
    cumulative_quantity: Num,
    ev_multiplier: Option<Num>,
    ev_rule: &'a str,
    exchange: &'a str,
    execution_id: &'a str,
    last_liquidity: i32,
    liquidation: i32,
    model_code: &'a str,
    order_id: i32,
    order_reference: &'a str,
    pending_price_revision: bool,
    perm_id: i64,
    price: Num,
    shares: Num,
    side: &'a str,
    submitter: &'a str,
    time: &'a str,
}

impl<'a> ExecutionFields<'a> {
    fn of(e: &'a Execution) -> Self {
        ExecutionFields {
            account_number: &e.account_number,
            average_price: Num(e.average_price),
            client_id: e.client_id,
            cumulative_quantity: Num(e.cumulative_quantity),
            ev_multiplier: e.ev_multiplier.map(Num),
            ev_rule: &e.ev_rule,
            exchange: &e.exchange,
            execution_id: &e.execution_id,
            last_liquidity: liquidity_number(&e.last_liquidity),
            liquidation: e.liquidation,
            model_code: &e.model_code,
            order_id: e.order_id,
            order_reference: &e.order_reference,
            pending_price_revision: e.pending_price_revision,
            perm_id: e.perm_id,
            price: Num(e.price),
            shares: Num(e.shares),
            side: e.side.as_str(),
            submitter: &e.submitter,
            time: &e.time,
        }
    }
}

/// A commission report's fields, in sorted key order.
#[derive(Serialize)]
struct ReportFields<'a> {
    commission: Num,
    currency: &'a str,
    execution_id: &'a str,
    realized_pnl: Option<Num>,
    yield_redemption_date: &'a str,
    yields: Option<Num>,
}

impl<'a> ReportFields<'a> {
    fn of(r: &'a CommissionReport) -> Self {
        ReportFields {
            commission: Num(r.commission),
            currency: &r.currency,
            execution_id: &r.execution_id,
            realized_pnl: r.realized_pnl.map(Num),
            yield_redemption_date: &r.yield_redemption_date,
            yields: r.yields.map(Num),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::parse_raw_record;
    use crate::normalize::tests::{data, report};
    use ibapi::orders::{ExecutionSide, Liquidity};
    use serde_json::Value;

    /// Two records as an earlier version (which built a tree and serialised it) stored them,
    /// read off a database it synced from the simulator.
    const STORED: [&str; 2] = [
        r#"{"commission_report":{"commission":1.0,"currency":"USD","execution_id":"00000001.000010ab.01.01","realized_pnl":null,"yield_redemption_date":"","yields":null},"contract":{"combo_legs":[],"combo_legs_description":"","contract_id":10027,"currency":"USD","delta_neutral_contract":null,"description":"","exchange":"SMART","include_expired":false,"issuer_id":"","last_trade_date":null,"last_trade_date_or_contract_month":"","local_symbol":"SYM27","multiplier":"","primary_exchange":"","right":null,"security_id":"","security_id_type":null,"security_type":"Stock","strike":0.0,"symbol":"SYM27","trading_class":""},"execution":{"account_number":"DU1000002","average_price":118.17,"client_id":100,"cumulative_quantity":90.0,"ev_multiplier":null,"ev_rule":"","exchange":"ISLAND","execution_id":"00000001.000010ab.01.01","last_liquidity":1,"liquidation":0,"model_code":"","order_id":4268,"order_reference":"","pending_price_revision":false,"perm_id":1000004267,"price":118.17,"shares":90.0,"side":"BOT","submitter":"","time":"20261120  09:55:58"}}"#,
        r#"{"commission_report":{"commission":1.0,"currency":"USD","execution_id":"00000001.00001f12.01.01","realized_pnl":null,"yield_redemption_date":"","yields":null},"contract":{"combo_legs":[],"combo_legs_description":"","contract_id":10034,"currency":"USD","delta_neutral_contract":null,"description":"","exchange":"SMART","include_expired":false,"issuer_id":"","last_trade_date":null,"last_trade_date_or_contract_month":"","local_symbol":"SYM34","multiplier":"","primary_exchange":"","right":null,"security_id":"","security_id_type":null,"security_type":"Stock","strike":0.0,"symbol":"SYM34","trading_class":""},"execution":{"account_number":"DU1000001","average_price":117.09,"client_id":100,"cumulative_quantity":80.0,"ev_multiplier":null,"ev_rule":"","exchange":"ISLAND","execution_id":"00000001.00001f12.01.01","last_liquidity":1,"liquidation":0,"model_code":"","order_id":2955,"order_reference":"","pending_price_revision":false,"perm_id":1000002954,"price":117.09,"shares":80.0,"side":"SLD","submitter":"","time":"20261118-20:27:35"}}"#,
    ];

    #[test]
    fn records_stored_by_the_tree_writer_are_written_byte_for_byte() {
        let mut contracts = ContractTexts::default();
        for stored in STORED {
            let tree: Value = serde_json::from_str(stored).unwrap();
            let (data, report) = parse_raw_record(&tree).unwrap();
            let text = contracts.text(&data.contract).to_string();
            assert_eq!(
                raw_record_text(&data, report.as_ref(), &text).text(),
                stored
            );
            assert_eq!(raw_record(&data, report.as_ref()).text(), stored);
        }
    }

    /// Every value the wire can carry — non-finite numbers, missing optional numbers and
    /// reports, text needing escapes — gives the canonical text of its own tree (sorted keys,
    /// compact) and reads back into the same broker fields.
    #[test]
    fn every_kind_of_value_writes_canonical_text_that_reads_back() {
        for i in 0..8usize {
            let mut d = data(&format!("e\"{i}\\.01"), "20261120 14:30:00 Europe/Zürich");
            d.request_id = 0;
            d.execution.side = if i.is_multiple_of(2) {
                ExecutionSide::Sold
            } else {
                ExecutionSide::Bought
            };
            d.execution.shares = [f64::NAN, f64::INFINITY, -0.0, 1e-300][i % 4];
            d.execution.ev_multiplier = i.is_multiple_of(3).then_some(2.5);
            d.execution.last_liquidity = Liquidity::from(i as i32);
            d.execution.submitter = "ü\n\t".repeat(i % 3);
            let mut r = report(&d.execution.execution_id, [1.5, f64::MAX, f64::NAN][i % 3]);
            r.realized_pnl = i.is_multiple_of(2).then_some(f64::NEG_INFINITY);
            r.yields = (i % 4 == 1).then_some(0.25);
            let report = (i != 5).then_some(r);
            let text = raw_record(&d, report.as_ref());
            let tree = text.tree();
            assert_eq!(
                text.text(),
                tree.to_string(),
                "not canonical: {}",
                text.text()
            );
            let (back, back_report) = parse_raw_record(&tree).unwrap();
            // NaN is not equal to itself: compare the texts of what was read back.
            assert_eq!(raw_record(&back, back_report.as_ref()), text);
            assert_eq!(back.execution.execution_id, d.execution.execution_id);
            assert_eq!(back.execution.submitter, d.execution.submitter);
            assert_eq!(back_report.is_some(), report.is_some());
        }
    }

    #[test]
    fn contract_texts_follow_the_contracts_and_stay_bounded() {
        let mut texts = ContractTexts::default();
        let a = data("a.01", "20261120 14:30:00").contract;
        let mut b = a.clone();
        b.symbol = "MSFT".into();
        assert_eq!(texts.text(&a), contract_text(&a));
        assert_eq!(texts.text(&b), contract_text(&b));
        assert_eq!(texts.text(&a), contract_text(&a));
        assert!(texts.text(&b).contains(r#""symbol":"MSFT""#));
        for n in 0..(RECENT_CONTRACTS as i32 + 40) {
            let mut c = a.clone();
            c.contract_id = n;
            assert_eq!(texts.text(&c), contract_text(&c));
        }
        assert_eq!(texts.recent.slots.len(), RECENT_CONTRACTS);
        // The oldest were replaced in turn; the latest are still found.
        assert!(texts.recent.find(&a).is_none());
        let mut last = a.clone();
        last.contract_id = RECENT_CONTRACTS as i32 + 39;
        assert!(texts.recent.find(&last).is_some());
    }
}
