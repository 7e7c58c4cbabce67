//! Keyset pagination of the trades list on SQLite and PostgreSQL: walking every page in
//! either order returns each trade exactly once, in `(last_executed_at, id)` order, also
//! when many trades share a last-fill time (the cursor's tie-breaker).

use crate::support;

use app::models::TradeQuery;
use chrono::{Duration, TimeZone, Utc};
use fillbook::db::{accounts::upsert_accounts, read::list_trades, statement};
use sea_orm::ConnectionTrait;
use std::collections::BTreeSet;
use support::TestDb;

/// 25 trades whose last fills fall on only three instants.
async fn seed(t: &TestDb) -> Vec<(chrono::DateTime<Utc>, i32)> {
    let now = Utc::now();
    let accounts = upsert_accounts(&t.db, &BTreeSet::from(["DU100".to_string()]), now)
        .await
        .unwrap();
    let account = accounts["DU100"];
    let base = Utc.with_ymd_and_hms(2026, 11, 20, 14, 30, 0).unwrap();
    let mut expected = Vec::new();
    for i in 0..25 {
        let at = base + Duration::minutes(i % 3);
        t.db.execute_raw(statement(
            t.db.get_database_backend(),
            "INSERT INTO trades (account_id, match_key, status, total_quantity, last_executed_at, \
             fetched_at, created_at, updated_at) VALUES ($1, $2, 'filled', 1, $3, $4, $4, $4)",
            [
                account.into(),
                format!("ref:page-{i}").into(),
                at.into(),
                now.into(),
            ],
        ))
        .await
        .unwrap();
    }
    let everything = list_trades(
        &t.db,
        TradeQuery {
            limit: Some(500),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for trade in everything.items {
        expected.push((trade.last_executed_at.unwrap(), trade.id));
    }
    expected
}

/// Every page of 4 in `order`, as `(last_executed_at, id)`.
async fn walk(t: &TestDb, order: &str) -> Vec<(chrono::DateTime<Utc>, i32)> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        let page = list_trades(
            &t.db,
            TradeQuery {
                limit: Some(4),
                cursor: cursor.clone(),
                order: Some(order.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(
            page.items
                .iter()
                .map(|trade| (trade.last_executed_at.unwrap(), trade.id)),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            return seen;
        }
    }
    panic!("more pages than trades: the cursor does not advance");
}

support::db_test!(
    every_trade_once_in_key_order_across_pages_with_tied_times,
    |t: TestDb| async move {
        let all = seed(&t).await;
        assert_eq!(all.len(), 25);
        let mut desc = all.clone();
        desc.sort_by(|a, b| b.cmp(a));
        let mut asc = all.clone();
        asc.sort();
        assert_eq!(walk(&t, "desc").await, desc);
        assert_eq!(walk(&t, "asc").await, asc);
    }
);
