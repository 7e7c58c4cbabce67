//! Serde DTOs: the one vocabulary of the JSON API, the server functions and the pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod states;
pub use states::{JobKind, JobState, TradeStatus};

/// What the UI shows about this server: which gateway it talks to, and whether that is
/// the built-in demo simulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServerInfoDto {
    pub gateway: String,
    pub demo_gateway: bool,
    pub version: String,
}

/// A page of a list, newest first, with the keyset cursor of the next page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An IB account known to Fillbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountDto {
    pub id: i32,
    pub code: String,
    pub alias: Option<String>,
    /// The IANA zone a Flex statement's zoneless times are read in (none: America/New_York).
    pub flex_time_zone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order placed through Fillbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderDto {
    pub id: i32,
    pub account_id: i32,
    pub account_code: String,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub currency: String,
    pub side: String,
    pub order_type: String,
    pub quantity: f64,
    pub limit_price: Option<f64>,
    pub tif: String,
    pub order_ref: Option<String>,
    pub ib_order_id: Option<i64>,
    pub ib_perm_id: Option<i64>,
    pub status: String,
    pub filled_quantity: f64,
    pub avg_fill_price: Option<f64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A position per account and contract, as last fetched from the gateway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PositionDto {
    pub id: i32,
    pub account_id: i32,
    pub account_code: String,
    pub con_id: i64,
    pub symbol: String,
    pub sec_type: String,
    pub currency: String,
    pub quantity: f64,
    pub avg_cost: Option<f64>,
    pub fetched_at: DateTime<Utc>,
}

/// A background job (`trades.sync`, `positions.sync`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobDto {
    pub id: i32,
    #[serde(rename = "type")]
    pub kind: String,
    pub state: JobState,
    pub attempt: i32,
    pub max_attempts: i32,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub payload: serde_json::Value,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A parent trade: the aggregate of its canonical executions. Read straight from the
/// trades list query (`fills_count` and `commission_total` are its aggregates).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sea_orm::FromQueryResult))]
pub struct TradeDto {
    pub id: i32,
    pub account_id: i32,
    pub account_code: String,
    pub match_key: String,
    pub ib_perm_id: Option<i64>,
    pub order_ref: Option<String>,
    pub ib_order_id: Option<i64>,
    pub client_id: Option<i32>,
    pub symbol: Option<String>,
    pub sec_type: Option<String>,
    pub side: Option<String>,
    pub exchange: Option<String>,
    pub currency: Option<String>,
    pub status: TradeStatus,
    pub total_quantity: f64,
    pub avg_price: Option<f64>,
    pub first_executed_at: Option<DateTime<Utc>>,
    pub last_executed_at: Option<DateTime<Utc>>,
    pub fills_count: i64,
    pub commission_total: Option<f64>,
    pub fetched_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TradeDto {
    /// How the fills were grouped into this trade, from the match key's prefix.
    pub fn grouped_by(&self) -> &'static str {
        match self.match_key.split(':').next() {
            Some("perm") => "perm id",
            Some("ref") => "order ref",
            _ => "composite",
        }
    }
}

/// Filters of the trades list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams, schemars::JsonSchema)
)]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct TradeQuery {
    /// Numeric account id.
    pub account_id: Option<i32>,
    /// IB account code (e.g. `DU1234567`), an alternative to `account_id`.
    pub account: Option<String>,
    /// Only trades in this status.
    pub status: Option<TradeStatus>,
    /// Contract symbol (case-insensitive).
    pub symbol: Option<String>,
    /// Only trades whose last fill is at or after this RFC 3339 time.
    pub since: Option<DateTime<Utc>>,
    /// Only trades whose last fill is before this RFC 3339 time.
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `desc` (newest last fill first, the default) or `asc`.
    pub order: Option<String>,
}

/// Filters of the jobs list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    #[serde(rename = "type")]
    pub kind: Option<JobKind>,
    pub state: Option<JobState>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of the orders list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub account_id: Option<i32>,
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One execution row: a fill or one revision of a corrected fill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecutionDto {
    pub id: i32,
    pub trade_id: i32,
    pub account_id: i32,
    pub ib_exec_id: String,
    pub exec_id_base: String,
    pub exec_revision: i32,
    pub is_canonical: bool,
    /// For a superseded revision: the `ib_exec_id` of the canonical revision that replaced it.
    pub superseded_by: Option<String>,
    pub ib_perm_id: Option<i64>,
    pub ib_order_id: Option<i64>,
    pub order_ref: Option<String>,
    pub client_id: Option<i32>,
    pub executed_at: DateTime<Utc>,
    pub quantity: f64,
    pub price: f64,
    pub side: Option<String>,
    pub symbol: Option<String>,
    pub exchange: Option<String>,
    pub currency: Option<String>,
    pub liquidity: Option<String>,
    pub commission: Option<f64>,
    /// The commission's currency when a statement named it (it may differ from `currency`).
    pub commission_currency: Option<String>,
    /// A statement row with a date and no time: `executed_at` is that day's midnight.
    pub time_unknown: bool,
    /// The statement cancellation that busted this fill (a busted fill is never canonical).
    pub busted_by: Option<String>,
    /// Flex statement ids, when a statement has seen this fill.
    pub flex_trade_id: Option<String>,
    pub flex_transaction_id: Option<String>,
    pub flex_ib_order_id: Option<String>,
    pub flex_brokerage_order_id: Option<String>,
    pub flex_order_reference: Option<String>,
    /// The broker record as received; present when asked for with `include=raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub raw: Option<serde_json::Value>,
    /// The statement row as read; present with `include=raw` when a statement saw the fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub flex_raw: Option<serde_json::Value>,
    pub fetched_at: DateTime<Utc>,
}

/// An order request (`POST /api/v1/orders`, the `prepare_order` tool, the order form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrderDto {
    /// Numeric account id (see `GET /api/v1/accounts`).
    pub account_id: i32,
    /// Stock symbol, e.g. `AAPL`.
    pub symbol: String,
    /// Only `STK` is supported.
    #[serde(default)]
    pub sec_type: Option<String>,
    /// Only `SMART` is supported.
    #[serde(default)]
    pub exchange: Option<String>,
    /// Only `USD` is supported.
    #[serde(default)]
    pub currency: Option<String>,
    /// `BUY` or `SELL`.
    pub side: String,
    /// `MKT` or `LMT`.
    pub order_type: String,
    /// Greater than 0.
    pub quantity: f64,
    /// Required for `LMT`, forbidden for `MKT`.
    #[serde(default)]
    pub limit_price: Option<f64>,
    /// `DAY` (default), `GTC` or `IOC`.
    #[serde(default)]
    pub tif: Option<String>,
    /// Free text (≤ 64 characters) the gateway carries on the order and its fills.
    #[serde(default)]
    pub order_ref: Option<String>,
}

/// A validated order awaiting confirmation, with its single-use token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderCreatedDto {
    pub order: OrderDto,
    /// Confirm with `POST /api/v1/orders/{id}/confirm` before `expires_at`; works once.
    pub confirmation_token: String,
    pub expires_at: DateTime<Utc>,
    /// The account's order limits this order was checked against (checked again when the
    /// order is submitted).
    #[serde(default)]
    pub limits: Vec<String>,
}

/// Body of the confirmation call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmOrderDto {
    pub confirmation_token: String,
}

/// One entry of an order's status history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderEventDto {
    pub id: i32,
    pub status: String,
    pub message: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub payload: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// An order with its status timeline and the jobs queued after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderDetailDto {
    pub order: OrderDto,
    pub events: Vec<OrderEventDto>,
    /// `orders.submit`, `positions.sync` and `trades.sync` jobs created since the order.
    pub jobs: Vec<JobDto>,
    /// While it awaits confirmation: the account's limits it is checked against (again when
    /// it is sent), or why they refuse it now.
    #[serde(default)]
    pub limits: Vec<String>,
}

/// Who did something: an operator, an API token, the CLI or the system itself, and from
/// which address. Recorded in the audit log with every side effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `operator`, `token`, `cli` or `system`.
    pub kind: String,
    /// The operator's user name, the token's name, or the CLI/system component.
    pub name: String,
    /// The client address of the request, when there was one.
    pub ip: Option<String>,
}

impl Actor {
    /// An actor of `kind` named `name`, without an address.
    pub fn new(kind: &str, name: impl Into<String>) -> Self {
        Self {
            kind: kind.to_string(),
            name: name.into(),
            ip: None,
        }
    }
}

/// The signed-in operator, as the pages see it; `csrf` goes into every form they post.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionDto {
    pub username: String,
    pub is_admin: bool,
    pub csrf: String,
}

/// An API token as listed: never the token itself, only its first characters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenDto {
    pub id: i32,
    pub name: String,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One audit log entry: who did what, when, from where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEventDto {
    pub id: i32,
    pub at: DateTime<Utc>,
    /// `operator`, `token`, `cli`, `system` or `anonymous`.
    pub actor_kind: String,
    pub actor: String,
    /// E.g. `login.succeeded`, `login.failed`, `token.created`, `job.enqueued`,
    /// `order.prepared`, `order.confirmed`, `order.submitted`.
    pub action: String,
    /// What the action was about (a user name, a job or order id, a token name).
    pub target: Option<String>,
    pub ip: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

/// Filters of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries of this action, e.g. `login.failed`.
    pub action: Option<String>,
    /// Only entries of this actor name.
    pub actor: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One statement import: its file, state, and what it did once finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportDto {
    pub id: i32,
    /// `flex`.
    pub source: String,
    pub file_name: Option<String>,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// The `flex.import` job that runs it.
    pub job_id: Option<i32>,
    /// What the import did: rows read, executions inserted/updated/busted, skipped rows
    /// with their reasons, statements and their periods.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub metrics: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Paging of the imports list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Consecutive days, both ends included (UTC dates, `YYYY-MM-DD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayRange {
    pub start: chrono::NaiveDate,
    pub end: chrono::NaiveDate,
}

impl DayRange {
    pub fn contains(&self, day: chrono::NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }
}

/// Which days of an account's history the ledger has seen: the days covered by gateway
/// syncs, by statements, and the gaps (days from the first fill to today covered by
/// neither).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CoverageDto {
    pub account: AccountDto,
    /// The account's earliest fill, if it has any.
    pub first_fill: Option<DateTime<Utc>>,
    /// The last day considered (today, UTC).
    pub today: chrono::NaiveDate,
    pub sync: Vec<DayRange>,
    pub flex: Vec<DayRange>,
    pub gaps: Vec<DayRange>,
}

/// The ledger checked against the gateway and itself, per account: positions, and every
/// finding (see `GET /api/v1/reconciliation`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationDto {
    pub generated_at: DateTime<Utc>,
    pub accounts: Vec<AccountReconciliationDto>,
    /// Every finding, most severe first.
    pub findings: Vec<FindingDto>,
}

/// One account's positions: the gateway's (as last fetched by positions.sync) against the
/// position its canonical fills imply since the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountReconciliationDto {
    pub account: String,
    /// Fills from this time on count; before it, the baseline's quantities (none: every
    /// fill counts, from a flat account).
    pub baseline_at: Option<DateTime<Utc>>,
    /// When positions.sync last fetched the gateway's positions (none: never).
    pub positions_fetched_at: Option<DateTime<Utc>>,
    pub instruments: Vec<InstrumentPositionDto>,
}

/// One instrument's position, by symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InstrumentPositionDto {
    pub symbol: String,
    /// As the gateway reports it (none: positions never fetched).
    pub gateway: Option<f64>,
    /// Baseline quantity plus the signed canonical fills since the baseline.
    pub implied: f64,
    /// `gateway - implied`.
    pub difference: Option<f64>,
}

/// Something the ledger cannot vouch for. `code` is stable; `severity` is `error`,
/// `warning` or `info`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FindingDto {
    pub code: String,
    pub severity: String,
    pub account: String,
    /// What it is about: a symbol, `trade <id>`, `execution <id>`, or a period.
    pub subject: String,
    pub message: String,
    pub difference: Option<f64>,
    /// The executions concerned (at most 50).
    pub execution_ids: Vec<i32>,
    /// Pages that show what the finding is about.
    pub links: Vec<String>,
}

/// A periodic job and its runs (`GET /api/v1/schedules`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScheduleDto {
    /// Stable name, e.g. `trades.sync` or `flex.fetch:main`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub every_seconds: i64,
    /// Start of the last period whose job was enqueued, and that job.
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_job_id: Option<i32>,
    pub next_run_at: DateTime<Utc>,
}

/// A gateway's live fill subscription: who follows it and how it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveSessionDto {
    pub gateway: String,
    /// The worker process holding the subscription, while its lease runs.
    pub holder: Option<String>,
    pub client_id: Option<i32>,
    /// When the current connection was made; none while disconnected.
    pub connected_since: Option<DateTime<Utc>>,
    pub last_fill_at: Option<DateTime<Utc>>,
    pub fills_count: i64,
    pub reconnects: i32,
    pub skipped_count: i64,
    pub last_error: Option<String>,
}

/// What runs beside the jobs: the schedules and the live subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkerStatusDto {
    pub schedules: Vec<ScheduleDto>,
    pub live: Vec<LiveSessionDto>,
}

/// A change the server pushes to live pages (`GET /api/v1/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A job was enqueued or changed state.
    Job {
        id: i32,
        kind: String,
        state: JobState,
    },
    /// Fills were written (inserted or updated) for these accounts (codes).
    Fills { accounts: Vec<String>, count: usize },
}

/// One change made to a stored fill (`GET /api/v1/trades/{id}/history`). `kind` is one of
/// `commission` (filled in or changed), `corrected` (the broker re-sent the fill with other
/// values, or a rebuild re-read it differently), `flex_ids` (a statement's ids added or
/// changed), `source_added` (the fill was seen by a second source: gateway or statement),
/// `superseded` (a higher revision replaced it), `canonical` (it became the effective fill
/// again), `busted` (a statement cancellation), `moved` (a rebuild regrouped it into another
/// trade). `before` and `after` hold only the fields that changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FillEventDto {
    pub id: i32,
    pub execution_id: i32,
    pub ib_exec_id: String,
    pub kind: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub before: serde_json::Value,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub after: serde_json::Value,
    /// What made the change: `job:<id>`, `import:<id>` (or the file's name), `live:<gateway>`,
    /// `rebuild`.
    pub source: Option<String>,
    pub at: DateTime<Utc>,
}

/// When one execution of a trade was first recorded (history starts there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecordedFillDto {
    pub execution_id: i32,
    pub ib_exec_id: String,
    pub recorded_at: DateTime<Utc>,
}

/// A trade's history: its executions' first recording and every change since, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TradeHistoryDto {
    pub trade_id: i32,
    pub recorded: Vec<RecordedFillDto>,
    pub events: Vec<FillEventDto>,
}
