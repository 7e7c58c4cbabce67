//! Subcommand dispatch: parse the one config struct, run, and turn any error into one
//! clear sentence on stderr with a non-zero exit status.

pub mod accounts;
#[cfg(feature = "demo")]
pub mod demo;
pub mod users;

use crate::auth::Caller;
use crate::config::{
    Cli, Command, FlexArgs, FlexCommand, FlexCredentialsCommand, IbArgs, ImportCommand,
    JobsCommand, LiveArgs, MigrateArgs, OrdersCommand, ServeArgs, WorkerArgs, WorkerCommandArgs,
};
use crate::error::{Error, Result};
use crate::gateways::SyncSettings;
use crate::jobs::kinds;
use crate::{db, jobs, orders, web};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Entry point of the `fillbook` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<()> {
    let url = cli.global.database_url.clone();
    match cli.command {
        Command::Serve(args) => serve(&url, args).await,
        Command::Migrate(args) => migrate(&url, args).await,
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Api(args)) => {
            crate::bench::api::run(args).await
        }
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Sync(args)) => {
            crate::bench::sync::run(args).await
        }
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Import(args)) => {
            crate::bench::import::run(&url, args).await
        }
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Live(args)) => {
            crate::bench::live::run(args).await
        }
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Export(args)) => {
            crate::bench::export::run(args).await
        }
        Command::Mcp => {
            let db = db::connect(&url).await?;
            db::migrate(&db).await?;
            crate::tools::mcp::serve_stdio(db).await
        }
        #[cfg(feature = "demo")]
        Command::IbSim(args) => demo::ib_sim(args).await,
        Command::Worker(args) => worker(&url, args, |_| {}).await,
        Command::Sync(cmd) => sync_command(&url, cmd).await,
        Command::Jobs(cmd) => jobs_command(&url, cmd).await,
        Command::Orders(cmd) => orders_command(&url, cmd).await,
        Command::Users(cmd) => users::users(&db::connect_migrated(&url).await?, cmd).await,
        Command::Tokens(cmd) => users::tokens(&db::connect_migrated(&url).await?, cmd).await,
        Command::Import(ImportCommand::Flex { files, json }) => {
            accounts::import_files(&db::connect(&url).await?, &files, json).await
        }
        Command::Accounts(cmd) => accounts::accounts(&db::connect(&url).await?, cmd).await,
        Command::Flex(cmd) => flex_command(&url, cmd).await,
        #[cfg(feature = "demo")]
        Command::FlexSim(args) => demo::flex_sim(args).await,
        Command::Gateways(cmd) => gateways_command(&url, cmd).await,
        Command::Export(args) => export_command(&url, args).await,
        Command::Reconcile(args) => reconcile_command(&url, args).await,
        Command::Rebuild(args) => rebuild_command(&url, args).await,
        #[cfg(feature = "bench")]
        Command::Drills(args) => crate::drills::run(args).await,
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Jobs {
            jobs,
            samples,
            workers,
        }) => crate::bench::jobs::run(&url, jobs, samples, workers).await,
        #[cfg(feature = "bench")]
        Command::Bench(crate::config::BenchCommand::Worker(args)) => {
            worker(&url, args, crate::bench::jobs::register_noop).await
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `fillbook reconcile`: prints the findings (or JSON); `reconcile baseline` sets one.
/// Changes printed one per line before the rest is summarised.
const REBUILD_LINES: usize = 200;

async fn rebuild_command(url: &str, args: crate::config::RebuildArgs) -> Result<()> {
    use crate::sync::rebuild::{rebuild, RebuildOptions};
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    let opts = RebuildOptions {
        dry_run: args.dry_run,
        account: args.account,
        gateway_zone: args.ib.ib_time_zone,
    };
    let report = rebuild(&db, &opts).await?;
    if args.json {
        print_json(&report)?;
    } else {
        for f in &report.failures {
            println!(
                "cannot rebuild execution {} ({}, {}): {}",
                f.execution_id, f.ib_exec_id, f.account, f.reason
            );
        }
        for c in report.changes.iter().take(REBUILD_LINES) {
            println!(
                "execution {} ({}, {}) {}: {} -> {}",
                c.execution_id, c.ib_exec_id, c.account, c.kind, c.before, c.after
            );
        }
        if report.changes.len() > REBUILD_LINES {
            println!(
                "… and {} more changes",
                report.changes.len() - REBUILD_LINES
            );
        }
        let verb = if report.applied {
            "changed"
        } else {
            "would change"
        };
        println!(
            "rebuild{}: {} examined, {verb} {} fills, moved {}, {} canonical changes, {} trades touched, {} removed{}",
            if report.dry_run { " (dry run, nothing written)" } else { "" },
            report.examined,
            report.changed_executions,
            report.moved_executions,
            report.canonical_changes,
            report.trades_touched,
            report.trades_removed,
            if report.failures.is_empty() { String::new() } else { format!(", {} records unreadable: nothing changed", report.failures.len()) },
        );
    }
    if report.failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: "raw".into(),
            message: format!(
                "{} stored records cannot be normalised again; nothing was changed",
                report.failures.len()
            ),
        })
    }
}

async fn reconcile_command(url: &str, args: crate::config::ReconcileArgs) -> Result<()> {
    use crate::reconcile::{self, ReconcileOptions};
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    if let Some(crate::config::ReconcileCommand::Baseline {
        account,
        at,
        positions,
    }) = args.baseline
    {
        let as_of = crate::exports::parse_time("at", &at)?;
        let mut quantities = std::collections::BTreeMap::new();
        for p in positions {
            let (symbol, qty) = p
                .split_once('=')
                .and_then(|(s, q)| Some((s.trim().to_uppercase(), q.trim().parse::<f64>().ok()?)))
                .ok_or_else(|| {
                    Error::invalid("position", format!("`{p}` is not SYMBOL=QUANTITY"))
                })?;
            quantities.insert(symbol, qty);
        }
        reconcile::set_baseline(&db, &cli_actor(), &account, as_of, quantities).await?;
        println!("baseline of {account} set at {as_of}");
        return Ok(());
    }
    let opts = ReconcileOptions::new(args.account, Some(args.commission_hours))?;
    let report = reconcile::reconcile(&db, &opts).await?;
    if args.json {
        return print_json(&report);
    }
    for a in &report.accounts {
        println!(
            "{}: baseline {}, positions fetched {}",
            a.account,
            a.baseline_at.map_or("none".into(), |t| t.to_rfc3339()),
            a.positions_fetched_at
                .map_or("never".into(), |t| t.to_rfc3339())
        );
    }
    for f in &report.findings {
        println!(
            "{:<7} {:<18} {:<10} {}",
            f.severity, f.code, f.account, f.message
        );
    }
    if report.findings.is_empty() {
        println!("no findings");
    }
    Ok(())
}

/// `fillbook export fills|trades`: streams the CSV to a file or standard output and says on
/// standard error how many rows it wrote.
async fn export_command(url: &str, args: crate::config::ExportArgs) -> Result<()> {
    use crate::exports::{self, ExportFilter, ExportKind};
    use std::io::Write;
    let kind = ExportKind::parse("kind", &args.kind)?;
    let filter = ExportFilter {
        account: args.account,
        since: args
            .since
            .as_deref()
            .map(|t| exports::parse_time("since", t))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| exports::parse_time("until", t))
            .transpose()?,
        all_revisions: args.all_revisions,
    };
    if args.all_revisions && kind == ExportKind::Trades {
        return Err(Error::invalid(
            "all-revisions",
            "only a fills export has revisions",
        ));
    }
    let db = db::connect_migrated(url).await?;
    exports::validate(&db, &filter).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let rows = exports::write_csv(db, kind, filter, &mut out).await?;
    eprintln!("exported {rows} {}", kind.as_str());
    Ok(())
}

/// `fillbook gateways add|list|remove`, audited as the local user.
async fn gateways_command(url: &str, cmd: crate::config::GatewaysCommand) -> Result<()> {
    use crate::config::GatewaysCommand as G;
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    match cmd {
        G::Add {
            name,
            host,
            port,
            client_id,
            time_zone,
        } => {
            let g = crate::gateways::GatewayRow {
                name,
                host,
                port,
                client_id_base: client_id,
                time_zone,
            };
            crate::gateways::add(&db, &cli_actor(), &g).await?;
            println!(
                "gateway {} → {}:{} (client id {})",
                g.name, g.host, g.port, g.client_id_base
            );
        }
        G::List => {
            println!("default\t(--ib-host / --ib-port of the serving process)");
            for g in crate::gateways::list(&db).await? {
                println!(
                    "{}\t{}:{}\tclient id {}",
                    g.name, g.host, g.port, g.client_id_base
                );
            }
        }
        G::Remove { name } => {
            crate::gateways::remove(&db, &cli_actor(), &name).await?;
            println!("gateway {name} removed");
        }
    }
    Ok(())
}

/// The gateway defaults sync jobs start from.
fn sync_settings(ib: &IbArgs) -> SyncSettings {
    SyncSettings {
        host: ib.ib_host.clone(),
        port: ib.ib_port,
        client_id: ib.ib_client_id,
        connect_timeout: crate::ib::DEFAULT_CONNECT_TIMEOUT,
        lookback_days: kinds::DEFAULT_LOOKBACK_DAYS,
        time_zone: ib.ib_time_zone,
    }
}

/// The job worker of this process, configured from `args`, with the product's handlers and
/// whatever `extra` adds to them.
fn job_worker(
    db: &sea_orm::DatabaseConnection,
    args: &WorkerArgs,
    ib: &IbArgs,
    flex: &FlexArgs,
    extra: impl FnOnce(&mut jobs::HandlerRegistry),
) -> jobs::Worker {
    let mut registry = crate::work::handlers::registry_with_flex(sync_settings(ib), flex.options());
    extra(&mut registry);
    jobs::Worker::new(db.clone(), registry, args.worker_config())
}

/// Starts what runs beside a job worker: the schedules and (unless `--no-live`) the live
/// fill supervisor. They stop (releasing the live leases) once `shutdown_signal` fires.
fn worker_companions(
    db: &sea_orm::DatabaseConnection,
    holder: &str,
    worker: &WorkerArgs,
    live: &LiveArgs,
    ib: &IbArgs,
) -> tokio::task::JoinHandle<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let schedules = tokio::spawn(crate::work::schedule::run(
        db.clone(),
        worker.schedules(),
        std::sync::Arc::new(crate::clock::SystemClock),
        stopped.clone(),
    ));
    let supervisor = (!live.no_live).then(|| {
        let config = crate::live::LiveConfig {
            holder: holder.to_string(),
            lease: Duration::from_secs(live.live_lease_seconds.max(1)),
            catch_up: Duration::from_secs(live.live_catch_up_seconds.max(1)),
            defaults: sync_settings(ib),
        };
        tokio::spawn(crate::live::supervise(db.clone(), config, stopped))
    });
    tokio::spawn(async move {
        let _ = schedules.await;
        if let Some(s) = supervisor {
            let _ = s.await;
        }
    })
}

/// `fillbook worker` (and `fillbook bench worker`, whose `extra` adds its no-op kind).
async fn worker(
    url: &str,
    args: WorkerCommandArgs,
    extra: impl FnOnce(&mut jobs::HandlerRegistry),
) -> Result<()> {
    let db = db::connect_migrated(url).await?;
    let worker = job_worker(&db, &args.worker, &args.ib, &args.flex, extra);
    println!("job worker {} running", worker.id());
    let companions = worker_companions(&db, worker.id(), &args.worker, &args.live, &args.ib);
    worker.run(shutdown_signal()).await?;
    let _ = companions.await;
    Ok(())
}

async fn jobs_command(url: &str, cmd: JobsCommand) -> Result<()> {
    let db = db::connect_migrated(url).await?;
    match cmd {
        JobsCommand::Enqueue { kind, payload } => {
            let payload = match payload {
                Some(text) => serde_json::from_str(&text).map_err(|e| {
                    Error::invalid("payload", format!("--payload is not valid JSON: {e}"))
                })?,
                None => serde_json::Value::Null,
            };
            let (job, inserted) =
                crate::audited::enqueue_job(&db, &Caller::local(), &kind, payload).await?;
            let mut out = jobs::describe(&jobs::queue::get(&db, job.id).await?);
            out["inserted"] = inserted.into();
            print_json(&out)
        }
        JobsCommand::List { kind, state, limit } => {
            let page = db::read::list_jobs(
                &db,
                app::models::JobQuery {
                    kind,
                    state,
                    limit,
                    ..Default::default()
                },
            )
            .await?;
            print_json(&page)
        }
        JobsCommand::Show { id } => print_json(&jobs::describe(&jobs::queue::get(&db, id).await?)),
        JobsCommand::Cancel { id } => {
            crate::audited::cancel_job(&db, &Caller::local(), id).await?;
            print_json(&jobs::describe(&jobs::queue::get(&db, id).await?))
        }
        JobsCommand::Retry { id } => {
            crate::audited::retry_job(&db, &Caller::local(), id).await?;
            print_json(&jobs::describe(&jobs::queue::get(&db, id).await?))
        }
    }
}

async fn orders_command(url: &str, cmd: OrdersCommand) -> Result<()> {
    let db = db::connect_migrated(url).await?;
    match cmd {
        OrdersCommand::Create(args) => {
            let order = orders::NewOrder {
                account_code: args.account,
                symbol: args.symbol,
                side: args.side,
                quantity: args.quantity,
                order_type: args.order_type,
                limit_price: args.limit_price,
                tif: args.tif,
                order_ref: args.order_ref,
            };
            print_json(&crate::audited::prepare(&db, &Caller::local(), order).await?)
        }
        OrdersCommand::Confirm { id, token } => {
            print_json(&crate::audited::confirm_order(&db, &Caller::local(), id, &token).await?)
        }
        OrdersCommand::List { status, limit } => {
            let page = db::read::list_orders(
                &db,
                app::models::OrderQuery {
                    status,
                    limit,
                    ..Default::default()
                },
            )
            .await?;
            print_json(&page)
        }
    }
}

/// `fillbook flex …`: credentials (audited; tokens never printed) and a fetch now.
async fn flex_command(url: &str, cmd: FlexCommand) -> Result<()> {
    use crate::flex::credentials;
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    match cmd {
        FlexCommand::Credentials(FlexCredentialsCommand::Set {
            name,
            query_id,
            token_env,
        }) => {
            let token = match token_env {
                Some(var) => std::env::var(&var).map_err(|_| {
                    Error::invalid(
                        "token_env",
                        format!("the environment variable {var} is not set"),
                    )
                })?,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| Error::invalid("token", format!("cannot read stdin: {e}")))?;
                    line
                }
            };
            let replaced =
                credentials::set(&db, &cli_actor(), &name, &query_id, token.trim()).await?;
            let verb = if replaced { "replaced" } else { "stored" };
            println!("flex credentials `{name}` {verb} (query {query_id})");
            Ok(())
        }
        FlexCommand::Credentials(FlexCredentialsCommand::List) => {
            print_json(&credentials::list(&db).await?)
        }
        FlexCommand::Credentials(FlexCredentialsCommand::Remove { name }) => {
            credentials::remove(&db, &cli_actor(), &name).await?;
            println!("flex credentials `{name}` removed");
            Ok(())
        }
        FlexCommand::Fetch { name, flex, json } => {
            let m = crate::imports::fetch::fetch_and_import(&db, &flex.options(), &name).await?;
            if json {
                return print_json(&m);
            }
            println!(
                "flex fetch `{name}`: reference {}, {} bytes, {} executions read, {} new, {} updated, {} cancellations, {} skipped",
                m.reference_code,
                m.statement_bytes,
                m.import.executions_read,
                m.import.executions_inserted,
                m.import.executions_updated,
                m.import.cancellations_read,
                m.import.skipped_count,
            );
            Ok(())
        }
    }
}

async fn migrate(url: &str, args: MigrateArgs) -> Result<()> {
    let db = db::connect(url).await?;
    match args.down {
        Some(steps) => {
            db::migrate_down(&db, steps).await?;
            println!("rolled back {steps} migration(s)");
        }
        None => {
            let pending = db::pending_migrations(&db).await?;
            db::migrate(&db).await?;
            println!("applied {pending} migration(s); the database is current");
        }
    }
    Ok(())
}

#[cfg_attr(not(feature = "demo"), allow(unused_mut))]
async fn serve(url: &str, mut args: ServeArgs) -> Result<()> {
    #[cfg(not(feature = "demo"))]
    if args.demo {
        return Err(Error::Config(
            "this build has no simulated gateway (built without the `demo` feature): point \
             --ib-host and --ib-port at a gateway"
                .into(),
        ));
    }
    #[cfg(feature = "demo")]
    let _demo_gateway = match args.demo {
        true => Some(demo::start_demo_gateway(&mut args.ib, args.demo_fill_every).await?),
        false => None,
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| Error::Bind {
            addr: args.bind.to_string(),
            reason: e.to_string(),
        })?;
    let db = db::connect(url).await?;
    if !args.no_migrate {
        db::migrate(&db).await?;
    }
    let pkg = args
        .site_root
        .join("pkg")
        .join(format!("{}.js", app::OUTPUT_NAME));
    if !pkg.exists() {
        tracing::warn!(
            "the browser bundle {} is missing: pages render but do not hydrate (build it with `make site`)",
            pkg.display()
        );
    }
    let local = listener.local_addr().map_err(|e| Error::Bind {
        addr: args.bind.to_string(),
        reason: e.to_string(),
    })?;
    let worker = (args.worker.workers > 0).then(|| {
        let worker = job_worker(&db, &args.worker, &args.ib, &args.flex, |_| {});
        let companions = worker_companions(&db, worker.id(), &args.worker, &args.live, &args.ib);
        tokio::spawn(async move {
            worker.run(shutdown_signal()).await?;
            let _ = companions.await;
            Ok::<(), Error>(())
        })
    });
    let options = web::leptos_options(&args.site_root, local);
    let info = crate::state::server_info(&args.ib.ib_host, args.ib.ib_port, args.demo);
    let auth = std::sync::Arc::new(crate::auth::Auth::new(args.auth.settings()));
    if crate::auth::operators::count(&db).await? == 0 {
        let token = auth.arm_setup(args.auth.setup_token.clone());
        // On the console only (never through the log): whoever can read it may claim the
        // instance.
        println!("No operator exists yet. Create the first administrator at:");
        println!("  http://{local}/setup?token={token}");
    }
    let state = crate::state::AppState::with_gateway(db, options, info.clone())
        .with_schedules(info, args.worker.schedules())
        .with_auth(auth);
    let app = web::router(state, Duration::from_secs(args.request_timeout_seconds));
    tracing::info!("Fillbook listening on http://{local}");
    println!("Fillbook listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| Error::Internal(format!("server error: {e}")))?;
    if let Some(worker) = worker {
        worker
            .await
            .map_err(|e| Error::Internal(format!("job worker task failed: {e}")))??;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// `fillbook sync trades|positions`: migrates if needed, syncs once, prints a summary or JSON.
async fn sync_command(url: &str, cmd: crate::config::SyncCommand) -> Result<()> {
    use crate::config::SyncCommand;
    let db = db::connect(url).await?;
    db::migrate(&db).await?;
    let (args, what) = match &cmd {
        SyncCommand::Trades { args, .. } => (args, "trades"),
        SyncCommand::Positions { args } => (args, "positions"),
    };
    let ib = crate::ib::IbConnectOptions {
        host: args.host.clone().unwrap_or_else(|| args.ib.ib_host.clone()),
        port: args.port.unwrap_or(args.ib.ib_port),
        client_id: args.client_id.unwrap_or(args.ib.ib_client_id),
        connect_timeout: Duration::from_secs(args.connect_timeout_seconds.max(1)),
        time_zone: args.ib.ib_time_zone,
    };
    let (value, summary) = match cmd {
        SyncCommand::Trades { lookback_days, .. } => {
            let m =
                crate::sync::trades::sync_trades_once(&db, &ib, lookback_days, Some("cli".into()))
                    .await?;
            let summary = format!(
                "trades sync: {} fetched, {} new, {} updated, {} canonical changes, {} trades touched, {} skipped ({} → {})",
                m.fetched_executions_count,
                m.inserted_executions_count,
                m.updated_executions_count,
                m.canonical_changes_count,
                m.touched_trades_count,
                m.skipped_executions_count,
                m.window_start.format("%Y-%m-%d %H:%M"),
                m.window_end.format("%Y-%m-%d %H:%M UTC"),
            );
            (serde_json::to_value(&m), summary)
        }
        SyncCommand::Positions { .. } => {
            let m = crate::sync::positions::sync_positions_once(&db, &ib).await?;
            let summary = format!(
                "positions sync: {} accounts, {} positions, {} closed",
                m.accounts_count, m.fetched_positions_count, m.zeroed_positions_count
            );
            (serde_json::to_value(&m), summary)
        }
    };
    let value = value.map_err(|e| Error::Internal(format!("cannot print {what} metrics: {e}")))?;
    if args.json {
        print_json(&value)
    } else {
        println!("{summary}");
        Ok(())
    }
}

/// The audit log's name for whoever runs the command line.
pub fn cli_actor() -> app::models::Actor {
    Caller::local().actor
}
