//! The gateway goes away. (1) Restarted in the middle of a large sync: the job fails
//! visibly, is retried, and the ledger equals a clean run's. (2) Down for minutes while
//! orders are confirmed: the orders wait with a visible error, and once it returns each is
//! placed exactly once — also the one whose connection drops between `placeOrder` and the
//! gateway's answer.

use super::kill_worker::{completed, enqueue_sync};
use super::ledger;
use super::procs::{count, drop_postgres, fresh_postgres, job_state, until, worker};
use super::{DrillArgs, DrillReport};
use crate::clock::SystemClock;
use crate::error::Result;
use crate::ib::{Gateway, IbConnectOptions};
use fillbook_sim::{self as sim, Faults, Scenario};
use std::time::{Duration, Instant};

const LEASE_SECONDS: u64 = 6;
const RESTARTS: usize = 3;

pub async fn restart_mid_sync(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("gateway-restart");
    let sim = sim::start(Scenario::generate(args.executions, 11), Faults::default()).await?;
    let pg = &args.postgres_url;
    let (url, db, name) = fresh_postgres(pg).await?;
    let job = enqueue_sync(&db).await?;
    let started = Instant::now();
    let w = worker(&url, sim.port(), "drill-gw-clean", LEASE_SECONDS)?;
    completed(&db, job).await?;
    let clean_seconds = started.elapsed().as_secs_f64();
    drop(w);
    let clean = ledger::read(&db).await?;
    drop_postgres(db, &name, pg).await;

    for k in 0..RESTARTS {
        let (url, db, name) = fresh_postgres(pg).await?;
        let outcome: Result<()> = async {
            let job = enqueue_sync(&db).await?;
            let _w = worker(&url, sim.port(), &format!("drill-gw-{k}"), LEASE_SECONDS)?;
            until("the job running", Duration::from_secs(120), || async {
                Ok((job_state(&db, job).await?.state == "running").then_some(()))
            })
            .await?;
            let fraction = 0.02 + 0.2 * rand::random::<f64>();
            tokio::time::sleep(Duration::from_secs_f64(clean_seconds * fraction)).await;
            if job_state(&db, job).await?.state != "running" {
                report.notes.push(format!("restart {k}: the sync ended before the restart"));
            }
            sim.restart(Duration::from_secs(3));
            let restarted = Instant::now();
            completed(&db, job).await?;
            report.recovery_seconds.push(restarted.elapsed().as_secs_f64());
            let s = job_state(&db, job).await?;
            if s.attempt < 2 {
                report.notes.push(format!(
                    "restart {k}: the job completed on attempt {} (the restart hit after its last read)",
                    s.attempt
                ));
            }
            let got = ledger::read(&db).await?;
            let (lost, duplicated) = ledger::compare(&clean, &got);
            report.rows_lost += lost;
            report.rows_duplicated += duplicated;
            if got != clean {
                report.fail(format!("restart {k}: the ledger differs from the clean run's"));
            }
            Ok(())
        }
        .await;
        report.runs += 1;
        if let Err(e) = outcome {
            report.fail(format!("restart {k}: {e}"));
        }
        drop_postgres(db, &name, pg).await;
    }
    Ok(report)
}

/// The orders of this drill, by reference.
const ORDERS: [&str; 3] = ["drill-down-1", "drill-down-2", "drill-down-3"];

/// How many orders with `order_ref` the gateway holds (open and completed).
async fn at_gateway(port: u16, order_ref: &str) -> Result<usize> {
    let g = Gateway::connect(&IbConnectOptions::new("127.0.0.1", port, 777)).await?;
    let mut all = g.open_orders().await?;
    all.extend(g.completed_orders().await?);
    g.disconnect().await;
    Ok(all
        .iter()
        .filter(|o| o.order.order_ref == order_ref)
        .count())
}

async fn confirm(db: &sea_orm::DatabaseConnection, order_ref: &str) -> Result<i32> {
    let created = crate::orders::service::create_from_request(
        db,
        &SystemClock,
        app::models::NewOrderDto {
            account_id: 1,
            symbol: "AAPL".into(),
            sec_type: None,
            exchange: None,
            currency: None,
            side: "BUY".into(),
            order_type: "MKT".into(),
            quantity: 1.0,
            limit_price: None,
            tif: None,
            order_ref: Some(order_ref.into()),
        },
    )
    .await?;
    crate::orders::confirm_order(
        db,
        &SystemClock,
        created.order.id,
        &created.confirmation_token,
    )
    .await?;
    Ok(created.order.id)
}

pub async fn orders_while_down(args: &DrillArgs) -> Result<DrillReport> {
    let mut report = DrillReport::new("orders-gateway-down");
    let pg = &args.postgres_url;
    let sim = sim::start(Scenario::demo(), Faults::default()).await?;
    let (url, db, name) = fresh_postgres(pg).await?;
    let outcome: Result<()> = async {
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        crate::sync::positions::sync_positions_once(&db, &ib).await?;
        let down = Duration::from_secs(args.gateway_down_seconds);
        sim.restart(down);
        let went_down = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _w = worker(&url, sim.port(), "drill-orders", LEASE_SECONDS)?;
        for r in ORDERS {
            confirm(&db, r).await?;
        }
        // While it is away: the orders wait, and the failure is visible on the job.
        until("a visible error", Duration::from_secs(60), || async {
            let n = count(
                &db,
                "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'orders.submit' AND error IS NOT NULL",
            )
            .await?;
            Ok((n > 0).then_some(()))
        })
        .await?;
        let placed_early = count(
            &db,
            "SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('queued', 'submitting')",
        )
        .await?;
        if placed_early > 0 {
            report.fail(format!("{placed_early} orders left the queue while the gateway was down"));
        }
        // It comes back dropping the first connection that places an order before answering.
        let remaining = down.saturating_sub(went_down.elapsed());
        tokio::time::sleep(remaining.saturating_sub(Duration::from_millis(500))).await;
        sim.set_faults(Faults {
            drop_on_place: true,
            ..Faults::default()
        });
        until("an order in doubt", remaining + Duration::from_secs(180), || async {
            let n = count(
                &db,
                "SELECT COUNT(*) AS n FROM orders WHERE status = 'submitting' \
                 AND last_error LIKE '%outcome unknown%'",
            )
            .await?;
            Ok((n > 0).then_some(()))
        })
        .await?;
        sim.set_faults(Faults::default());
        let back = Instant::now();
        until("every order placed", Duration::from_secs(300), || async {
            let n = count(
                &db,
                "SELECT COUNT(*) AS n FROM orders WHERE status IN ('queued', 'submitting')",
            )
            .await?;
            Ok((n == 0).then_some(()))
        })
        .await?;
        report.recovery_seconds.push(back.elapsed().as_secs_f64());
        for r in ORDERS {
            let n = at_gateway(sim.port(), r).await? as i64;
            if n != 1 {
                report.fail(format!("order {r} is at the gateway {n} times"));
            }
            report.rows_lost += (1 - n).max(0);
            report.rows_duplicated += (n - 1).max(0);
        }
        let attempts = count(&db, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'orders.submit'").await?;
        report.notes.push(format!(
            "gateway down {} s; {attempts} orders.submit jobs; every order placed {:.1} s after it returned",
            down.as_secs(),
            back.elapsed().as_secs_f64()
        ));
        Ok(())
    }
    .await;
    report.runs += 1;
    if let Err(e) = outcome {
        report.fail(format!("{e}; {}", orders_state(&db).await));
    }
    drop_postgres(db, &name, pg).await;
    Ok(report)
}

/// The orders and orders.submit jobs, for a failure report.
async fn orders_state(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::ConnectionTrait;
    let mut out = Vec::new();
    for sql in [
        "SELECT 'order ' || id || ' ' || status || ' ' || COALESCE(last_error, '') AS t FROM orders ORDER BY id",
        "SELECT 'job ' || id || ' ' || state || ' attempt ' || attempt || ' ' || COALESCE(error, '') AS t \
         FROM jobs WHERE kind = 'orders.submit' ORDER BY id",
    ] {
        if let Ok(rows) = db
            .query_all_raw(crate::db::statement(db.get_database_backend(), sql, Vec::<sea_orm::Value>::new()))
            .await
        {
            out.extend(rows.into_iter().filter_map(|r| r.try_get::<String>("", "t").ok()));
        }
    }
    out.join(" | ")
}
