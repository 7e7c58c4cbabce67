//! The one configuration struct: every option a flag with an environment fallback.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default database: an SQLite file under `./data/`, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/fillbook.db";

/// Fillbook keeps an exact ledger of Interactive Brokers fills.
#[derive(Debug, Parser)]
#[command(name = "fillbook", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Log filter in `tracing` syntax, e.g. `info` or `fillbook=debug,sqlx=warn`.
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = "info,sqlx=warn,sea_orm_migration=warn,ibapi=warn",
        global = true
    )]
    pub log: String,
}

/// Where the IB Gateway (or TWS) listens, and who we are to it.
#[derive(Debug, Clone, Args)]
pub struct IbArgs {
    /// Gateway host.
    #[arg(long = "ib-host", env = "IB_HOST", default_value = "127.0.0.1")]
    pub ib_host: String,
    /// Gateway API port (4002 = IB Gateway paper, 4001 live, 7497/7496 TWS).
    #[arg(long = "ib-port", env = "IB_PORT", default_value_t = 4002)]
    pub ib_port: u16,
    /// API client id used for Fillbook's connections.
    #[arg(long = "ib-client-id", env = "IB_CLIENT_ID", default_value_t = 100)]
    pub ib_client_id: i32,
    /// Time zone of the gateway host (IANA name): older gateways send execution times
    /// without a zone, in the host's local time.
    #[arg(long = "ib-time-zone", env = "IB_TIME_ZONE", default_value = "UTC")]
    pub ib_time_zone: chrono_tz::Tz,
}

impl From<&IbArgs> for crate::ib::IbConnectOptions {
    fn from(args: &IbArgs) -> Self {
        Self {
            time_zone: args.ib_time_zone,
            ..Self::new(args.ib_host.clone(), args.ib_port, args.ib_client_id)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app (UI, JSON API) on FILLBOOK_BIND.
    Serve(ServeArgs),
    /// Apply pending database migrations (or roll back with --down) and exit.
    Migrate(MigrateArgs),
    /// Serve the tradebot tools as an MCP server over stdin/stdout.
    Mcp,
    /// Benchmarks that print figures.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a simulated IB Gateway on 127.0.0.1 (demos, tests, benchmarks).
    #[cfg(feature = "demo")]
    IbSim(IbSimArgs),
    /// Run a standalone job worker (any number, on any hosts sharing one PostgreSQL).
    Worker(WorkerCommandArgs),
    /// Enqueue, list, show, cancel or retry background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Run one sync against the gateway now (cron-friendly).
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Create, confirm and list orders (behind the confirmation guard).
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Manage operators (people who sign in to the web UI).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens for bots.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Import broker statements into the ledger.
    #[command(subcommand)]
    Import(ImportCommand),
    /// List accounts and change their settings.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Flex Web Service: stored credentials and fetching statements.
    #[command(subcommand)]
    Flex(FlexCommand),
    /// Run a simulated IB Flex Web Service on 127.0.0.1 (demos, tests).
    #[cfg(feature = "demo")]
    FlexSim(FlexSimArgs),
    /// The gateways jobs may connect to, by name (administrators).
    #[command(subcommand)]
    Gateways(GatewaysCommand),
    /// Export canonical fills or trades as CSV (RFC 4180, UTC times).
    Export(ExportArgs),
    /// Reconcile the ledger with the gateway's positions and itself, or set a baseline.
    Reconcile(ReconcileArgs),
    /// Normalise every stored fill again from its raw records and regroup, in one transaction.
    Rebuild(RebuildArgs),
    /// Failure drills (kill -9, restarts, concurrency, a full disk, fuzzing) with a table of
    /// runs, failures, rows lost or duplicated and recovery times.
    #[cfg(feature = "bench")]
    Drills(crate::drills::DrillArgs),
}

/// `fillbook rebuild [--dry-run] [--account CODE] [--json]`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Report what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only this account's fills (IB code).
    #[arg(long)]
    pub account: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The gateway settings (its time zone reads zoneless execution times).
    #[command(flatten)]
    pub ib: IbArgs,
}

/// `fillbook reconcile [--account CODE] [--json]` or `fillbook reconcile baseline …`.
#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    pub baseline: Option<ReconcileCommand>,
    /// Only this account (IB code).
    #[arg(long)]
    pub account: Option<String>,
    /// A fill without commission this many hours after execution is a finding.
    #[arg(long, default_value_t = 24)]
    pub commission_hours: i64,
    /// Print the reconciliation as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ReconcileCommand {
    /// From AT on, add the account's fills to these quantities (none: the account was flat).
    Baseline {
        /// The account (IB code).
        account: String,
        /// RFC 3339 time or a date (its midnight UTC); not in the future.
        #[arg(long)]
        at: String,
        /// A quantity held at AT, as SYMBOL=QUANTITY (repeatable).
        #[arg(long = "position", value_name = "SYMBOL=QTY")]
        positions: Vec<String>,
    },
}

/// `fillbook export fills|trades …`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// `fills` or `trades`.
    pub kind: String,
    /// Only this account (IB code).
    #[arg(long)]
    pub account: Option<String>,
    /// From this time on (RFC 3339, or a date meaning its midnight UTC), inclusive: a
    /// fill's execution time, a trade's first fill.
    #[arg(long)]
    pub since: Option<String>,
    /// Before this time (RFC 3339 or a date), exclusive.
    #[arg(long)]
    pub until: Option<String>,
    /// Fills only: also superseded revisions and busted fills, with their state.
    #[arg(long)]
    pub all_revisions: bool,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum GatewaysCommand {
    /// Add (or replace) a named gateway; `default` is the one of --ib-host/--ib-port.
    Add {
        /// Its name (a-z, 0-9, `-`, `_`), as jobs and requests choose it.
        name: String,
        #[arg(long)]
        host: String,
        #[arg(long)]
        port: i32,
        /// Client id of its trades.sync (positions.sync uses +1, orders.submit +2).
        #[arg(long, default_value_t = 100)]
        client_id: i32,
        /// Zone of the gateway host (for executions timed without a zone).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List the configured gateways.
    List,
    /// Remove a named gateway.
    Remove { name: String },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ImportCommand {
    /// Import Flex statement XML files (Activity or Trade Confirmation Flex queries); each
    /// file is one import, written in one transaction.
    Flex {
        /// The statement files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print the metrics as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Where IB's Flex Web Service is.
#[derive(Debug, Clone, Args)]
pub struct FlexArgs {
    /// Base URL of the Flex Web Service (`…/FlexWebService`; `SendRequest` is appended).
    #[arg(
        long = "flex-base-url",
        env = "FILLBOOK_FLEX_BASE_URL",
        default_value = crate::flex::web::DEFAULT_BASE_URL
    )]
    pub flex_base_url: String,
}

impl FlexArgs {
    pub fn options(&self) -> crate::flex::web::FlexWebOptions {
        crate::flex::web::FlexWebOptions::with_base_url(&self.flex_base_url)
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum FlexCommand {
    /// Store, list or remove Flex Web Service credentials.
    #[command(subcommand)]
    Credentials(FlexCredentialsCommand),
    /// Download the statement of the named credentials now and import it.
    Fetch {
        /// Name of stored credentials.
        name: String,
        #[command(flatten)]
        flex: FlexArgs,
        /// Print the metrics as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AccountsCommand {
    /// List accounts with their Flex time zone.
    List,
    /// Set the zone an account's zoneless Flex statement times are read in (IANA name such
    /// as `America/New_York`, or `default` for America/New_York).
    SetFlexZone {
        /// The IB account code.
        account: String,
        /// The time zone.
        zone: String,
    },
    /// Set an account's order limits (replacing all of them: each one not given is off,
    /// except --max-quantity, which keeps its default).
    SetLimits {
        /// The IB account code.
        account: String,
        /// Largest quantity per order.
        #[arg(long, default_value_t = crate::orders::limits::DEFAULT_MAX_QUANTITY)]
        max_quantity: f64,
        /// Largest quantity × price per order (price: the limit or the last fill price).
        #[arg(long)]
        max_notional: Option<f64>,
        /// Only these symbols (comma-separated).
        #[arg(long)]
        symbols: Option<String>,
        /// Only these security types (comma-separated, e.g. STK).
        #[arg(long)]
        sec_types: Option<String>,
        /// Allow fractional quantities.
        #[arg(long)]
        fractional: bool,
    },
}

/// Tokens are read from stdin or from an environment variable (never from the command
/// line, where other users could see them) and never printed.
#[derive(Debug, Clone, Subcommand)]
pub enum FlexCredentialsCommand {
    /// Store (or replace) credentials; the token is the first line of stdin unless
    /// --token-env names a variable holding it.
    Set {
        name: String,
        /// The Flex query's id (Client Portal → Performance & Reports → Flex Queries).
        #[arg(long)]
        query_id: String,
        /// Read the token from this environment variable instead of stdin.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
    },
    /// List stored credentials as JSON (names and query ids, never tokens).
    List,
    /// Remove stored credentials.
    Remove { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct FlexSimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Statement XML files, served one per SendRequest in order (the last one repeated).
    #[arg(long = "statement", value_name = "FILE", required = true, num_args = 1..)]
    pub statements: Vec<PathBuf>,
    /// The token the simulator accepts (others get 1015). A simulator's, not a real one.
    #[arg(long, default_value = "SIMTOKEN")]
    pub token: String,
    /// The query id the simulator knows (others get 1020).
    #[arg(long, default_value = "100001")]
    pub query_id: String,
    /// Answer 1012 (token expired) to every SendRequest.
    #[arg(long)]
    pub expired_token: bool,
    /// Answer error CODE (for the first N calls with xN), e.g. 1019x2 on GetStatement.
    #[arg(long, value_name = "CODE[xN]")]
    pub fail_with: Option<String>,
    /// Wait this many milliseconds before each answer.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,
}

/// Passwords are read from stdin with `--password-stdin` (never from the command line,
/// where other users could see them); otherwise a strong one is generated and printed once.
#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Add an operator; prints the generated password unless --password-stdin is given.
    Add {
        username: String,
        /// Make the operator an administrator (audit log, all tokens).
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List operators as JSON.
    List,
    /// Disable an operator (their sessions end at once).
    Disable { username: String },
    /// Enable a disabled operator again.
    Enable { username: String },
    /// Set a new password (generated unless --password-stdin); ends the operator's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokensCommand {
    /// Create a token; the token alone is the last line of stdout (shown only this once).
    Create {
        /// What the token is for, e.g. `rebalancer-bot`.
        #[arg(long)]
        name: String,
        /// Comma-separated: trades:read, positions:read, jobs:write, orders:write, audit:read,
        /// imports:write.
        #[arg(long)]
        scopes: String,
    },
    /// List tokens as JSON (never the tokens themselves).
    List,
    /// Revoke a token by id: it stops working at once.
    Revoke { id: i32 },
}

/// Sign-in, sessions and cookies.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "FILLBOOK_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: u64,
    /// Hours after sign-in after which a session ends, however active.
    #[arg(long, env = "FILLBOOK_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// When the session cookie is marked `Secure`: auto (when served over https, also per
    /// X-Forwarded-Proto from a trusted proxy), always (behind a TLS-terminating proxy), never.
    #[arg(
        long,
        env = "FILLBOOK_SECURE_COOKIES",
        value_enum,
        default_value = "auto"
    )]
    pub secure_cookies: crate::auth::SecureCookies,
    /// Trust X-Forwarded-For / -Proto / -Host (only behind a reverse proxy that sets them).
    #[arg(long, env = "FILLBOOK_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Failed sign-ins per user name per minute before further tries are refused.
    #[arg(long, env = "FILLBOOK_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: i64,
    /// Seconds a verified API token or session is trusted without asking the database
    /// again; one revoked or ended by another process (CLI) stops within this time, one
    /// revoked or ended through this server at once.
    #[arg(
        long,
        env = "FILLBOOK_CREDENTIAL_CACHE_SECONDS",
        alias = "token-cache-seconds",
        default_value_t = 2
    )]
    pub credential_cache_seconds: u64,
    /// The first-run setup token (default: a random one printed on the console). For
    /// automated first runs only.
    #[arg(long, env = "FILLBOOK_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<String>,
}

impl AuthArgs {
    pub fn settings(&self) -> crate::auth::AuthSettings {
        use std::time::Duration;
        crate::auth::AuthSettings {
            idle_timeout: Duration::from_secs(self.session_idle_minutes * 60),
            absolute_timeout: Duration::from_secs(self.session_max_hours * 3600),
            secure_cookies: self.secure_cookies,
            trust_proxy: self.trust_proxy,
            max_failures_per_user: self.login_max_failures,
            max_failures_per_ip: self.login_max_failures * 4,
            credential_cache: Duration::from_secs(self.credential_cache_seconds),
        }
    }
}

/// How job workers run (in `serve` and in `worker`).
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Jobs run at once by this process's worker; 0 runs no worker inside `serve`.
    #[arg(long = "workers", env = "FILLBOOK_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Milliseconds between polls when no wake-up arrives.
    #[arg(long, env = "FILLBOOK_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// Seconds a claimed job's lease lasts (renewed by heartbeats every third of it).
    #[arg(long, env = "FILLBOOK_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub lease_seconds: u64,
    /// Days finished jobs are kept; 0 keeps them forever.
    #[arg(long, env = "FILLBOOK_JOB_RETENTION_DAYS", default_value_t = 14)]
    pub job_retention_days: u64,
    /// This worker's id (default `<host>:<pid>:<random>`).
    #[arg(long, env = "FILLBOOK_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Minutes between scheduled trades syncs (0 = none).
    #[arg(long, env = "FILLBOOK_SYNC_EVERY", default_value_t = 15)]
    pub sync_every: u64,
    /// Minutes between scheduled positions syncs (0 = none).
    #[arg(long, env = "FILLBOOK_POSITIONS_EVERY", default_value_t = 60)]
    pub positions_every: u64,
    /// Hours between scheduled Flex fetches of each stored credentials (0 = none).
    #[arg(long, env = "FILLBOOK_FLEX_FETCH_EVERY", default_value_t = 24)]
    pub flex_fetch_every: u64,
}

impl WorkerArgs {
    /// The worker configuration these options describe.
    pub fn worker_config(&self) -> crate::jobs::WorkerConfig {
        let mut config = crate::jobs::WorkerConfig::new(self.workers);
        if let Some(id) = &self.worker_id {
            config.id = id.clone();
        }
        config.poll_interval = std::time::Duration::from_millis(self.poll_interval_ms.max(1));
        config.lease = std::time::Duration::from_secs(self.lease_seconds.max(1));
        config.retention = (self.job_retention_days > 0)
            .then(|| std::time::Duration::from_secs(self.job_retention_days * 24 * 3600));
        config
    }
}

impl WorkerArgs {
    /// The schedules these options describe.
    pub fn schedules(&self) -> crate::work::schedule::ScheduleConfig {
        crate::work::schedule::ScheduleConfig {
            sync_every_minutes: self.sync_every,
            positions_every_minutes: self.positions_every,
            flex_fetch_every_hours: self.flex_fetch_every,
        }
    }
}

/// How the worker process follows the gateways' fills as they happen.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Do not follow the gateways' fills as they happen (syncs still run).
    #[arg(long = "no-live", env = "FILLBOOK_NO_LIVE")]
    pub no_live: bool,
    /// Seconds a process holds a gateway's live subscription without renewing it before
    /// another process takes over.
    #[arg(
        long = "live-lease-seconds",
        env = "FILLBOOK_LIVE_LEASE_SECONDS",
        default_value_t = 10
    )]
    pub live_lease_seconds: u64,
    /// Seconds between catch-up reads of recent executions while following a gateway.
    #[arg(
        long = "live-catch-up-seconds",
        env = "FILLBOOK_LIVE_CATCH_UP_SECONDS",
        default_value_t = 30
    )]
    pub live_catch_up_seconds: u64,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerCommandArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub ib: IbArgs,
    #[command(flatten)]
    pub flex: FlexArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobsCommand {
    /// Enqueue a job (`trades.sync`, `positions.sync`, `flex.fetch`); prints it as JSON.
    Enqueue {
        /// Job type.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// JSON payload, e.g. '{"lookback_days": 3}' or '{"credentials": "main"}'.
        #[arg(long)]
        payload: Option<String>,
    },
    /// List jobs, newest first, as JSON.
    List {
        #[arg(long = "type")]
        kind: Option<app::models::JobKind>,
        #[arg(long)]
        state: Option<app::models::JobState>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one job as JSON (with its error history).
    Show { id: i32 },
    /// Cancel a waiting or running job.
    Cancel { id: i32 },
    /// Put a completed, discarded or cancelled job back in the queue.
    Retry { id: i32 },
}

#[derive(Debug, Clone, Subcommand)]
pub enum OrdersCommand {
    /// Validate an order and print its summary with a single-use confirmation token.
    Create(CreateOrderArgs),
    /// Confirm an order with its token: only then is it queued for submission.
    Confirm {
        id: i32,
        #[arg(long)]
        token: String,
    },
    /// List orders, newest first, as JSON.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CreateOrderArgs {
    /// IB account code (must be known to Fillbook).
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub symbol: String,
    /// BUY or SELL.
    #[arg(long)]
    pub side: String,
    #[arg(long)]
    pub quantity: f64,
    /// MKT or LMT.
    #[arg(long, default_value = "MKT")]
    pub order_type: String,
    /// Required for LMT, refused for MKT.
    #[arg(long)]
    pub limit_price: Option<f64>,
    /// DAY, GTC or IOC.
    #[arg(long, default_value = "DAY")]
    pub tif: String,
    #[arg(long)]
    pub order_ref: Option<String>,
}

#[cfg(feature = "bench")]
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Load the JSON API and the /trades page on a seeded PostgreSQL database.
    Api(crate::bench::api::BenchApiArgs),
    /// Protocol-only drain, write floor, first sync and re-sync of generated executions.
    Sync(crate::bench::sync::BenchSyncArgs),
    /// Parse time, write floor and full import of a generated Flex statement.
    Import(crate::bench::import::BenchImportArgs),
    /// Fill → ledger latency of the live subscription.
    Live(crate::bench::live::BenchLiveArgs),
    /// The CSV export of 1M fills: time, peak memory, a Python read-back.
    Export(crate::bench::export::BenchExportArgs),
    /// Enqueue→start latency and no-op throughput of the job queue on this database.
    Jobs {
        /// Jobs in the throughput run.
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
        /// Latency samples (one job at a time, idle queue).
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Concurrent workers in the throughput run.
        #[arg(long, default_value_t = 4)]
        workers: usize,
    },
    /// `fillbook worker` that also runs the no-op job kind `test.noop` (what the queue
    /// benchmark, the drills and the tests measure the queue with).
    Worker(WorkerCommandArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FILLBOOK_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Do not apply pending migrations on start (then `/readyz` reports them).
    #[arg(long, env = "FILLBOOK_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Directory with the built browser bundle (`pkg/`) and public assets.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "FILLBOOK_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Start a simulated IB Gateway (the `demo` scenario) on a free loopback port and use
    /// it instead of --ib-host/--ib-port.
    #[arg(long, env = "FILLBOOK_DEMO")]
    pub demo: bool,
    /// With --demo: seconds between the fills the demo gateway reports by itself (as
    /// fills of orders placed in TWS arrive); 0 = none.
    #[arg(long, env = "FILLBOOK_DEMO_FILL_EVERY", default_value_t = 20)]
    pub demo_fill_every: u64,
    #[command(flatten)]
    pub ib: IbArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub flex: FlexArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Roll back this many migrations instead of applying.
    #[arg(long, value_name = "STEPS")]
    pub down: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct IbSimArgs {
    /// Scenario to serve: `demo` or the path of a scenario JSON file.
    #[arg(long, default_value = "demo")]
    pub scenario: String,
    /// Serve N generated executions across thousands of orders instead (benchmarks).
    #[arg(long, value_name = "N", conflicts_with = "scenario")]
    pub generate: Option<usize>,
    /// Seed for --generate.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "IB_SIM_PORT", default_value_t = 4002)]
    pub port: u16,
    /// Fault: close each connection after sending N reply frames.
    #[arg(long, value_name = "N")]
    pub drop_after: Option<u64>,
    /// Fault: wait this many milliseconds before each reply frame.
    #[arg(long, value_name = "MS")]
    pub delay_ms: Option<u64>,
    /// Fault: close every connection during the handshake.
    #[arg(long)]
    pub refuse_handshake: bool,
    /// Fault: corrupt the first data frame after N reply frames.
    #[arg(long, value_name = "N")]
    pub malformed_after: Option<u64>,
    /// Fault: announce this server version (below 213 the client refuses it).
    #[arg(long, value_name = "V")]
    pub server_version: Option<i32>,
    /// Fault: accept each placed order, then drop the connection before answering.
    #[arg(long)]
    pub drop_on_place: bool,
}

/// Gateway options of a one-off sync; unset ones fall back to IB_HOST / IB_PORT / IB_CLIENT_ID.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub ib: IbArgs,
    /// Gateway host (overrides --ib-host).
    #[arg(long)]
    pub host: Option<String>,
    /// Gateway port (overrides --ib-port).
    #[arg(long)]
    pub port: Option<u16>,
    /// API client id (overrides --ib-client-id).
    #[arg(long)]
    pub client_id: Option<i32>,
    /// Seconds to wait for the gateway's handshake.
    #[arg(long, default_value_t = crate::ib::DEFAULT_CONNECT_TIMEOUT.as_secs())]
    pub connect_timeout_seconds: u64,
    /// Print the metrics as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SyncCommand {
    /// Pull executions and update trades (`trades.sync`, once).
    Trades {
        #[command(flatten)]
        args: SyncArgs,
        /// Days of executions to fetch (the gateway keeps at most 7).
        #[arg(long, default_value_t = 7)]
        lookback_days: u32,
    },
    /// Pull positions of every managed account (`positions.sync`, once).
    Positions {
        #[command(flatten)]
        args: SyncArgs,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_tree_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
