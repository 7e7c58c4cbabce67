//! Fill and trade rows written a chunk at a time from one record type per table and one
//! column list, on both databases: PostgreSQL binds a chunk as one text array per column,
//! expanded by `unnest` and cast to the table's column types (the server parses each value
//! once, as `COPY` would); SQLite binds each record's values in the order of the same column
//! list. Both read the values off the same serialised record — nothing lines positional
//! values up with a column list by hand. A chunk of changed fills is one `UPDATE … FROM`,
//! not one round trip per fill.

use super::bind;
use super::merge::{Digests, Mutable};
use super::totals::Totals;
use crate::db::run::RunTxn;
use crate::error::{Error, Result};
use crate::normalize::NormalizedExecution;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryResult, Value as SqlValue};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Records per PostgreSQL statement (one array per column: its size, not a parameter count,
/// is the bound).
const CHUNK: usize = 5_000;

/// The columns a later record of a stored fill may change: [`FillValues`]' fields.
const VALUE_COLUMNS: &[&str] = &[
    "ib_perm_id",
    "ib_order_id",
    "client_id",
    "order_ref",
    "executed_at",
    "quantity",
    "price",
    "exchange",
    "liquidity",
    "commission",
    "raw",
    "flex_trade_id",
    "flex_transaction_id",
    "flex_ib_order_id",
    "flex_brokerage_order_id",
    "flex_order_reference",
    "flex_raw",
    "commission_currency",
    "time_unknown",
    "fetched_at",
    "updated_at",
    "gateway_hash",
    "statement_hash",
];

/// The columns only a new fill sets: [`NewFill`]'s own fields.
const IDENTITY_COLUMNS: &[&str] = &[
    "trade_id",
    "account_id",
    "ib_exec_id",
    "exec_id_base",
    "exec_revision",
    "side",
    "symbol",
    "currency",
    "is_canonical",
    "created_at",
];

/// A time as the SQLite driver stores it (RFC 3339 with `+00:00`): text comparisons and
/// ordering must see one format whichever path wrote the row. PostgreSQL parses it too.
fn stamp<S: Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

/// A JSON column's value: text already encoded (a statement row) or a tree.
#[derive(Serialize)]
#[serde(untagged)]
enum Json<'a> {
    Text(&'a RawValue),
    Tree(&'a Value),
}

/// The changeable columns of one fill.
#[derive(Serialize)]
pub(super) struct FillValues<'a> {
    ib_perm_id: Option<i64>,
    ib_order_id: Option<i64>,
    client_id: Option<i32>,
    order_ref: Option<&'a str>,
    #[serde(serialize_with = "stamp")]
    executed_at: DateTime<Utc>,
    quantity: f64,
    price: f64,
    exchange: Option<&'a str>,
    liquidity: Option<&'a str>,
    commission: Option<f64>,
    raw: Json<'a>,
    flex_trade_id: Option<&'a str>,
    flex_transaction_id: Option<&'a str>,
    flex_ib_order_id: Option<&'a str>,
    flex_brokerage_order_id: Option<&'a str>,
    flex_order_reference: Option<&'a str>,
    flex_raw: Option<Json<'a>>,
    commission_currency: Option<&'a str>,
    time_unknown: bool,
    #[serde(serialize_with = "stamp")]
    fetched_at: DateTime<Utc>,
    #[serde(serialize_with = "stamp")]
    updated_at: DateTime<Utc>,
    gateway_hash: Option<i64>,
    statement_hash: Option<i64>,
}

impl<'a> FillValues<'a> {
    /// A stored fill's values after a merge.
    pub(super) fn merged(m: &'a Mutable, digests: Digests, now: DateTime<Utc>) -> Self {
        let s = &m.statement;
        FillValues {
            ib_perm_id: m.perm_id,
            ib_order_id: m.order_id,
            client_id: m.client_id,
            order_ref: m.order_ref.as_deref(),
            executed_at: m.executed_at,
            quantity: m.quantity,
            price: m.price,
            exchange: m.exchange.as_deref(),
            liquidity: m.liquidity.as_deref(),
            commission: m.commission,
            raw: Json::Tree(&m.raw),
            flex_trade_id: s.trade_id.as_deref(),
            flex_transaction_id: s.transaction_id.as_deref(),
            flex_ib_order_id: s.ib_order_id.as_deref(),
            flex_brokerage_order_id: s.brokerage_order_id.as_deref(),
            flex_order_reference: s.order_reference.as_deref(),
            flex_raw: s.raw.as_ref().map(Json::Tree),
            commission_currency: s.commission_currency.as_deref(),
            time_unknown: m.time_unknown,
            fetched_at: now,
            updated_at: now,
            gateway_hash: digests.gateway,
            statement_hash: digests.statement,
        }
    }

    /// A new fill's values, straight from its record.
    fn of_record(r: &'a NormalizedExecution, now: DateTime<Utc>) -> Self {
        let flex = r.flex.as_ref();
        let text = |f: fn(&crate::normalize::FlexFields) -> &Option<String>| {
            flex.and_then(|x| f(x).as_deref())
        };
        let digests = Digests::after(Digests::default(), r, r.digest());
        FillValues {
            ib_perm_id: Some(r.perm_id),
            ib_order_id: Some(r.order_id),
            client_id: Some(r.client_id),
            order_ref: r.order_ref.as_deref(),
            executed_at: r.executed_at,
            quantity: r.quantity,
            price: r.price,
            exchange: r.exchange.as_deref(),
            liquidity: r.liquidity.as_deref(),
            commission: r.commission,
            raw: Json::Text(r.raw.as_raw()),
            flex_trade_id: text(|f| &f.trade_id),
            flex_transaction_id: text(|f| &f.transaction_id),
            flex_ib_order_id: text(|f| &f.ib_order_id),
            flex_brokerage_order_id: text(|f| &f.brokerage_order_id),
            flex_order_reference: text(|f| &f.order_reference),
            // A statement row is compact JSON text already: embedded as it is.
            flex_raw: flex
                .and_then(|f| serde_json::from_str::<&RawValue>(&f.raw).ok())
                .map(Json::Text),
            commission_currency: text(|f| &f.commission_currency),
            time_unknown: flex.is_some_and(|f| f.time_unknown),
            fetched_at: now,
            updated_at: now,
            gateway_hash: digests.gateway,
            statement_hash: digests.statement,
        }
    }
}

/// A fill to insert.
#[derive(Serialize)]
pub(super) struct NewFill<'a> {
    trade_id: i32,
    account_id: i32,
    ib_exec_id: &'a str,
    exec_id_base: &'a str,
    exec_revision: i32,
    side: &'a str,
    symbol: Option<&'a str>,
    currency: Option<&'a str>,
    is_canonical: bool,
    #[serde(serialize_with = "stamp")]
    created_at: DateTime<Utc>,
    #[serde(flatten)]
    values: FillValues<'a>,
}

impl<'a> NewFill<'a> {
    /// `r` as a new canonical fill of `trade_id`.
    pub(super) fn of(
        r: &'a NormalizedExecution,
        account_id: i32,
        trade_id: i32,
        now: DateTime<Utc>,
    ) -> Self {
        NewFill {
            trade_id,
            account_id,
            ib_exec_id: &r.ib_exec_id,
            exec_id_base: &r.exec_id_base,
            exec_revision: r.exec_revision,
            side: &r.side,
            symbol: r.symbol.as_deref(),
            currency: r.currency.as_deref(),
            is_canonical: true,
            created_at: now,
            values: FillValues::of_record(r, now),
        }
    }
}

/// New values of the stored fill `id`.
#[derive(Serialize)]
pub(super) struct FillChange<'a> {
    pub(super) id: i32,
    #[serde(flatten)]
    pub(super) values: FillValues<'a>,
}

/// Runs `template` once per chunk of `rows`, its `{records}` replaced by a query that
/// yields the chunk as a table of `columns` (typed as the columns of `table`); returns the
/// rows the statements return (a `RETURNING` clause's). PostgreSQL binds one text array per
/// column (see [`columnar`]); SQLite binds each record's values in column order (measured:
/// its `json_each` path, which must parse every record's text again for each column it
/// extracts, took 3× as long).
async fn per_chunk<T: Serialize>(
    txn: &impl ConnectionTrait,
    template: &str,
    table: &str,
    columns: &[&str],
    rows: &[T],
) -> Result<Vec<QueryResult>> {
    let backend = txn.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let types = if pg {
        column_types(txn, table, columns).await?
    } else {
        Vec::new()
    };
    let size = if pg { CHUNK } else { SQLITE_CHUNK };
    let started = Instant::now();
    let mut encoding = Duration::ZERO;
    let mut encode = |chunk: Option<&[T]>| -> Result<Option<(String, Vec<SqlValue>)>> {
        let Some(chunk) = chunk else { return Ok(None) };
        let at = Instant::now();
        let encoded = if pg {
            columnar(columns, &types, chunk)?
        } else {
            bound(columns, chunk)?
        };
        encoding += at.elapsed();
        Ok(Some(encoded))
    };
    let mut chunks = rows.chunks(size);
    let mut next = encode(chunks.next())?;
    let mut returned = Vec::new();
    // The next chunk is encoded while the database runs this one's statement (the driver
    // sends a statement on its first poll), so encoding and writing overlap.
    while let Some((source, values)) = next.take() {
        let write = txn.query_all_raw(crate::db::statement(
            backend,
            template.replace("{records}", &source),
            values,
        ));
        let (written, encoded) =
            futures::future::join(write, async { encode(chunks.next()) }).await;
        returned.extend(written?);
        next = encoded?;
    }
    tracing::trace!(
        table,
        rows = rows.len(),
        encoding_ms = encoding.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "records written"
    );
    Ok(returned)
}

/// Records per SQLite statement (33 values each, well under its 32,766 bound values).
const SQLITE_CHUNK: usize = 500;

/// `record`'s fields in the order of `columns`: a JSON object or array as its text, a field
/// the record lacks as NULL.
fn ordered<T: Serialize>(columns: &[&str], record: &T) -> Result<Vec<SqlValue>> {
    let mut fields =
        bind::fields(record).map_err(|e| Error::Internal(format!("cannot encode records: {e}")))?;
    Ok(columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            // The fields come in the columns' order; a search is the fallback.
            let at = if fields.get(i).is_some_and(|(name, _)| name == column) {
                Some(i)
            } else {
                fields.iter().position(|(name, _)| name == column)
            };
            at.map(|at| std::mem::replace(&mut fields[at].1, SqlValue::String(None)))
                .unwrap_or(SqlValue::String(None))
        })
        .collect())
}

/// `SELECT column1 AS <first>, … FROM (VALUES ($1, …), …)` and the values it binds: each
/// record's fields in the order of `columns`.
fn bound<T: Serialize>(columns: &[&str], chunk: &[T]) -> Result<(String, Vec<SqlValue>)> {
    let mut values = Vec::with_capacity(columns.len() * chunk.len());
    let mut tuples = Vec::with_capacity(chunk.len());
    for record in chunk {
        let first = values.len() + 1;
        let list: Vec<String> = (first..first + columns.len())
            .map(|i| format!("${i}"))
            .collect();
        tuples.push(format!("({})", list.join(", ")));
        values.extend(ordered(columns, record)?);
    }
    let names: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("column{} AS {c}", i + 1))
        .collect();
    let source = format!(
        "SELECT {} FROM (VALUES {})",
        names.join(", "),
        tuples.join(", ")
    );
    Ok((source, values))
}

/// The PostgreSQL type of each of `columns` of `table` (as `format_type` spells it), in
/// the order of `columns`.
async fn column_types(
    txn: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
) -> Result<Vec<String>> {
    #[derive(FromQueryResult)]
    struct Column {
        name: String,
        ty: String,
    }
    let found = Column::find_by_statement(crate::db::statement(
        DbBackend::Postgres,
        "SELECT attname::text AS name, format_type(atttypid, atttypmod) AS ty FROM pg_attribute \
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        [SqlValue::from(table)],
    ))
    .all(txn)
    .await?;
    columns
        .iter()
        .map(|c| {
            found
                .iter()
                .find(|f| f.name == *c)
                .map(|f| f.ty.clone())
                .ok_or_else(|| Error::Internal(format!("table {table} has no column {c}")))
        })
        .collect()
}

/// A chunk as one query over `unnest` of one text array per column, each value cast to its
/// column's type, and the arrays it binds. Text arrays travel in PostgreSQL's binary form,
/// so the server parses each value once with its type's input function, as `COPY` does
/// (measured: a JSON document through `json_populate_recordset` costs 2–3× as much,
/// because the document is lexed as a whole and each JSON column's text is parsed again).
/// The driver's arrays cannot hold NULL elements, so a column that is NULL in some records
/// of the chunk also binds a boolean array saying which; a column NULL in every record
/// binds nothing.
fn columnar<T: Serialize>(
    columns: &[&str],
    types: &[String],
    chunk: &[T],
) -> Result<(String, Vec<SqlValue>)> {
    let mut texts: Vec<Vec<Option<String>>> = columns
        .iter()
        .map(|_| Vec::with_capacity(chunk.len()))
        .collect();
    for record in chunk {
        for (column, value) in texts.iter_mut().zip(ordered(columns, record)?) {
            column.push(as_text(value)?);
        }
    }
    let (mut values, mut arrays, mut select) = (Vec::new(), Vec::new(), Vec::new());
    let mut array = |values: &mut Vec<SqlValue>, ty: ArrayType, items: Vec<SqlValue>| {
        values.push(SqlValue::Array(ty.clone(), Some(Box::new(items))));
        let name = format!("a{}", values.len());
        arrays.push((format!("${}", values.len()), name.clone(), ty));
        name
    };
    for ((column, ty), texts) in columns.iter().zip(types).zip(texts) {
        let nulls: Vec<bool> = texts.iter().map(Option::is_none).collect();
        if nulls.iter().all(|n| *n) {
            select.push(format!("NULL::{ty} AS {column}"));
            continue;
        }
        let items = texts
            .into_iter()
            .map(|t| SqlValue::from(t.unwrap_or_default()))
            .collect();
        let text = array(&mut values, ArrayType::String, items);
        if nulls.iter().any(|n| *n) {
            let items = nulls.into_iter().map(SqlValue::from).collect();
            let null = array(&mut values, ArrayType::Bool, items);
            select.push(format!(
                "CASE WHEN u.{null} THEN NULL ELSE u.{text}::{ty} END AS {column}"
            ));
        } else {
            select.push(format!("u.{text}::{ty} AS {column}"));
        }
    }
    let bound: Vec<String> = arrays
        .iter()
        .map(|(param, _, ty)| {
            let sql_ty = if matches!(ty, ArrayType::Bool) {
                "boolean"
            } else {
                "text"
            };
            format!("{param}::{sql_ty}[]")
        })
        .collect();
    let names: Vec<&str> = arrays.iter().map(|(_, name, _)| name.as_str()).collect();
    let source = format!(
        "SELECT {} FROM unnest({}) AS u({})",
        select.join(", "),
        bound.join(", "),
        names.join(", ")
    );
    Ok((source, values))
}

/// One bound value as PostgreSQL's text input for it (NULL as `None`). A number that is
/// not finite is NULL, as JSON writes it.
fn as_text(value: SqlValue) -> Result<Option<String>> {
    Ok(match value {
        SqlValue::String(s) => s,
        SqlValue::Bool(b) => b.map(|b| b.to_string()),
        SqlValue::BigInt(i) => i.map(|i| i.to_string()),
        SqlValue::Int(i) => i.map(|i| i.to_string()),
        SqlValue::Double(f) => f.filter(|f| f.is_finite()).map(|f| f.to_string()),
        other => {
            return Err(Error::Internal(format!(
                "cannot write {other:?} as a column value"
            )))
        }
    })
}

/// Inserts `fills`: on PostgreSQL with one `COPY` inside the run's transaction (the bulk
/// path, which writes rows page by page instead of one by one), elsewhere a chunk per
/// statement.
pub(super) async fn insert(txn: &RunTxn, fills: &[NewFill<'_>]) -> Result<()> {
    let columns: Vec<&str> = IDENTITY_COLUMNS
        .iter()
        .chain(VALUE_COLUMNS)
        .copied()
        .collect();
    if txn.can_copy() {
        if fills.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let sql = format!(
            "COPY trade_executions ({}) FROM STDIN (FORMAT csv)",
            columns.join(", ")
        );
        let mut chunks = fills.chunks(COPY_CHUNK);
        let loaded = txn
            .copy_in(&sql, || chunks.next().map(|c| csv(&columns, c)).transpose())
            .await?;
        if loaded != fills.len() as u64 {
            return Err(Error::Internal(format!(
                "COPY loaded {loaded} of {} fills",
                fills.len()
            )));
        }
        tracing::trace!(
            table = "trade_executions",
            rows = fills.len(),
            total_ms = started.elapsed().as_millis() as u64,
            "records copied"
        );
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO trade_executions ({}) {{records}}",
        columns.join(", ")
    );
    per_chunk(txn, &sql, "trade_executions", &columns, fills)
        .await
        .map(|_| ())
}

/// Records per piece of `COPY` data.
const COPY_CHUNK: usize = 500;

/// `records` as `COPY … (FORMAT csv)` input with the fields in the order of `columns`:
/// NULL as an empty field, every other value quoted (so an empty text stays empty text),
/// each in the text form PostgreSQL's input function for its column reads.
fn csv<T: Serialize>(columns: &[&str], records: &[T]) -> Result<Vec<u8>> {
    let mut out = String::with_capacity(records.len() * 1_400);
    for record in records {
        for (i, value) in ordered(columns, record)?.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if let Some(text) = as_text(value)? {
                out.push('"');
                for part in text.split_inclusive('"') {
                    out.push_str(part);
                    if part.ends_with('"') {
                        out.push('"');
                    }
                }
                out.push('"');
            }
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// Writes the new values of each fill in `changes`.
pub(super) async fn update(txn: &impl ConnectionTrait, changes: &[FillChange<'_>]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = std::iter::once("id")
        .chain(VALUE_COLUMNS.iter().copied())
        .collect();
    let set: Vec<String> = VALUE_COLUMNS
        .iter()
        .map(|c| format!("{c} = x.{c}"))
        .collect();
    let sql = format!(
        "UPDATE trade_executions SET {} FROM ({{records}}) AS x WHERE trade_executions.id = x.id",
        set.join(", ")
    );
    per_chunk(txn, &sql, "trade_executions", &columns, changes)
        .await
        .map(|_| ())
}

/// The columns of a new parent trade: [`NewTrade`]'s fields.
const TRADE_COLUMNS: &[&str] = &[
    "account_id",
    "match_key",
    "ib_perm_id",
    "order_ref",
    "ib_order_id",
    "client_id",
    "symbol",
    "sec_type",
    "side",
    "exchange",
    "currency",
    "status",
    "fetched_at",
    "created_at",
    "updated_at",
];

/// A parent trade to create for the first fill of its group.
#[derive(Serialize)]
pub(super) struct NewTrade<'a> {
    account_id: i32,
    match_key: &'a str,
    ib_perm_id: Option<i64>,
    order_ref: Option<&'a str>,
    ib_order_id: Option<i64>,
    client_id: Option<i32>,
    symbol: Option<&'a str>,
    sec_type: Option<&'a str>,
    side: Option<&'a str>,
    exchange: Option<&'a str>,
    currency: Option<&'a str>,
    status: &'static str,
    #[serde(serialize_with = "stamp")]
    fetched_at: DateTime<Utc>,
    #[serde(serialize_with = "stamp")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "stamp")]
    updated_at: DateTime<Utc>,
}

impl<'a> NewTrade<'a> {
    /// The parent of group `match_key` whose first fill is `e`: the order's identity as the
    /// key knows it (a perm id, else an order ref), status unknown until orders decide it.
    pub(super) fn of(
        account_id: i32,
        match_key: &'a str,
        e: &'a NormalizedExecution,
        now: DateTime<Utc>,
    ) -> Self {
        let by_perm = e.perm_id > 0;
        let by_ref = !by_perm && e.order_ref.is_some();
        NewTrade {
            account_id,
            match_key,
            ib_perm_id: Some(e.perm_id).filter(|p| *p > 0),
            order_ref: if by_perm || by_ref {
                e.order_ref.as_deref()
            } else {
                None
            },
            ib_order_id: Some(e.order_id),
            client_id: Some(e.client_id),
            symbol: e.symbol.as_deref(),
            sec_type: e.sec_type.as_deref(),
            side: Some(&e.side),
            exchange: e.exchange.as_deref(),
            currency: e.currency.as_deref(),
            status: "unknown",
            fetched_at: now,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A trade row a statement returned: its id and group.
#[derive(Debug, FromQueryResult)]
pub(super) struct TradeKey {
    pub id: i32,
    pub account_id: i32,
    pub match_key: String,
}

/// Inserts the trades that do not exist yet (a group's trade is never created twice);
/// returns the trades it created.
pub(super) async fn insert_trades(
    txn: &impl ConnectionTrait,
    trades: &[NewTrade<'_>],
) -> Result<Vec<TradeKey>> {
    // `WHERE true`: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
    let sql = format!(
        "INSERT INTO trades ({}) {{records}} WHERE true ON CONFLICT (account_id, match_key) \
         DO NOTHING RETURNING id, account_id, match_key",
        TRADE_COLUMNS.join(", ")
    );
    per_chunk(txn, &sql, "trades", TRADE_COLUMNS, trades)
        .await?
        .iter()
        .map(|row| Ok(TradeKey::from_query_result(row, "")?))
        .collect()
}

/// The aggregate columns of a trade: [`TradeTotals`]' fields after its id.
const TOTALS_COLUMNS: &[&str] = &[
    "total_quantity",
    "avg_price",
    "first_executed_at",
    "last_executed_at",
    "fills_count",
    "commission_total",
    "fetched_at",
    "updated_at",
];

/// A trade's aggregates as written from memory.
#[derive(Serialize)]
struct TradeTotals {
    id: i32,
    total_quantity: f64,
    avg_price: Option<f64>,
    #[serde(serialize_with = "stamp")]
    first_executed_at: DateTime<Utc>,
    #[serde(serialize_with = "stamp")]
    last_executed_at: DateTime<Utc>,
    fills_count: i64,
    commission_total: Option<f64>,
    #[serde(serialize_with = "stamp")]
    fetched_at: DateTime<Utc>,
    #[serde(serialize_with = "stamp")]
    updated_at: DateTime<Utc>,
}

impl TradeTotals {
    fn of(id: i32, t: &Totals, now: DateTime<Utc>) -> Self {
        TradeTotals {
            id,
            total_quantity: t.quantity,
            avg_price: t.avg_price(),
            first_executed_at: t.first_at,
            last_executed_at: t.last_at,
            fills_count: t.fills,
            commission_total: t.commission,
            fetched_at: now,
            updated_at: now,
        }
    }
}

/// Writes the aggregates of `trades` summed in memory, a chunk per statement.
pub(super) async fn update_totals(
    txn: &impl ConnectionTrait,
    trades: &[(i32, Totals)],
    now: DateTime<Utc>,
) -> Result<()> {
    if trades.is_empty() {
        return Ok(());
    }
    let rows: Vec<TradeTotals> = trades
        .iter()
        .map(|(id, t)| TradeTotals::of(*id, t, now))
        .collect();
    let columns: Vec<&str> = std::iter::once("id")
        .chain(TOTALS_COLUMNS.iter().copied())
        .collect();
    let set: Vec<String> = TOTALS_COLUMNS
        .iter()
        .map(|c| format!("{c} = x.{c}"))
        .collect();
    let sql = format!(
        "UPDATE trades SET {} FROM ({{records}}) AS x WHERE trades.id = x.id",
        set.join(", ")
    );
    per_chunk(txn, &sql, "trades", &columns, &rows)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize_execution;
    use crate::normalize::tests::{data, report};

    fn execution(exec_id: &str) -> NormalizedExecution {
        let d = data(exec_id, "20231215 10:30:00 US/Eastern");
        let r = report(exec_id, 1.05);
        normalize_execution(&d, Some(&r), chrono_tz::Tz::UTC).unwrap()
    }

    /// The keys a record serialises to.
    fn keys(record: &impl Serialize) -> Vec<String> {
        match serde_json::to_value(record).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_column_lists_name_every_field_of_the_records() {
        let r = execution("0000e0d5.6576ba1b.01.01");
        let now = Utc::now();
        let mut expected: Vec<String> = IDENTITY_COLUMNS
            .iter()
            .chain(VALUE_COLUMNS)
            .map(|c| c.to_string())
            .collect();
        let mut got = keys(&NewFill::of(&r, 1, 2, now));
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        let m = Mutable::of_record(&r);
        let change = FillChange {
            id: 7,
            values: FillValues::merged(&m, Digests::default(), now),
        };
        let mut expected: Vec<String> = std::iter::once("id")
            .chain(VALUE_COLUMNS.iter().copied())
            .map(String::from)
            .collect();
        let mut got = keys(&change);
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_trade_columns_name_every_field_of_a_new_trade() {
        let r = execution("0000e0d5.6576ba1b.01.01");
        let mut got = keys(&NewTrade::of(1, "perm:1", &r, Utc::now()));
        let mut expected = TRADE_COLUMNS.to_vec();
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_totals_columns_name_every_field_after_the_id() {
        let r = execution("0000e0d5.6576ba1b.01.01");
        let row = TradeTotals::of(7, &Totals::of(&r), Utc::now());
        let mut got = keys(&row);
        let mut expected: Vec<&str> = std::iter::once("id")
            .chain(TOTALS_COLUMNS.iter().copied())
            .collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
    }

    #[derive(Serialize)]
    struct Row {
        id: i32,
        note: Option<&'static str>,
        gone: Option<f64>,
        price: f64,
    }

    #[test]
    fn a_postgres_chunk_binds_one_array_per_column_and_marks_its_nulls() {
        let rows = [
            Row {
                id: 1,
                note: Some("a"),
                gone: None,
                price: 1.5,
            },
            Row {
                id: 2,
                note: None,
                gone: None,
                price: f64::NAN,
            },
        ];
        let columns = ["id", "note", "gone", "price"];
        let types: Vec<String> = ["integer", "text", "double precision", "double precision"]
            .map(String::from)
            .to_vec();
        let (sql, values) = columnar(&columns, &types, &rows).unwrap();
        assert_eq!(
            sql,
            "SELECT u.a1::integer AS id, CASE WHEN u.a3 THEN NULL ELSE u.a2::text END AS note, \
             NULL::double precision AS gone, CASE WHEN u.a5 THEN NULL ELSE u.a4::double precision END AS price \
             FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::boolean[]) AS u(a1, a2, a3, a4, a5)"
        );
        let texts = |v: &SqlValue| match v {
            SqlValue::Array(_, Some(items)) => items
                .iter()
                .map(|i| match i {
                    SqlValue::String(Some(s)) => s.clone(),
                    SqlValue::Bool(Some(b)) => b.to_string(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let got: Vec<Vec<String>> = values.iter().map(texts).collect();
        // A number that is not finite is NULL, as a JSON document wrote it.
        assert_eq!(
            got,
            [
                vec!["1", "2"],
                vec!["a", ""],
                vec!["false", "true"],
                vec!["1.5", ""],
                vec!["false", "true"],
            ]
        );
    }

    #[test]
    fn times_are_written_as_the_sqlite_driver_writes_them() {
        let r = execution("0000e0d5.6576ba1b.01.01");
        let json = serde_json::to_value(NewFill::of(&r, 1, 2, r.executed_at)).unwrap();
        let expected = r.executed_at.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        assert_eq!(json["executed_at"], expected.as_str());
        assert!(expected.ends_with("+00:00"), "{expected}");
    }
}
