//! Turning scenario rows into protobuf messages and frames, and reading the execution
//! time shapes IB uses (for the time filter of an executions request).

use super::proto::{self, reply, Contract, Order, OrderState, OrderStatus};
use super::scenario::{SimContract, SimExecution, SimOrder};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// A quantity as IB's decimal strings spell it (`100`, `0.5`).
pub fn qty(value: f64) -> String {
    format!("{value}")
}

/// The wire contract of a scenario contract.
pub fn contract(c: &SimContract) -> Contract {
    Contract {
        con_id: Some(c.con_id),
        symbol: Some(c.symbol.clone()),
        sec_type: Some(c.sec_type.clone()),
        last_trade_date_or_contract_month: c.last_trade_date.clone(),
        strike: c.strike,
        right: c.right.clone(),
        multiplier: c.multiplier,
        exchange: Some(c.exchange.clone()),
        primary_exch: c.primary_exchange.clone(),
        currency: Some(c.currency.clone()),
        local_symbol: Some(c.local_symbol.clone().unwrap_or_else(|| c.symbol.clone())),
        trading_class: None,
    }
}

/// The `ExecutionDetails` body (contract + execution) of a scenario execution.
pub fn execution_body(e: &SimExecution) -> proto::ExecutionDetailsBody {
    proto::ExecutionDetailsBody {
        contract: Some(contract(&e.contract)),
        execution: Some(proto::Execution {
            order_id: Some(e.order_id),
            exec_id: Some(e.exec_id.clone()),
            time: Some(e.time.clone()),
            acct_number: Some(e.account.clone()),
            exchange: Some(e.exchange.clone()),
            side: Some(e.side.as_str().to_string()),
            shares: Some(qty(e.shares)),
            price: Some(e.price),
            perm_id: Some(e.perm_id),
            client_id: Some(e.client_id),
            is_liquidation: None,
            cum_qty: Some(qty(e.cum_qty.unwrap_or(e.shares))),
            avg_price: Some(e.avg_price.unwrap_or(e.price)),
            order_ref: e.order_ref.clone(),
            model_code: None,
            last_liquidity: Some(1),
        }),
    }
}

/// The wire order of a scenario order.
pub fn order(o: &SimOrder) -> Order {
    Order {
        client_id: Some(o.client_id),
        order_id: Some(o.order_id),
        perm_id: Some(o.perm_id),
        parent_id: None,
        action: Some(o.action.clone()),
        total_quantity: Some(qty(o.total_quantity)),
        order_type: Some(o.order_type.clone()),
        lmt_price: o.limit_price,
        aux_price: o.aux_price,
        tif: Some(o.tif.clone()),
        account: Some(o.account.clone()),
        order_ref: o.order_ref.clone(),
        filled_quantity: Some(qty(o.filled)),
    }
}

fn order_state(o: &SimOrder) -> OrderState {
    OrderState {
        status: Some(o.status.clone()),
        commission_and_fees: None,
        commission_and_fees_currency: None,
        reject_reason: None,
        completed_time: o.completed_time.clone(),
        completed_status: o.completed_status.clone(),
    }
}

/// `OpenOrder` frame of an order.
pub fn open_order_frame(o: &SimOrder) -> Vec<u8> {
    proto::frame(
        reply::OPEN_ORDER,
        &proto::OpenOrder {
            order_id: Some(o.order_id),
            contract: Some(contract(&o.contract)),
            order: Some(order(o)),
            order_state: Some(order_state(o)),
        },
    )
}

/// `CompletedOrder` frame of an order.
pub fn completed_order_frame(o: &SimOrder) -> Vec<u8> {
    proto::frame(
        reply::COMPLETED_ORDER,
        &proto::CompletedOrder {
            contract: Some(contract(&o.contract)),
            order: Some(order(o)),
            order_state: Some(order_state(o)),
        },
    )
}

/// `OrderStatus` frame of an order; `last_fill_price` is the price of the fill it reports.
pub fn order_status_frame(o: &SimOrder, last_fill_price: Option<f64>) -> Vec<u8> {
    proto::frame(
        reply::ORDER_STATUS,
        &OrderStatus {
            order_id: Some(o.order_id),
            status: Some(o.status.clone()),
            filled: Some(qty(o.filled)),
            remaining: Some(qty((o.total_quantity - o.filled).max(0.0))),
            avg_fill_price: Some(o.avg_fill_price),
            perm_id: Some(o.perm_id),
            parent_id: Some(0),
            last_fill_price: Some(last_fill_price.unwrap_or(0.0)),
            client_id: Some(o.client_id),
            why_held: None,
        },
    )
}

/// An `Error` frame: `id` is the request or order id (-1 for none).
pub fn error_frame(id: i32, code: i32, message: &str) -> Vec<u8> {
    proto::frame(
        reply::ERROR,
        &proto::ErrorMessage {
            id: Some(id),
            error_time: Some(Utc::now().timestamp_millis()),
            error_code: Some(code),
            error_msg: Some(message.to_string()),
        },
    )
}

/// The instant of an IB time string, or `None` when its shape or zone is unknown:
/// `20231214-20:57:37` (UTC), `20230224  12:04:56` (gateway local, `local_zone`),
/// `20231215 10:30:00 US/Eastern` / `… EST` / `… MET` (named zone).
pub fn parse_ib_time(text: &str, local_zone: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y%m%d-%H:%M:%S") {
        return Some(t.and_utc());
    }
    let (stamp, zone) = match text.split_once("  ") {
        Some((date, time)) => (format!("{date} {time}"), local_zone),
        None => {
            let mut parts = text.splitn(3, ' ');
            let (date, time) = (parts.next()?, parts.next()?);
            (format!("{date} {time}"), parts.next().unwrap_or(local_zone))
        }
    };
    let naive = NaiveDateTime::parse_from_str(&stamp, "%Y%m%d %H:%M:%S").ok()?;
    let tz: chrono_tz::Tz = zone.trim().parse().ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::parse_ib_time;

    #[test]
    fn reads_every_time_shape() {
        let utc = |s: &str| parse_ib_time(s, "US/Eastern").map(|t| t.to_rfc3339());
        assert_eq!(
            utc("20231214-20:57:37").unwrap(),
            "2023-12-14T20:57:37+00:00"
        );
        assert_eq!(
            utc("20231215 10:30:00 US/Eastern").unwrap(),
            "2023-12-15T15:30:00+00:00"
        );
        assert_eq!(
            utc("20231215 10:30:00 EST").unwrap(),
            "2023-12-15T15:30:00+00:00"
        );
        assert_eq!(
            utc("20231215 10:30:00 MET").unwrap(),
            "2023-12-15T09:30:00+00:00"
        );
        assert_eq!(
            utc("20230224  12:04:56").unwrap(),
            "2023-02-24T17:04:56+00:00"
        );
        assert_eq!(utc("20231215 10:30:00 Mars/Olympus"), None);
    }
}
