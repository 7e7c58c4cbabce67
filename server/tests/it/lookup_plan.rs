//! The ledger writer's lookups by base on PostgreSQL keep to one index probe per key when
//! the planner's statistics predate an account's fills, as they do inside a sync (they are
//! refreshed after its first batch only): the plan must put every key in the index
//! condition, never filter the account's whole index range.

use crate::support;

use chrono::{TimeZone, Utc};
use fillbook::sync::trades::{apply_executions, lookup_statement};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn run(db: &impl ConnectionTrait, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
        .await
        .unwrap()
}

/// Copies the seed fill `n` times into `account`, with exec ids `<prefix>.<i>.01`.
async fn copy_seed(db: &impl ConnectionTrait, account: &str, prefix: &str, n: u32) {
    let columns: Vec<String> = run(
        db,
        "SELECT column_name FROM information_schema.columns \
         WHERE table_name = 'trade_executions' AND column_name <> 'id' ORDER BY ordinal_position",
    )
    .await
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "account_id" => format!("(SELECT id FROM accounts WHERE code = '{account}')"),
            "ib_exec_id" => format!("'{prefix}.' || g || '.01'"),
            "exec_id_base" => format!("'{prefix}.' || g"),
            other => other.to_string(),
        })
        .collect();
    run(
        db,
        &format!(
            "INSERT INTO trade_executions ({}) SELECT {} FROM trade_executions \
             CROSS JOIN generate_series(1, {n}) AS g WHERE ib_exec_id = 'seed.01'",
            columns.join(", "),
            values.join(", ")
        ),
    )
    .await;
}

#[tokio::test]
async fn a_lookup_by_base_probes_the_index_per_key_under_stale_statistics() {
    let t = support::postgres().await;
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
    apply_executions(
        &t.db,
        &["DU0000001".into()],
        vec![support::fill("DU0000001", "seed", 7001)],
        &[],
        now,
    )
    .await
    .unwrap();
    copy_seed(&t.db, "DU0000001", "a", 20_000).await;
    run(&t.db, "ANALYZE trade_executions").await;
    // An account the statistics have not seen, with as many fills.
    run(
        &t.db,
        "INSERT INTO accounts (code, created_at, updated_at) VALUES ('DU0000002', now(), now())",
    )
    .await;
    copy_seed(&t.db, "DU0000002", "b", 20_000).await;
    let account: i32 = run(&t.db, "SELECT id FROM accounts WHERE code = 'DU0000002'").await[0]
        .try_get_by_index(0)
        .unwrap();
    let keys: Vec<String> = (1..=200).map(|i| format!("b.{}", i * 97)).collect();
    let statement = lookup_statement(
        DbBackend::Postgres,
        "SELECT id, exec_id_base FROM trade_executions",
        "exec_id_base",
        account,
        &keys,
    );
    let found = t.db.query_all_raw(statement.clone()).await.unwrap();
    assert_eq!(found.len(), keys.len(), "one row per key");
    let explain = Statement {
        sql: format!("EXPLAIN {}", statement.sql),
        ..statement
    };
    let plan: Vec<String> =
        t.db.query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect();
    let plan = plan.join("\n");
    assert!(
        plan.lines()
            .any(|l| l.contains("Index Cond") && l.contains("exec_id_base")),
        "every key in the index condition:\n{plan}"
    );
    assert!(
        !plan.contains("Filter: (exec_id_base"),
        "the account's index range is not filtered:\n{plan}"
    );
}
