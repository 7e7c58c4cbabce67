//! Per-account order limits on both databases: absurd and fractional sizes are refused when
//! the order is prepared (422 naming the limit), the confirmation step shows the limits, an
//! administrator's limits apply, and a limit lowered after the confirmation stops the order
//! when it is submitted.

use crate::support;

use fillbook::clock::SystemClock;
use fillbook::error::Error;
use fillbook::ib::IbConnectOptions;
use fillbook::orders::limits::{self, Limits};
use fillbook_sim::{self as sim, Faults, Scenario};
use sea_orm::EntityTrait;
use support::TestDb;

fn order(symbol: &str, quantity: f64, limit_price: Option<f64>) -> app::models::NewOrderDto {
    app::models::NewOrderDto {
        account_id: 1,
        symbol: symbol.into(),
        sec_type: None,
        exchange: None,
        currency: None,
        side: "BUY".into(),
        order_type: if limit_price.is_some() { "LMT" } else { "MKT" }.into(),
        quantity,
        limit_price,
        tif: None,
        order_ref: None,
    }
}

async fn prepare(
    db: &sea_orm::DatabaseConnection,
    o: app::models::NewOrderDto,
) -> Result<app::models::OrderCreatedDto, Error> {
    fillbook::orders::service::create_from_request(db, &SystemClock, o).await
}

fn field(r: Result<app::models::OrderCreatedDto, Error>) -> String {
    match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

support::db_test!(
    orders_are_checked_against_the_account_limits,
    |t: TestDb| async move {
        let sim = sim::start(Scenario::demo(), Faults::default())
            .await
            .unwrap();
        let ib = IbConnectOptions::new("127.0.0.1", sim.port(), 100);
        fillbook::sync::trades::sync_trades_once(&t.db, &ib, 7, None)
            .await
            .unwrap();
        for q in [1e308, 1e9, 1e-7, 2.5] {
            assert_eq!(
                field(prepare(&t.db, order("AAPL", q, None)).await),
                "quantity",
                "{q}"
            );
        }
        let created = prepare(&t.db, order("AAPL", 10.0, None)).await.unwrap();
        assert_eq!(created.limits, vec!["max_quantity 10000".to_string()]);
        // An administrator's limits.
        limits::set(
            &t.db,
            1,
            &Limits {
                max_quantity: Some(500.0),
                max_notional: Some(5_000.0),
                allowed_symbols: Some("AAPL,MSFT".into()),
                allowed_sec_types: None,
                allow_fractional: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            field(prepare(&t.db, order("TSLA", 1.0, Some(10.0))).await),
            "symbol"
        );
        assert_eq!(
            field(prepare(&t.db, order("AAPL", 501.0, Some(1.0))).await),
            "quantity"
        );
        assert_eq!(
            field(prepare(&t.db, order("AAPL", 100.0, Some(190.0))).await),
            "max_notional"
        );
        let ok = prepare(&t.db, order("AAPL", 2.5, Some(190.0)))
            .await
            .unwrap();
        assert!(
            ok.limits.iter().any(|l| l.starts_with("max_notional 5000")),
            "{:?}",
            ok.limits
        );

        // Lowered after the confirmation: the worker refuses to place it.
        fillbook::orders::confirm_order(&t.db, &SystemClock, ok.order.id, &ok.confirmation_token)
            .await
            .unwrap();
        limits::set(
            &t.db,
            1,
            &Limits {
                max_quantity: Some(1.0),
                allow_fractional: true,
                ..Limits::default()
            },
        )
        .await
        .unwrap();
        let tally = fillbook::orders::worker::submit_queued(&t.db, &ib)
            .await
            .unwrap();
        assert_eq!(tally["rejected"], 1, "{tally}");
        let row = fillbook::db::entities::orders::Entity::find_by_id(ok.order.id)
            .one(&t.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "rejected");
        assert!(row.last_error.unwrap_or_default().contains("max_quantity"));
    }
);
