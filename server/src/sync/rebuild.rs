//! `fillbook rebuild`: every stored execution normalised again from the raw records kept
//! beside it (the gateway's record, the statement's row), e.g. after a parser fix, without
//! asking the broker for anything.
//!
//! In one transaction: each fill whose re-read values differ from the stored ones is
//! updated (its raw records are never rewritten), a fill whose parent key changed moves to
//! the trade of its new key (created when missing; a trade left without fills is deleted),
//! then canonical flags, aggregates and statuses of everything touched are recomputed. Each
//! change is a history event with source `rebuild`. A record that cannot be read again
//! fails the whole rebuild: it is reported and nothing changes. `--dry-run` runs the same
//! steps and rolls them back.
//!
//! The pages of stored fills are read with the ledger writer's own SQL (the same column
//! list the writer compares records against, joined to the account's code).

use super::merge::{changes, Digests, ExistingExec, Mutable, EXISTING_SELECT};
use super::records::{self, FillChange, FillValues};
use super::trades::{
    ensure_parents, match_key, refresh_aggregates, refresh_status, settle_canonical, update_ids,
};
use crate::db::entities::{accounts, trade_executions as te, trades};
use crate::error::{Error, Result};
use crate::flex::row::{normalize_row, RowOutcome};
use crate::flex::statement::{account_zones, DEFAULT_FLEX_ZONE};
use crate::flex::xml::FlexRow;
use crate::history::FillEvent;
use crate::normalize::{
    normalize_execution, parse_raw_record, seen_by_gateway, NormalizedExecution,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Stored executions read per query.
const PAGE: u64 = 1_000;

/// What to rebuild.
#[derive(Debug, Clone)]
pub struct RebuildOptions {
    /// Run every step, report, and roll back.
    pub dry_run: bool,
    /// Only this account's fills (IB code).
    pub account: Option<String>,
    /// Zone of zoneless gateway times (`--ib-time-zone`).
    pub gateway_zone: Tz,
}

/// One change a rebuild made (or would make).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RebuildChange {
    pub execution_id: i32,
    pub ib_exec_id: String,
    pub account: String,
    pub kind: &'static str,
    pub before: Value,
    pub after: Value,
}

/// A stored record that could not be normalised again.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RebuildFailure {
    pub execution_id: i32,
    pub ib_exec_id: String,
    pub account: String,
    pub reason: String,
}

/// What a rebuild did, or would do with `--dry-run`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RebuildReport {
    pub dry_run: bool,
    /// Whether the changes were committed (false for a dry run and when a record failed).
    pub applied: bool,
    pub examined: usize,
    /// Fills whose stored values changed.
    pub changed_executions: usize,
    /// Fills moved to another trade.
    pub moved_executions: usize,
    pub canonical_changes: usize,
    /// Trades whose fills, aggregates or status changed.
    pub trades_touched: usize,
    /// Trades deleted because every fill left them.
    pub trades_removed: usize,
    pub changes: Vec<RebuildChange>,
    pub failures: Vec<RebuildFailure>,
}

/// A stored execution with what a rebuild compares beyond the mergeable columns.
#[derive(Debug, FromQueryResult)]
struct StoredIdentity {
    id: i32,
    account_code: String,
    exec_id_base: String,
    exec_revision: i32,
    side: Option<String>,
    symbol: Option<String>,
    currency: Option<String>,
}

/// The columns a record fixes once and for all (the mergeable ones are in [`Mutable`]).
fn identity_of(r: &NormalizedExecution) -> [(&'static str, Value); 5] {
    [
        ("exec_id_base", json!(r.exec_id_base)),
        ("exec_revision", json!(r.exec_revision)),
        ("side", json!(r.side)),
        ("symbol", json!(r.symbol)),
        ("currency", json!(r.currency)),
    ]
}

fn stored_identity(s: &StoredIdentity) -> [(&'static str, Value); 5] {
    [
        ("exec_id_base", json!(s.exec_id_base)),
        ("exec_revision", json!(s.exec_revision)),
        ("side", json!(s.side)),
        ("symbol", json!(s.symbol)),
        ("currency", json!(s.currency)),
    ]
}

/// A stored statement row (`{"_element": …, attribute: value, …}`) as the reader gave it.
fn flex_row(raw: &Value) -> Option<FlexRow> {
    let obj = raw.as_object()?;
    Some(FlexRow {
        element: obj.get("_element")?.as_str()?.to_string(),
        attrs: obj
            .iter()
            .filter(|(k, _)| *k != "_element")
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        line: 0,
    })
}

/// The fill the stored raw records describe today: the gateway's record (with the
/// statement's fields attached) when there is one, else the statement's.
fn renormalize(
    e: &ExistingExec,
    account: &str,
    gateway_zone: Tz,
    flex_zone: Tz,
) -> std::result::Result<NormalizedExecution, String> {
    let statement = match e.flex_raw.as_ref().filter(|r| !r.is_null()) {
        None => None,
        Some(raw) => {
            let row = flex_row(raw).ok_or("the statement row cannot be read")?;
            match normalize_row(&row, account, flex_zone) {
                RowOutcome::Execution(x) => Some(*x),
                RowOutcome::Cancellation(_) => {
                    return Err("the statement row now reads as a cancellation".into())
                }
                RowOutcome::Skipped(s) => return Err(s.reason),
            }
        }
    };
    if !seen_by_gateway(&e.raw) {
        return statement.ok_or_else(|| "no raw record is stored".to_string());
    }
    let (data, report) = parse_raw_record(&e.raw)?;
    let mut gateway = normalize_execution(&data, report.as_ref(), gateway_zone)
        .map_err(|skipped| skipped.reason)?;
    gateway.flex = statement.and_then(|s| s.flex);
    Ok(gateway)
}

/// The stored state `record` leads to: what a sync or import would have stored, with the
/// raw records kept as they are.
fn target_state(stored: &Mutable, record: &NormalizedExecution) -> Mutable {
    let mut target = if record.flex.is_some() && record.raw.seen_by_gateway() {
        let gateway_only = NormalizedExecution {
            flex: None,
            ..record.clone()
        };
        Mutable::merged(Mutable::of_record(record), &gateway_only)
    } else {
        Mutable::of_record(record)
    };
    target.raw = stored.raw.clone();
    target.statement.raw = stored.statement.raw.clone();
    target
}

/// `record` with the stored values of the fields that decide its parent trade: the key the
/// fill was grouped by (a fill keeps the trade it joined even when its own key differs, so
/// only a changed key moves it).
fn as_stored(
    record: &NormalizedExecution,
    m: &Mutable,
    ident: &StoredIdentity,
) -> NormalizedExecution {
    let mut r = record.clone();
    r.perm_id = m.perm_id.unwrap_or(0);
    r.order_id = m.order_id.unwrap_or(0);
    r.client_id = m.client_id.unwrap_or(0);
    r.order_ref = m.order_ref.clone();
    r.executed_at = m.executed_at;
    r.symbol = ident.symbol.clone();
    r.side = ident.side.clone().unwrap_or_default();
    if let Some(flex) = r.flex.as_mut() {
        flex.ib_order_id = m.statement.ib_order_id.clone();
    }
    r
}

/// Runs a rebuild (see the module documentation).
pub async fn rebuild(db: &DatabaseConnection, opts: &RebuildOptions) -> Result<RebuildReport> {
    let account_id = match &opts.account {
        None => None,
        Some(code) => Some(
            accounts::Entity::find()
                .filter(accounts::Column::Code.eq(code.as_str()))
                .one(db)
                .await?
                .ok_or_else(|| Error::Invalid {
                    field: "account".into(),
                    message: format!("no account `{code}` in the ledger"),
                })?
                .id,
        ),
    };
    let zones = account_zones(db).await?;
    let now = Utc::now();
    let txn = crate::db::run::RunTxn::begin(db).await?;
    let mut report = RebuildReport {
        dry_run: opts.dry_run,
        ..RebuildReport::default()
    };
    let outcome = rebuild_in(&txn, opts, account_id, &zones, now, &mut report).await;
    match outcome {
        Ok(accounts) if !opts.dry_run && report.failures.is_empty() => {
            txn.commit().await?;
            report.applied = true;
            let metrics = super::trades::SyncMetrics {
                updated_executions_count: report.changed_executions + report.moved_executions,
                ..Default::default()
            };
            super::trades::announce_fills(db, accounts, &metrics).await;
        }
        Ok(_) => txn.rollback().await?,
        Err(e) => {
            txn.rollback().await?;
            return Err(e);
        }
    }
    Ok(report)
}

/// The steps inside the transaction; returns the accounts whose fills changed.
async fn rebuild_in(
    txn: &crate::db::run::RunTxn,
    opts: &RebuildOptions,
    account_id: Option<i32>,
    zones: &HashMap<String, Tz>,
    now: DateTime<Utc>,
    report: &mut RebuildReport,
) -> Result<Vec<String>> {
    let backend = txn.get_database_backend();
    let mut history: Vec<FillEvent> = Vec::new();
    let mut touched_bases: HashSet<(i32, String)> = HashSet::new();
    let mut touched_trades: HashSet<i32> = HashSet::new();
    let mut accounts: HashMap<i32, String> = HashMap::new();
    let mut changed_accounts: HashSet<String> = HashSet::new();
    // Fills whose parent key changed: (execution id, old trade, account, new key, record).
    let mut moves: Vec<(i32, i32, i32, String, NormalizedExecution)> = Vec::new();
    let mut after_id = 0;
    loop {
        let filter = if account_id.is_some() {
            "AND account_id = $2"
        } else {
            ""
        };
        let mut values = vec![after_id.into()];
        values.extend(account_id.map(Into::into));
        let sql = format!("{EXISTING_SELECT} WHERE id > $1 {filter} ORDER BY id LIMIT {PAGE}");
        let page = ExistingExec::find_by_statement(crate::db::statement(
            backend,
            sql.clone(),
            values.clone(),
        ))
        .all(txn)
        .await?;
        let Some(last) = page.last() else {
            break;
        };
        after_id = last.id;
        let idents: HashMap<i32, StoredIdentity> =
            StoredIdentity::find_by_statement(crate::db::statement(
                backend,
                format!(
                    "SELECT e.id, a.code AS account_code, e.exec_id_base, e.exec_revision, \
                     e.side, e.symbol, e.currency \
                     FROM trade_executions e JOIN accounts a ON a.id = e.account_id \
                     WHERE e.id > $1 AND e.id <= {after_id} {} ORDER BY e.id",
                    filter.replace("account_id", "e.account_id")
                ),
                values,
            ))
            .all(txn)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        // The changed fills of this page, written by one statement at its end.
        let mut changed: Vec<(i32, Mutable)> = Vec::new();
        for e in &page {
            report.examined += 1;
            let ident = &idents[&e.id];
            accounts.insert(e.account_id, ident.account_code.clone());
            let flex_zone = zones
                .get(&ident.account_code)
                .copied()
                .unwrap_or(DEFAULT_FLEX_ZONE);
            let record = match renormalize(e, &ident.account_code, opts.gateway_zone, flex_zone) {
                Ok(r) => r,
                Err(reason) => {
                    report.failures.push(RebuildFailure {
                        execution_id: e.id,
                        ib_exec_id: e.ib_exec_id.clone(),
                        account: ident.account_code.clone(),
                        reason,
                    });
                    continue;
                }
            };
            let before = Mutable::of_stored(e);
            let after = target_state(&before, &record);
            let mut events: Vec<(&'static str, Value, Value)> = changes(&before, &after);
            let (mut ib, mut ia) = (json!({}), json!({}));
            for ((name, b), (_, a)) in stored_identity(ident).into_iter().zip(identity_of(&record))
            {
                if b != a {
                    ib[name] = b;
                    ia[name] = a;
                }
            }
            let identity_changed = ib.as_object().is_some_and(|o| !o.is_empty());
            if identity_changed {
                events.push(("corrected", ib, ia));
            }
            let events_empty = events.is_empty();
            if !events_empty {
                report.changed_executions += 1;
                if identity_changed {
                    te::Entity::update_many()
                        .col_expr(
                            te::Column::ExecIdBase,
                            Expr::value(record.exec_id_base.clone()),
                        )
                        .col_expr(te::Column::ExecRevision, Expr::value(record.exec_revision))
                        .col_expr(te::Column::Side, Expr::value(Some(record.side.clone())))
                        .col_expr(te::Column::Symbol, Expr::value(record.symbol.clone()))
                        .col_expr(te::Column::Currency, Expr::value(record.currency.clone()))
                        .filter(te::Column::Id.eq(e.id))
                        .exec(txn)
                        .await?;
                }
                touched_bases.insert((e.account_id, ident.exec_id_base.clone()));
                touched_bases.insert((e.account_id, record.exec_id_base.clone()));
                touched_trades.insert(e.trade_id);
                changed_accounts.insert(ident.account_code.clone());
                for (kind, before, after) in events {
                    history.push(FillEvent {
                        execution_id: e.id,
                        trade_id: e.trade_id,
                        account_id: e.account_id,
                        kind,
                        before,
                        after,
                    });
                }
            }
            let key = match_key(&record);
            if key != match_key(&as_stored(&record, &before, ident)) {
                moves.push((e.id, e.trade_id, e.account_id, key, record));
            }
            if !events_empty {
                changed.push((e.id, after));
            }
        }
        // A rebuilt state came from no new record: the digests are cleared, so the next
        // delivery of each record is compared in full.
        let updates: Vec<FillChange> = changed
            .iter()
            .map(|(id, after)| FillChange {
                id: *id,
                values: FillValues::merged(after, Digests::default(), now),
            })
            .collect();
        records::update(txn, &updates).await?;
    }
    for f in &report.failures {
        tracing::warn!(execution = f.execution_id, reason = %f.reason, "rebuild: a stored record cannot be read again");
    }
    if !report.failures.is_empty() {
        return Ok(Vec::new());
    }
    // Regroup the fills whose key changed: into the trade of the new key, made when missing.
    let parents: HashMap<(i32, String), &NormalizedExecution> = moves
        .iter()
        .map(|(_, _, account, key, record)| ((*account, key.clone()), record))
        .collect();
    let (trade_ids, _) = ensure_parents(txn, &parents, now, false).await?;
    let mut moved = 0;
    for (id, old_trade, account, key, record) in &moves {
        let new_trade = trade_ids[&(*account, key.clone())];
        if new_trade == *old_trade {
            continue;
        }
        moved += 1;
        update_ids(
            txn,
            "trade_executions",
            "trade_id = $1, updated_at = $2",
            &[new_trade.into(), now.into()],
            &[*id],
        )
        .await?;
        history.push(FillEvent {
            execution_id: *id,
            trade_id: *old_trade,
            account_id: *account,
            kind: "moved",
            before: json!({ "trade_id": old_trade }),
            after: json!({ "trade_id": new_trade, "match_key": key }),
        });
        touched_trades.insert(*old_trade);
        touched_trades.insert(new_trade);
        touched_bases.insert((*account, record.exec_id_base.clone()));
        if let Some(code) = accounts.get(account) {
            changed_accounts.insert(code.clone());
        }
    }
    report.moved_executions = moved;
    let (canonical, flipped) = settle_canonical(txn, touched_bases, now, &mut history).await?;
    report.canonical_changes = canonical;
    touched_trades.extend(flipped);
    let touched: Vec<i32> = touched_trades.iter().copied().collect();
    report.trades_removed = remove_empty_trades(txn, &touched).await?;
    refresh_aggregates(txn, &touched, now).await?;
    touched_trades.extend(refresh_status(txn, &touched, &accounts, &[], false, now).await?);
    report.trades_touched = touched_trades.len();
    crate::history::record(txn, &history, Some("rebuild"), now).await?;
    report.changes = history
        .into_iter()
        .map(|e| RebuildChange {
            execution_id: e.execution_id,
            ib_exec_id: String::new(),
            account: accounts.get(&e.account_id).cloned().unwrap_or_default(),
            kind: e.kind,
            before: e.before,
            after: e.after,
        })
        .collect();
    fill_exec_ids(txn, &mut report.changes).await?;
    Ok(changed_accounts.into_iter().collect())
}

/// Deletes those of `trades` that no fill belongs to any more; returns how many.
async fn remove_empty_trades(txn: &impl ConnectionTrait, trades: &[i32]) -> Result<usize> {
    let mut removed = 0;
    for id in trades {
        let fills = te::Entity::find()
            .filter(te::Column::TradeId.eq(*id))
            .count(txn)
            .await?;
        if fills == 0 {
            removed += trades::Entity::delete_by_id(*id)
                .exec(txn)
                .await?
                .rows_affected as usize;
        }
    }
    Ok(removed)
}

#[derive(FromQueryResult)]
struct ExecId {
    id: i32,
    ib_exec_id: String,
}

/// Names each change's execution by its IB execution id.
async fn fill_exec_ids(txn: &impl ConnectionTrait, changes: &mut [RebuildChange]) -> Result<()> {
    let ids: Vec<i32> = changes.iter().map(|c| c.execution_id).collect();
    let mut names: HashMap<i32, String> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = te::Entity::find()
            .select_only()
            .columns([te::Column::Id, te::Column::IbExecId])
            .filter(te::Column::Id.is_in(chunk.iter().copied()))
            .into_model::<ExecId>()
            .all(txn)
            .await?;
        names.extend(rows.into_iter().map(|r| (r.id, r.ib_exec_id)));
    }
    for c in changes {
        c.ib_exec_id = names.get(&c.execution_id).cloned().unwrap_or_default();
    }
    Ok(())
}
