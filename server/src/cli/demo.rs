//! The simulator commands (`fillbook ib-sim`, `fillbook flex-sim`) and the demo gateway of
//! `serve --demo`; built with the `demo` feature only.

use super::shutdown_signal;
use crate::config::{FlexSimArgs, IbArgs, IbSimArgs};
use crate::error::{Error, Result};
use fillbook_sim::{self as sim, Faults, Scenario};
use std::time::Duration;

pub async fn flex_sim(args: FlexSimArgs) -> Result<()> {
    use fillbook_sim::flex_ws;
    let statements = args
        .statements
        .iter()
        .map(|path| {
            std::fs::read(path).map_err(|e| {
                Error::invalid("statement", format!("cannot read {}: {e}", path.display()))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let fault = args
        .fail_with
        .as_deref()
        .map(flex_ws::FlexFault::parse)
        .transpose()?;
    let handle = flex_ws::start_on(
        flex_ws::FlexSimConfig {
            token: args.token,
            query_id: args.query_id.clone(),
            statements,
            token_expired: args.expired_token,
            fault,
            delay: Duration::from_millis(args.delay_ms),
        },
        args.port,
    )
    .await?;
    println!(
        "Flex Web Service simulator on {} (query {}, {} statement(s))",
        handle.base_url(),
        args.query_id,
        args.statements.len()
    );
    shutdown_signal().await;
    Ok(())
}

pub async fn ib_sim(args: IbSimArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let scenario = match args.generate {
        Some(n) => Scenario::generate(n, args.seed),
        None if args.scenario == "demo" => Scenario::demo(),
        None => Scenario::from_json_file(&args.scenario)?,
    };
    let faults = sim_faults(&args, scenario.faults.clone());
    let summary = format!(
        "{} executions, {} open and {} completed orders, accounts {}",
        scenario.executions.len(),
        scenario.open_orders.len(),
        scenario.completed_orders.len(),
        scenario.accounts.join(",")
    );
    let shown = match faults == Faults::default() {
        true => String::new(),
        false => format!(
            "; faults {}",
            serde_json::to_string(&faults).unwrap_or_default()
        ),
    };
    let handle = sim::start_on(scenario, faults, args.port).await?;
    println!(
        "IB Gateway simulator listening on {} ({summary}; ready in {:.2} s{shown})",
        handle.addr(),
        started.elapsed().as_secs_f64()
    );
    shutdown_signal().await;
    handle.stop();
    Ok(())
}

/// Starts the simulator with the demo scenario and points `ib` at it; the gateway runs
/// as long as the returned handle lives.
pub async fn start_demo_gateway(
    ib: &mut IbArgs,
    fill_every_seconds: u64,
) -> Result<sim::SimHandle> {
    let mut scenario = Scenario::demo();
    // The live connection is the demo gateway's master client: it hears every fill.
    scenario.master_client_id = Some(ib.ib_client_id + crate::live::LIVE_CLIENT_OFFSET);
    scenario.live_every_ms = (fill_every_seconds > 0).then_some(fill_every_seconds * 1000);
    let handle = sim::start(scenario, Faults::default()).await?;
    ib.ib_host = "127.0.0.1".to_string();
    ib.ib_port = handle.port();
    tracing::info!("demo gateway: simulated IB Gateway on {}", handle.addr());
    println!("demo gateway: simulated IB Gateway on {}", handle.addr());
    Ok(handle)
}

/// The scenario's faults with the command-line flags laid over them.
fn sim_faults(args: &IbSimArgs, mut faults: Faults) -> Faults {
    faults.drop_after = args.drop_after.or(faults.drop_after);
    faults.delay_ms = args.delay_ms.unwrap_or(faults.delay_ms);
    faults.refuse_handshake |= args.refuse_handshake;
    faults.malformed_after = args.malformed_after.or(faults.malformed_after);
    faults.server_version = args.server_version.or(faults.server_version);
    faults.drop_on_place |= args.drop_on_place;
    faults
}
