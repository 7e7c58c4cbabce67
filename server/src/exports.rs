//! CSV exports of the ledger for accounting: canonical fills or trades, per account and
//! period, as RFC 4180 CSV (one header row, CRLF line ends, UTC RFC 3339 times). Rows are
//! read in pages of [`PAGE`] by id and written as they are read, so an export of any size
//! runs in constant memory. Superseded and busted fills appear only with `all_revisions`,
//! with their state. The same stream serves the API, the CLI and the UI's download link.
//!
//! The pages are read with SQL of their own (a join to the account's code and, for trades,
//! a correlated subquery for the commission currency): this is the path `fillbook bench
//! export` measures at 1,000,000 fills.

use crate::db::entities::accounts;
use crate::db::statement;
use crate::error::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    Value,
};
use std::fmt::Write as _;

/// Rows read per round trip.
pub const PAGE: u64 = 5_000;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Fills,
    Trades,
}

impl ExportKind {
    /// `fills` or `trades`.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        match text {
            "fills" => Ok(ExportKind::Fills),
            "trades" => Ok(ExportKind::Trades),
            other => Err(Error::invalid(
                field,
                format!("export `fills` or `trades`, not `{other}`"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Fills => "fills",
            ExportKind::Trades => "trades",
        }
    }

    /// The header row's columns.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ExportKind::Fills => FILL_COLUMNS,
            ExportKind::Trades => TRADE_COLUMNS,
        }
    }
}

/// Columns of a fills export.
pub const FILL_COLUMNS: &[&str] = &[
    "exec_id",
    "account",
    "executed_at",
    "symbol",
    "side",
    "quantity",
    "price",
    "currency",
    "commission",
    "commission_currency",
    "exchange",
    "liquidity",
    "order_ref",
    "perm_id",
    "order_id",
    "trade_id",
    "state",
];

/// Columns of a trades export.
pub const TRADE_COLUMNS: &[&str] = &[
    "trade_id",
    "account",
    "symbol",
    "sec_type",
    "side",
    "status",
    "quantity",
    "avg_price",
    "currency",
    "first_executed_at",
    "last_executed_at",
    "fills",
    "commission",
    "commission_currency",
    "order_ref",
    "perm_id",
];

/// Which rows: an account (by code), a period (`since` inclusive, `until` exclusive; of a
/// fill's execution time, of a trade's first fill) and, for fills, every revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportFilter {
    pub account: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub all_revisions: bool,
}

/// An RFC 3339 time, or a date (`2026-11-20`) meaning its midnight UTC.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| Error::invalid(field, "an RFC 3339 time or a YYYY-MM-DD date"))
}

/// Refuses an unknown account and an inverted period, naming the field.
pub async fn validate(db: &impl ConnectionTrait, f: &ExportFilter) -> Result<()> {
    if let (Some(since), Some(until)) = (f.since, f.until) {
        if since >= until {
            return Err(Error::invalid("until", "`until` must be after `since`"));
        }
    }
    if let Some(code) = &f.account {
        let found = accounts::Entity::find()
            .filter(accounts::Column::Code.eq(code.as_str()))
            .one(db)
            .await?;
        if found.is_none() {
            return Err(Error::invalid("account", format!("no account `{code}`")));
        }
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct FillRow {
    id: i32,
    ib_exec_id: String,
    account: String,
    executed_at: DateTime<Utc>,
    symbol: Option<String>,
    side: Option<String>,
    quantity: f64,
    price: f64,
    currency: Option<String>,
    commission: Option<f64>,
    commission_currency: Option<String>,
    exchange: Option<String>,
    liquidity: Option<String>,
    order_ref: Option<String>,
    ib_perm_id: Option<i64>,
    ib_order_id: Option<i64>,
    trade_id: i32,
    is_canonical: bool,
    busted_by: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct TradeRow {
    id: i32,
    account: String,
    symbol: Option<String>,
    sec_type: Option<String>,
    side: Option<String>,
    status: String,
    total_quantity: f64,
    avg_price: Option<f64>,
    currency: Option<String>,
    first_executed_at: Option<DateTime<Utc>>,
    last_executed_at: Option<DateTime<Utc>>,
    fills: i64,
    commission: Option<f64>,
    commission_currency: Option<String>,
    order_ref: Option<String>,
    ib_perm_id: Option<i64>,
}

/// Streams the export into `out` a page at a time (memory stays flat whatever the size);
/// returns the number of data rows.
pub async fn write_csv(
    db: DatabaseConnection,
    kind: ExportKind,
    filter: ExportFilter,
    out: &mut dyn std::io::Write,
) -> Result<usize> {
    let failed = |e: std::io::Error| Error::Internal(format!("cannot write the export: {e}"));
    let mut stream = std::pin::pin!(csv_stream(db, kind, filter));
    let mut lines = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        lines += chunk.matches("\r\n").count();
        out.write_all(chunk.as_bytes()).map_err(failed)?;
    }
    out.flush().map_err(failed)?;
    Ok(lines.saturating_sub(1))
}

/// The export as CSV text chunks: the header row, then one chunk per page of rows. Fused:
/// a body that polls once more after the end (the response compression layer does) gets
/// `None` again.
pub fn csv_stream(
    db: DatabaseConnection,
    kind: ExportKind,
    filter: ExportFilter,
) -> impl Stream<Item = Result<String>> + Send + 'static {
    let header = Some(header_line(kind));
    futures::stream::unfold(
        (db, filter, header, 0i32, false),
        move |(db, filter, header, after, done)| async move {
            if let Some(h) = header {
                return Some((Ok(h), (db, filter, None, after, done)));
            }
            if done {
                return None;
            }
            match page(&db, kind, &filter, after).await {
                Ok((text, last, rows)) => {
                    let done = rows < PAGE as usize;
                    if rows == 0 {
                        return None;
                    }
                    Some((Ok(text), (db, filter, None, last, done)))
                }
                Err(e) => Some((Err(e), (db, filter, None, after, true))),
            }
        },
    )
    .fuse()
}

fn header_line(kind: ExportKind) -> String {
    let mut line = kind.columns().join(",");
    line.push_str("\r\n");
    line
}

/// One page after id `after`: its CSV text, its last id and its row count.
async fn page(
    db: &DatabaseConnection,
    kind: ExportKind,
    f: &ExportFilter,
    after: i32,
) -> Result<(String, i32, usize)> {
    let (alias, time) = match kind {
        ExportKind::Fills => ("e", "e.executed_at"),
        ExportKind::Trades => ("t", "t.first_executed_at"),
    };
    let mut values: Vec<Value> = vec![after.into()];
    let mut conditions = vec![format!("{alias}.id > $1")];
    let mut bind = |condition: &str, v: Value| {
        values.push(v);
        conditions.push(condition.replace('?', &format!("${}", values.len())));
    };
    if let Some(code) = &f.account {
        bind("a.code = ?", code.clone().into());
    }
    if let Some(since) = f.since {
        bind(&format!("{time} >= ?"), since.into());
    }
    if let Some(until) = f.until {
        bind(&format!("{time} < ?"), until.into());
    }
    let backend = db.get_database_backend();
    let mut out = String::with_capacity(PAGE as usize * 160);
    match kind {
        ExportKind::Fills => {
            if !f.all_revisions {
                conditions.push("e.is_canonical = TRUE".into());
            }
            let sql = format!(
                "SELECT e.id, e.ib_exec_id, a.code AS account, e.executed_at, e.symbol, e.side, \
                 e.quantity, e.price, e.currency, e.commission, e.commission_currency, \
                 e.exchange, e.liquidity, e.order_ref, e.ib_perm_id, e.ib_order_id, \
                 e.trade_id, e.is_canonical, e.busted_by \
                 FROM trade_executions e JOIN accounts a ON a.id = e.account_id \
                 WHERE {} ORDER BY e.id LIMIT {PAGE}",
                conditions.join(" AND ")
            );
            let rows = FillRow::find_by_statement(statement(backend, sql, values))
                .all(db)
                .await?;
            for r in &rows {
                let state = match (&r.busted_by, r.is_canonical) {
                    (Some(_), _) => "busted",
                    (None, true) => "canonical",
                    (None, false) => "superseded",
                };
                write_row(
                    &mut out,
                    &[
                        r.ib_exec_id.clone(),
                        r.account.clone(),
                        time_text(Some(r.executed_at)),
                        opt(&r.symbol),
                        opt(&r.side),
                        r.quantity.to_string(),
                        r.price.to_string(),
                        opt(&r.currency),
                        num(r.commission),
                        opt(&r.commission_currency.clone().or(r.currency.clone())),
                        opt(&r.exchange),
                        opt(&r.liquidity),
                        opt(&r.order_ref),
                        int(r.ib_perm_id),
                        int(r.ib_order_id),
                        r.trade_id.to_string(),
                        state.to_string(),
                    ],
                );
            }
            Ok((out, rows.last().map_or(after, |r| r.id), rows.len()))
        }
        ExportKind::Trades => {
            let sql = format!(
                "SELECT t.id, a.code AS account, t.symbol, t.sec_type, t.side, t.status, \
                 t.total_quantity, t.avg_price, t.currency, t.first_executed_at, \
                 t.last_executed_at, t.order_ref, t.ib_perm_id, \
                 t.fills_count AS fills, t.commission_total AS commission, \
                 (SELECT MIN(e.commission_currency) FROM trade_executions e \
                   WHERE e.trade_id = t.id AND e.is_canonical = TRUE) AS commission_currency \
                 FROM trades t JOIN accounts a ON a.id = t.account_id \
                 WHERE {} ORDER BY t.id LIMIT {PAGE}",
                conditions.join(" AND ")
            );
            let rows = TradeRow::find_by_statement(statement(backend, sql, values))
                .all(db)
                .await?;
            for r in &rows {
                write_row(
                    &mut out,
                    &[
                        r.id.to_string(),
                        r.account.clone(),
                        opt(&r.symbol),
                        opt(&r.sec_type),
                        opt(&r.side),
                        r.status.clone(),
                        r.total_quantity.to_string(),
                        num(r.avg_price),
                        opt(&r.currency),
                        time_text(r.first_executed_at),
                        time_text(r.last_executed_at),
                        r.fills.to_string(),
                        num(r.commission),
                        opt(&r.commission_currency.clone().or(r.currency.clone())),
                        opt(&r.order_ref),
                        int(r.ib_perm_id),
                    ],
                );
            }
            Ok((out, rows.last().map_or(after, |r| r.id), rows.len()))
        }
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn int(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn time_text(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Appends one RFC 4180 record: a field with a comma, a quote or a line break is quoted,
/// its quotes doubled; records end with CRLF.
pub fn write_row(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut out = String::new();
        write_row(
            &mut out,
            &[
                "plain".into(),
                "a,b".into(),
                "say \"hi\"".into(),
                "two\nlines".into(),
                String::new(),
            ],
        );
        assert_eq!(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn times_are_utc_rfc_3339() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T09:30:00-05:00").unwrap();
        assert_eq!(
            time_text(Some(t.with_timezone(&Utc))),
            "2026-11-20T14:30:00Z"
        );
        assert_eq!(time_text(None), "");
    }

    #[test]
    fn only_fills_or_trades_are_exported() {
        assert_eq!(
            ExportKind::parse("kind", "fills").unwrap(),
            ExportKind::Fills
        );
        let e = ExportKind::parse("kind", "orders").unwrap_err();
        assert!(e.to_string().contains("fills"), "{e}");
    }
}
