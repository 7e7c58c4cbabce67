//! Every sea-orm entity matches the table it maps, on both databases: the same column
//! names. And the tables without an entity are exactly the ones listed here (queried with
//! SQL of their own), so a new table or a dropped entity shows up in this test.

use crate::support::{self, TestDb};
use fillbook::db::entities::*;
use sea_orm::{EntityTrait, IdenStatic, Iterable};

/// The table an entity maps and its columns, sorted.
fn entity<E: EntityTrait>() -> (String, Vec<String>) {
    let mut columns: Vec<String> = E::Column::iter().map(|c| c.as_str().to_string()).collect();
    columns.sort();
    (E::default().table_name().to_string(), columns)
}

/// Tables read and written with SQL of their own (no entity yet).
const WITHOUT_ENTITY: &[&str] = &[
    "account_limits",
    "api_tokens",
    "audit_events",
    "coverage",
    "execution_events",
    "flex_cancellations",
    "flex_credentials",
    "gateways",
    "live_sessions",
    "operators",
    "position_baselines",
    "schedule_runs",
    "seaql_migrations",
    "sessions",
];

support::db_test!(every_entity_matches_its_table, |t: TestDb| async move {
    let entities = [
        entity::<accounts::Entity>(),
        entity::<imports::Entity>(),
        entity::<jobs::Entity>(),
        entity::<order_events::Entity>(),
        entity::<orders::Entity>(),
        entity::<positions::Entity>(),
        entity::<trade_executions::Entity>(),
        entity::<trades::Entity>(),
    ];
    for (table, columns) in &entities {
        assert_eq!(
            &support::column_names(&t.db, table).await,
            columns,
            "entity `{table}`"
        );
    }
    let mut unmapped: Vec<String> = support::table_names(&t.db).await;
    unmapped.retain(|name| !entities.iter().any(|(table, _)| table == name));
    assert_eq!(unmapped, WITHOUT_ENTITY);
});
