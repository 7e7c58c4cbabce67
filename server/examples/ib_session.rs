//! A client session against IB Gateway (or `fillbook ib-sim`) through Fillbook's adapter:
//! connect, accounts, executions (timed), positions, orders, and one market order.
//!
//! `cargo run -p server --example ib_session -- [PORT] [CLIENT_ID] [--no-order]`

use fillbook::ib::{Gateway, IbConnectOptions};
use ibapi::contracts::Contract;
use ibapi::orders::{Action, ExecutionFilter, Order};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let port = numbers.first().map_or(Ok(4002), |p| p.parse())?;
    let client_id = numbers.get(1).map_or(Ok(100), |c| c.parse())?;
    let place = !args.iter().any(|a| a == "--no-order");

    let gw = Gateway::connect(&IbConnectOptions::new("127.0.0.1", port, client_id)).await?;
    println!(
        "connected to {} as client {client_id}, server version {}",
        gw.addr(),
        gw.server_version()
    );
    let accounts = gw.managed_accounts().await?;
    println!("managed accounts: {}", accounts.join(", "));

    let started = Instant::now();
    let batch = gw.executions(ExecutionFilter::default()).await?;
    println!(
        "executions: {} with {} commission reports, drained in {:.3} s",
        batch.executions.len(),
        batch.commissions.len(),
        started.elapsed().as_secs_f64()
    );
    for e in batch.executions.iter().take(5) {
        let x = &e.execution;
        println!(
            "  {} {} {} {} {} @ {} order {} client {} perm {} ref {:?} time {:?}",
            x.execution_id,
            x.account_number,
            x.side,
            x.shares,
            e.contract.symbol,
            x.price,
            x.order_id,
            x.client_id,
            x.perm_id,
            x.order_reference,
            x.time
        );
    }

    let positions = gw.positions().await?;
    println!("positions: {}", positions.len());
    for p in positions.iter().take(8) {
        println!(
            "  {} {} {} {} avg cost {:.4}",
            p.account, p.contract.symbol, p.contract.con_id, p.position, p.avg_cost
        );
    }
    println!("open orders: {}", gw.open_orders().await?.len());
    println!("completed orders: {}", gw.completed_orders().await?.len());

    if place {
        let order_id = gw.next_order_id().await?;
        let order = Order {
            action: Action::Buy,
            total_quantity: 10.0,
            order_type: "MKT".into(),
            account: accounts.first().cloned().unwrap_or_default(),
            ..Order::default()
        };
        let out = gw
            .place_order(order_id, &Contract::stock("AAPL").build(), &order)
            .await?;
        println!(
            "placed order {order_id} BUY 10 AAPL MKT: status {:?}, filled {}, avg price {:?}, perm id {}, {} fill(s), {} commission report(s)",
            out.status,
            out.filled,
            out.avg_fill_price,
            out.perm_id,
            out.executions.len(),
            out.commissions.len()
        );
        for e in &out.executions {
            println!(
                "  fill {} {} @ {} at {}",
                e.execution.execution_id, e.execution.shares, e.execution.price, e.execution.time
            );
        }
        let batch = gw.executions(ExecutionFilter::default()).await?;
        println!("executions after the order: {}", batch.executions.len());
    }
    gw.disconnect().await;
    Ok(())
}
