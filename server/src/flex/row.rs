//! One Flex statement row → a ledger record: an execution ([`NormalizedExecution`] with its
//! [`FlexFields`]), a cancellation ([`FlexCancellation`]) or a skipped record with the reason.
//!
//! * The ledger key is the row's `ibExecID` — the same string the gateway reports as the
//!   execution id, so a fill seen live and in a statement is one row. A row whose
//!   `ibExecID` is empty or `N/A` (trades IB books itself, such as option assignments and
//!   expiries) is keyed `flex-txn:<transactionID>` (else `flex-trade:<tradeID>`): the prefix
//!   cannot occur in an execution id, and the id is the same on every re-import.
//! * Quantity is stored positive with the side from `buySell` (or the sign); the commission
//!   is stored as the ledger keeps it, positive for a cost (`ibCommission` is negative).
//! * A cancellation (`transactionType="TradeCancel"`, a `Ca` code in `notes`, or `buySell`
//!   like `SELL (Ca.)`) is not a fill: it names the fill it cancels through `origTradeID`,
//!   `origTransactionID` and `origOrderID`.

use super::time::{parse_flex_time, FlexTime};
use super::xml::FlexRow;
pub use crate::normalize::FlexCancellation;
use crate::normalize::{parse_exec_id, FlexFields, NormalizedExecution, SkippedExecution};
use chrono_tz::Tz;

/// What a row became.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Execution(Box<NormalizedExecution>),
    Cancellation(Box<FlexCancellation>),
    Skipped(SkippedExecution),
}

/// The execution id IB uses when it has none.
fn missing_id(v: Option<&str>) -> bool {
    v.is_none_or(|v| v.eq_ignore_ascii_case("N/A") || v == "--")
}

/// The row's own id where `ibExecID` is missing.
fn statement_key(row: &FlexRow) -> Option<String> {
    let usable = |k: &str| row.get(k).filter(|v| !missing_id(Some(v)));
    usable("transactionID")
        .map(|t| format!("flex-txn:{t}"))
        .or_else(|| usable("tradeID").map(|t| format!("flex-trade:{t}")))
}

fn is_cancellation(row: &FlexRow) -> bool {
    row.get("transactionType")
        .is_some_and(|t| t.eq_ignore_ascii_case("TradeCancel"))
        || row
            .get("notes")
            .is_some_and(|n| n.split([';', ',']).any(|c| c.trim() == "Ca"))
        || row.get("buySell").is_some_and(|b| b.contains("(Ca.)"))
}

fn number(row: &FlexRow, key: &str) -> Result<Option<f64>, String> {
    match row.get(key) {
        None => Ok(None),
        Some(v) => v
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{key} `{v}` is not a number")),
    }
}

/// Normalises one row of `statement_account`'s statement; zoneless times are read in `zone`.
pub fn normalize_row(row: &FlexRow, statement_account: &str, zone: Tz) -> RowOutcome {
    let raw = row.to_json();
    let skip = |reason: String| {
        RowOutcome::Skipped(SkippedExecution {
            raw: raw.clone(),
            reason: format!("statement line {}: {reason}", row.line),
        })
    };
    let account_code = row
        .get("accountId")
        .unwrap_or(statement_account)
        .trim()
        .to_string();
    if account_code.is_empty() || account_code == "-" {
        return skip("no account".into());
    }
    let exec_id = row.get("ibExecID").filter(|v| !missing_id(Some(v)));
    let Some(key) = exec_id.map(str::to_string).or_else(|| statement_key(row)) else {
        return skip("no ibExecID, transactionID or tradeID".into());
    };
    let time = parse_flex_time(
        row.get("dateTime"),
        row.get("tradeDate"),
        row.get("tradeTime"),
        zone,
    );
    let quantity = number(row, "quantity");
    let price = number(row, "tradePrice");
    if is_cancellation(row) {
        let cancel_key = statement_key(row).unwrap_or(key);
        return RowOutcome::Cancellation(Box::new(FlexCancellation {
            account_code,
            cancel_key,
            orig_trade_id: row.get("origTradeID").map(str::to_string),
            orig_transaction_id: row.get("origTransactionID").map(str::to_string),
            orig_order_id: row.get("origOrderID").map(str::to_string),
            symbol: row.get("symbol").map(str::to_string),
            quantity: quantity.ok().flatten().map(f64::abs),
            price: price.ok().flatten(),
            executed_at: time.ok().map(|t| t.instant()),
            raw,
        }));
    }
    let time: FlexTime = match time {
        Ok(t) => t,
        Err(e) => return skip(format!("{key}: {e}")),
    };
    let quantity = match quantity {
        Ok(Some(q)) if q != 0.0 => q,
        Ok(_) => return skip(format!("{key}: no quantity")),
        Err(e) => return skip(format!("{key}: {e}")),
    };
    let price = match price {
        Ok(Some(p)) if p >= 0.0 => p,
        Ok(Some(p)) => return skip(format!("{key}: tradePrice {p} is negative")),
        Ok(None) => return skip(format!("{key}: no tradePrice")),
        Err(e) => return skip(format!("{key}: {e}")),
    };
    let side = match row.get("buySell").map(|b| b.to_ascii_uppercase()) {
        Some(b) if b.starts_with("BUY") || b.starts_with("BOT") => "BUY",
        Some(b) if b.starts_with("SELL") || b.starts_with("SLD") => "SELL",
        Some(b) => return skip(format!("{key}: unknown buySell `{b}`")),
        None if quantity > 0.0 => "BUY",
        None => "SELL",
    };
    let commission = match number(row, "ibCommission") {
        // Flex writes a cost as a negative amount; the ledger stores it positive.
        Ok(c) => c.map(|c| if c == 0.0 { 0.0 } else { -c }),
        Err(e) => return skip(format!("{key}: {e}")),
    };
    let (exec_id_base, exec_revision) = match exec_id {
        Some(id) => parse_exec_id(id),
        None => (key.clone(), 0),
    };
    let own = |k: &str| {
        row.get(k)
            .filter(|v| !missing_id(Some(v)))
            .map(str::to_string)
    };
    let ib_order_id = own("ibOrderID");
    let order_reference = own("orderReference");
    let perm_id = 0;
    RowOutcome::Execution(Box::new(NormalizedExecution {
        account_code,
        ib_exec_id: key,
        exec_id_base,
        exec_revision,
        perm_id,
        order_id: ib_order_id
            .as_deref()
            .and_then(|o| o.parse().ok())
            .unwrap_or(0),
        order_ref: order_reference.clone(),
        client_id: 0,
        executed_at: time.instant(),
        quantity: quantity.abs(),
        price,
        side: side.into(),
        symbol: own("symbol"),
        sec_type: own("assetCategory"),
        exchange: own("exchange"),
        currency: own("currency"),
        liquidity: None,
        commission,
        raw: crate::normalize::RawRecord::empty(),
        flex: Some(FlexFields {
            trade_id: own("tradeID"),
            transaction_id: own("transactionID"),
            ib_order_id,
            brokerage_order_id: own("brokerageOrderID"),
            order_reference,
            commission_currency: own("ibCommissionCurrency"),
            time_unknown: time.time_unknown(),
            raw: raw.to_string(),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(attrs: &[(&str, &str)]) -> FlexRow {
        FlexRow {
            element: "Trade".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            line: 9,
        }
    }

    const NY: Tz = Tz::America__New_York;

    fn exec(attrs: &[(&str, &str)]) -> NormalizedExecution {
        match normalize_row(&row(attrs), "U1", NY) {
            RowOutcome::Execution(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    const BASE: [(&str, &str); 9] = [
        ("ibExecID", "0000e0d5.6543a4f2.01.01"),
        ("tradeID", "111"),
        ("transactionID", "222"),
        ("ibOrderID", "333"),
        ("dateTime", "20261117;093015"),
        ("quantity", "-100"),
        ("tradePrice", "187.5"),
        ("buySell", "SELL"),
        ("ibCommission", "-1.25"),
    ];

    #[test]
    fn an_execution_row_keeps_its_exec_id_and_statement_ids() {
        let mut attrs = BASE.to_vec();
        attrs.extend([
            ("ibCommissionCurrency", "EUR"),
            ("currency", "USD"),
            ("assetCategory", "STK"),
            ("symbol", "AAPL"),
            ("brokerageOrderID", "b-1"),
            ("orderReference", "bot-7"),
        ]);
        let e = exec(&attrs);
        assert_eq!(e.ib_exec_id, "0000e0d5.6543a4f2.01.01");
        assert_eq!(e.exec_id_base, "0000e0d5.6543a4f2.01");
        assert_eq!(e.exec_revision, 1);
        assert_eq!(e.account_code, "U1");
        assert_eq!(e.side, "SELL");
        assert_eq!(e.quantity, 100.0);
        assert_eq!(e.commission, Some(1.25), "a cost is stored positive");
        assert_eq!(e.executed_at.to_rfc3339(), "2026-11-17T14:30:15+00:00");
        assert_eq!(e.order_ref.as_deref(), Some("bot-7"));
        let f = e.flex.unwrap();
        assert_eq!(f.trade_id.as_deref(), Some("111"));
        assert_eq!(f.transaction_id.as_deref(), Some("222"));
        assert_eq!(f.ib_order_id.as_deref(), Some("333"));
        assert_eq!(f.brokerage_order_id.as_deref(), Some("b-1"));
        assert_eq!(f.commission_currency.as_deref(), Some("EUR"));
        assert!(f.raw.contains(r#""symbol":"AAPL""#), "{}", f.raw);
        assert!(!f.time_unknown);
        assert_eq!(e.raw.text(), "{}");
    }

    #[test]
    fn a_commission_rebate_keeps_its_sign() {
        let mut attrs = BASE.to_vec();
        attrs.retain(|(k, _)| *k != "ibCommission");
        attrs.push(("ibCommission", "0.35"));
        assert_eq!(exec(&attrs).commission, Some(-0.35));
        attrs.retain(|(k, _)| *k != "ibCommission");
        assert_eq!(exec(&attrs).commission, None);
    }

    #[test]
    fn rows_without_an_exec_id_use_the_statement_ids() {
        for missing in ["", "N/A"] {
            let mut attrs = BASE.to_vec();
            attrs[0] = ("ibExecID", missing);
            let e = exec(&attrs);
            assert_eq!(e.ib_exec_id, "flex-txn:222");
            assert_eq!(e.exec_id_base, "flex-txn:222");
            assert_eq!(e.exec_revision, 0);
        }
        let mut attrs = BASE.to_vec();
        attrs.retain(|(k, _)| !matches!(*k, "ibExecID" | "transactionID"));
        assert_eq!(exec(&attrs).ib_exec_id, "flex-trade:111");
        attrs.retain(|(k, _)| *k != "tradeID");
        let RowOutcome::Skipped(s) = normalize_row(&row(&attrs), "U1", NY) else {
            panic!()
        };
        assert!(s.reason.contains("line 9"), "{}", s.reason);
        assert_eq!(s.raw["quantity"], "-100");
    }

    #[test]
    fn a_rebooking_is_a_revision_of_the_same_base() {
        let mut attrs = BASE.to_vec();
        attrs[0] = ("ibExecID", "0000e0d5.6543a4f2.01.02");
        let e = exec(&attrs);
        assert_eq!(e.exec_id_base, "0000e0d5.6543a4f2.01");
        assert_eq!(e.exec_revision, 2);
    }

    #[test]
    fn cancellations_are_recognised_every_way_ib_marks_them() {
        let marks: [&[(&str, &str)]; 3] = [
            &[("transactionType", "TradeCancel")],
            &[("notes", "Ca;P")],
            &[("buySell", "BUY (Ca.)")],
        ];
        for mark in marks {
            let mut attrs = vec![
                ("ibExecID", ""),
                ("transactionID", "900"),
                ("tradeID", "111"),
                ("origTradeID", "111"),
                ("origTransactionID", "222"),
                ("dateTime", "20261118;100000"),
                ("quantity", "100"),
                ("tradePrice", "187.5"),
            ];
            attrs.extend_from_slice(mark);
            let RowOutcome::Cancellation(c) = normalize_row(&row(&attrs), "U1", NY) else {
                panic!("{mark:?}")
            };
            assert_eq!(c.cancel_key, "flex-txn:900");
            assert_eq!(c.orig_transaction_id.as_deref(), Some("222"));
            assert_eq!(c.orig_trade_id.as_deref(), Some("111"));
            assert_eq!(c.quantity, Some(100.0));
        }
    }

    #[test]
    fn bad_rows_are_skipped_with_a_reason() {
        for (k, v, why) in [
            ("dateTime", "2026-13-01", "date"),
            ("quantity", "abc", "quantity"),
            ("tradePrice", "-1", "negative"),
            ("buySell", "HOLD", "buySell"),
            ("quantity", "0", "no quantity"),
        ] {
            let mut attrs = BASE.to_vec();
            attrs.retain(|(key, _)| *key != k);
            attrs.push((k, v));
            let RowOutcome::Skipped(s) = normalize_row(&row(&attrs), "U1", NY) else {
                panic!("{k}={v}")
            };
            assert!(s.reason.contains(why), "{k}={v}: {}", s.reason);
        }
    }

    #[test]
    fn a_date_only_row_is_flagged() {
        let mut attrs = BASE.to_vec();
        attrs.retain(|(k, _)| *k != "dateTime");
        attrs.push(("tradeDate", "20261117"));
        let e = exec(&attrs);
        assert!(e.flex.unwrap().time_unknown);
        assert_eq!(e.executed_at.to_rfc3339(), "2026-11-17T05:00:00+00:00");
    }
}
