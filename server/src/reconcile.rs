//! Reconciliation: what the ledger cannot vouch for, per account, each finding with a
//! stable code and a severity.
//!
//! * `position_mismatch` (error) — the gateway's position in a symbol (as positions.sync
//!   last fetched it) differs from the position the canonical fills imply: the baseline's
//!   quantity plus the signed fills since the baseline (no baseline: every fill, from a flat
//!   account). Lists the fills involved.
//! * `positions_unknown` (warning) — positions were never fetched for the account.
//! * `commission_missing` (warning) — canonical fills still without a commission
//!   [`ReconcileOptions::commission_hours`] after their execution.
//! * `order_unknown` (info) — trades whose order the gateway never described (status
//!   `unknown`).
//! * `status_mismatch` (warning) — a trade whose status disagrees with Fillbook's own order
//!   (one filled, the other not).
//! * `coverage_gap` (warning) — days since the first fill that neither a sync nor a Flex
//!   statement covered.
//! * `no_baseline` (info) — positions are compared from the first fill on.

use crate::db::entities::{
    accounts, position_baselines, positions, trade_executions as te, trades,
};
use crate::db::statement;
use crate::error::{Error, Result};
use app::models::{
    AccountReconciliationDto, FindingDto, InstrumentPositionDto, ReconciliationDto, TradeStatus,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::{BTreeMap, BTreeSet};

/// Quantities closer than this are equal (fractional shares stored as floats).
const EPSILON: f64 = 1e-6;
/// Executions listed per finding.
const LISTED: i64 = 50;

/// Knobs of a reconciliation.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// Only this account (code).
    pub account: Option<String>,
    /// A fill without commission this long after execution is a finding.
    pub commission_hours: i64,
    pub now: DateTime<Utc>,
}

impl ReconcileOptions {
    /// Options for `account` (all: none) with `commission_hours` (default 24; 1–2160, else
    /// refused naming the field), as of now.
    pub fn new(account: Option<String>, commission_hours: Option<i64>) -> Result<Self> {
        let commission_hours = commission_hours.unwrap_or(24);
        if !(1..=24 * 90).contains(&commission_hours) {
            return Err(Error::invalid(
                "commission_hours",
                "`commission_hours` must be between 1 and 2160",
            ));
        }
        Ok(ReconcileOptions {
            account,
            commission_hours,
            now: Utc::now(),
        })
    }
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            account: None,
            commission_hours: 24,
            now: Utc::now(),
        }
    }
}

type AccountRow = accounts::Model;

#[derive(Debug, FromQueryResult)]
struct Quantity {
    symbol: String,
    quantity: f64,
}

#[derive(Debug, FromQueryResult)]
struct Fetched {
    fetched_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct Id {
    id: i32,
}

#[derive(Debug, FromQueryResult)]
struct Mismatch {
    trade_id: i32,
    trade_status: String,
    order_id: i32,
    order_status: String,
}

/// The account's canonical fills executed at or after `since`.
fn canonical_fills_of(account_id: i32, since: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(te::Column::AccountId.eq(account_id))
        .add(te::Column::IsCanonical.eq(true))
        .add(te::Column::ExecutedAt.gte(since))
}

/// The accounts to reconcile: one by code (422 `account` when unknown) or all.
async fn accounts(db: &impl ConnectionTrait, code: Option<&str>) -> Result<Vec<AccountRow>> {
    let mut query = accounts::Entity::find().order_by_asc(accounts::Column::Code);
    if let Some(code) = code {
        query = query.filter(accounts::Column::Code.eq(code));
    }
    let rows = query.all(db).await?;
    if let (Some(code), true) = (code, rows.is_empty()) {
        return Err(Error::invalid("account", format!("no account `{code}`")));
    }
    Ok(rows)
}

/// Reconciles the ledger as of `opts.now`.
pub async fn reconcile(
    db: &impl ConnectionTrait,
    opts: &ReconcileOptions,
) -> Result<ReconciliationDto> {
    let mut findings = Vec::new();
    let mut reports = Vec::new();
    for account in accounts(db, opts.account.as_deref()).await? {
        reports.push(positions(db, &account, &mut findings).await?);
        commissions(db, &account, opts, &mut findings).await?;
        statuses(db, &account, &mut findings).await?;
        let coverage = crate::db::coverage::coverage(db, account.id, opts.now).await?;
        for gap in coverage.gaps {
            findings.push(finding(
                "coverage_gap",
                "warning",
                &account.code,
                format!("{} – {}", gap.start, gap.end),
                format!(
                    "no sync or statement covered {} to {}: fills of those days can only come from a Flex statement",
                    gap.start, gap.end
                ),
                vec!["/accounts".into()],
            ));
        }
    }
    let rank = |s: &str| match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    findings.sort_by(|a, b| {
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then_with(|| a.account.cmp(&b.account))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    Ok(ReconciliationDto {
        generated_at: opts.now,
        accounts: reports,
        findings,
    })
}

fn finding(
    code: &str,
    severity: &str,
    account: &str,
    subject: String,
    message: String,
    links: Vec<String>,
) -> FindingDto {
    FindingDto {
        code: code.into(),
        severity: severity.into(),
        account: account.into(),
        subject,
        message,
        difference: None,
        execution_ids: Vec::new(),
        links,
    }
}

/// The account's positions compared; findings for mismatches, unknown positions and a
/// missing baseline.
async fn positions(
    db: &impl ConnectionTrait,
    account: &AccountRow,
    findings: &mut Vec<FindingDto>,
) -> Result<AccountReconciliationDto> {
    let baseline = position_baselines::Entity::find_by_id(account.id)
        .one(db)
        .await?;
    let since = baseline.as_ref().map(|b| b.as_of);
    let mut implied: BTreeMap<String, f64> = baseline
        .as_ref()
        .and_then(|b| serde_json::from_value::<BTreeMap<String, f64>>(b.quantities.clone()).ok())
        .unwrap_or_default();
    let since_or_ever = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let signed = Expr::case(
        Expr::col(te::Column::Side).eq("SELL"),
        Expr::col(te::Column::Quantity).mul(-1),
    )
    .finally(Expr::col(te::Column::Quantity));
    let fills = te::Entity::find()
        .select_only()
        .column(te::Column::Symbol)
        .column_as(Expr::expr(signed).sum(), "quantity")
        .filter(canonical_fills_of(account.id, since_or_ever))
        .filter(te::Column::Symbol.is_not_null())
        .group_by(te::Column::Symbol)
        .into_model::<Quantity>()
        .all(db)
        .await?;
    for f in fills {
        *implied.entry(f.symbol).or_default() += f.quantity;
    }
    let fetched = positions::Entity::find()
        .select_only()
        .column_as(positions::Column::FetchedAt.max(), "fetched_at")
        .filter(positions::Column::AccountId.eq(account.id))
        .into_model::<Fetched>()
        .one(db)
        .await?
        .and_then(|f| f.fetched_at);
    let gateway: BTreeMap<String, f64> = positions::Entity::find()
        .select_only()
        .column(positions::Column::Symbol)
        .column_as(positions::Column::Quantity.sum(), "quantity")
        .filter(positions::Column::AccountId.eq(account.id))
        .group_by(positions::Column::Symbol)
        .into_model::<Quantity>()
        .all(db)
        .await?
        .into_iter()
        .map(|q| (q.symbol, q.quantity))
        .collect();
    if baseline.is_none() {
        findings.push(finding(
            "no_baseline",
            "info",
            &account.code,
            "positions".into(),
            "no baseline: positions are compared with every fill from the first one, as if the account started flat (set one with `fillbook reconcile baseline`)".into(),
            vec!["/reconciliation".into()],
        ));
    }
    if fetched.is_none() {
        findings.push(finding(
            "positions_unknown",
            "warning",
            &account.code,
            "positions".into(),
            "the gateway's positions were never fetched: run positions.sync".into(),
            vec!["/positions".into()],
        ));
    }
    let symbols: BTreeSet<&String> = implied.keys().chain(gateway.keys()).collect();
    let mut instruments = Vec::new();
    for symbol in symbols {
        let mine = implied.get(symbol).copied().unwrap_or(0.0);
        let theirs = fetched.map(|_| gateway.get(symbol).copied().unwrap_or(0.0));
        let difference = theirs.map(|g| g - mine);
        if let Some(d) = difference.filter(|d| d.abs() > EPSILON) {
            let ids = te::Entity::find()
                .select_only()
                .column(te::Column::Id)
                .filter(canonical_fills_of(account.id, since_or_ever))
                .filter(te::Column::Symbol.eq(symbol.as_str()))
                .order_by_desc(te::Column::ExecutedAt)
                .order_by_desc(te::Column::Id)
                .limit(LISTED as u64)
                .into_model::<Id>()
                .all(db)
                .await?;
            let mut f = finding(
                "position_mismatch",
                "error",
                &account.code,
                symbol.clone(),
                format!(
                    "the gateway reports {} {symbol}, the fills imply {}: {} {} missing from the ledger",
                    theirs.unwrap_or_default(),
                    mine,
                    d.abs(),
                    if d > 0.0 { "bought (or sold short) shares are" } else { "sold shares are" }
                ),
                vec![format!("/trades?symbol={symbol}"), "/positions".into()],
            );
            f.difference = Some(d);
            f.execution_ids = ids.into_iter().map(|i| i.id).collect();
            findings.push(f);
        }
        instruments.push(InstrumentPositionDto {
            symbol: symbol.clone(),
            gateway: theirs,
            implied: mine,
            difference,
        });
    }
    Ok(AccountReconciliationDto {
        account: account.code.clone(),
        baseline_at: since,
        positions_fetched_at: fetched,
        instruments,
    })
}

/// Fills still without a commission long after their execution.
async fn commissions(
    db: &impl ConnectionTrait,
    account: &AccountRow,
    opts: &ReconcileOptions,
    findings: &mut Vec<FindingDto>,
) -> Result<()> {
    let cutoff = opts.now - Duration::hours(opts.commission_hours);
    let ids = te::Entity::find()
        .select_only()
        .column(te::Column::Id)
        .filter(te::Column::AccountId.eq(account.id))
        .filter(te::Column::IsCanonical.eq(true))
        .filter(te::Column::Commission.is_null())
        .filter(te::Column::ExecutedAt.lt(cutoff))
        .order_by_asc(te::Column::ExecutedAt)
        .order_by_asc(te::Column::Id)
        .limit(LISTED as u64 + 1)
        .into_model::<Id>()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let more = if ids.len() as i64 > LISTED {
        " (or more)"
    } else {
        ""
    };
    let mut f = finding(
        "commission_missing",
        "warning",
        &account.code,
        "commissions".into(),
        format!(
            "{}{more} fills have no commission {} hours after their execution: a later sync or a Flex statement fills it in",
            ids.len().min(LISTED as usize),
            opts.commission_hours
        ),
        vec!["/trades".into()],
    );
    f.execution_ids = ids
        .into_iter()
        .take(LISTED as usize)
        .map(|i| i.id)
        .collect();
    findings.push(f);
    Ok(())
}

/// Trades whose order is unknown, and trades that disagree with Fillbook's own order.
async fn statuses(
    db: &impl ConnectionTrait,
    account: &AccountRow,
    findings: &mut Vec<FindingDto>,
) -> Result<()> {
    let unknown = trades::Entity::find()
        .select_only()
        .column(trades::Column::Id)
        .filter(trades::Column::AccountId.eq(account.id))
        .filter(trades::Column::Status.eq(TradeStatus::Unknown))
        .order_by_asc(trades::Column::Id)
        .limit(LISTED as u64)
        .into_model::<Id>()
        .all(db)
        .await?;
    for t in unknown {
        findings.push(finding(
            "order_unknown",
            "info",
            &account.code,
            format!("trade {}", t.id),
            format!(
                "trade {}: the gateway has not described its order (neither open nor completed)",
                t.id
            ),
            vec![format!("/trades/{}", t.id)],
        ));
    }
    // Raw SQL: trades and orders meet on two columns (account and perm id) that no foreign
    // key declares, so there is no relation for the query builder to join on.
    let mismatches = Mismatch::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT t.id AS trade_id, t.status AS trade_status, o.id AS order_id, \
         o.status AS order_status FROM orders o JOIN trades t \
         ON t.account_id = o.account_id AND t.ib_perm_id = o.ib_perm_id \
         WHERE o.account_id = $1 AND o.ib_perm_id > 0 \
         AND ((o.status = 'filled' AND t.status <> 'filled') \
           OR (o.status <> 'filled' AND t.status = 'filled')) ORDER BY t.id",
        [account.id.into()],
    ))
    .all(db)
    .await?;
    for m in mismatches {
        findings.push(finding(
            "status_mismatch",
            "warning",
            &account.code,
            format!("trade {}", m.trade_id),
            format!(
                "trade {} is {} but its order {} is {}",
                m.trade_id, m.trade_status, m.order_id, m.order_status
            ),
            vec![
                format!("/trades/{}", m.trade_id),
                format!("/orders/{}", m.order_id),
            ],
        ));
    }
    Ok(())
}

/// Sets an account's baseline: from `as_of` on its fills are added to `quantities` (per
/// symbol; none = flat). Audited in the same transaction. A baseline in the future or an
/// unknown account is refused naming the field.
pub async fn set_baseline(
    db: &sea_orm::DatabaseConnection,
    actor: &app::models::Actor,
    account: &str,
    as_of: DateTime<Utc>,
    quantities: BTreeMap<String, f64>,
) -> Result<()> {
    if as_of > Utc::now() {
        return Err(Error::invalid(
            "as_of",
            "a baseline cannot be in the future",
        ));
    }
    if let Some((symbol, _)) = quantities.iter().find(|(_, q)| !q.is_finite()) {
        return Err(Error::invalid(
            "quantities",
            format!("the quantity of {symbol} is not a number"),
        ));
    }
    let account_id = accounts(db, Some(account)).await?[0].id;
    let txn = crate::db::begin_write(db).await?;
    let json = serde_json::to_value(&quantities).unwrap_or_default();
    use position_baselines::Column as C;
    position_baselines::Entity::insert(position_baselines::ActiveModel {
        account_id: Set(account_id),
        as_of: Set(as_of),
        quantities: Set(json.clone()),
        set_by: Set(actor.name.clone()),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(C::AccountId)
            .update_columns([C::AsOf, C::Quantities, C::SetBy, C::CreatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let detail = serde_json::json!({ "as_of": as_of, "quantities": json });
    crate::auth::audit::record(
        &txn,
        actor,
        "baseline.set",
        Some(account.into()),
        Some(detail),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
