//! Every sea-orm entity matches the table it maps, on both databases: the same column
//! names. And the tables without an entity are exactly the ones listed here (queried with
//! SQL of their own), so a new table or a dropped entity shows up in this test.

use crate::support::{self, TestDb};
use fillbook::db::entities::*;
use sea_orm::{ColumnTrait, EntityTrait, IdenStatic, Iterable};

/// The table an entity maps and its columns, sorted.
fn entity<E: EntityTrait>() -> (String, Vec<String>) {
    let mut columns: Vec<String> = E::Column::iter().map(|c| c.as_str().to_string()).collect();
    columns.sort();
    (E::default().table_name().to_string(), columns)
}

/// Tables without an entity: the migration tool's own.
const WITHOUT_ENTITY: &[&str] = &["seaql_migrations"];

support::db_test!(every_entity_matches_its_table, |t: TestDb| async move {
    let entities = [
        entity::<account_limits::Entity>(),
        entity::<accounts::Entity>(),
        entity::<api_tokens::Entity>(),
        entity::<audit_events::Entity>(),
        entity::<coverage::Entity>(),
        entity::<execution_events::Entity>(),
        entity::<flex_cancellations::Entity>(),
        entity::<flex_credentials::Entity>(),
        entity::<gateways::Entity>(),
        entity::<imports::Entity>(),
        entity::<jobs::Entity>(),
        entity::<live_sessions::Entity>(),
        entity::<operators::Entity>(),
        entity::<order_events::Entity>(),
        entity::<orders::Entity>(),
        entity::<position_baselines::Entity>(),
        entity::<positions::Entity>(),
        entity::<schedule_runs::Entity>(),
        entity::<sessions::Entity>(),
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

// Every relation joins on columns that exist, both ways, on both databases: a seeded fill
// is reached from its account, its trade and back.
support::db_test!(every_relation_joins, |t: TestDb| async move {
    use sea_orm::{ModelTrait, QueryFilter};
    let db = &t.db;
    support::seed_demo(db, true).await;
    let fill = trade_executions::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("a fill");
    let trade = fill
        .find_related(trades::Entity)
        .one(db)
        .await
        .unwrap()
        .expect("its trade");
    let account = trade
        .find_related(accounts::Entity)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.id, fill.account_id);
    let fills = trade
        .find_related(trade_executions::Entity)
        .all(db)
        .await
        .unwrap();
    assert!(fills.iter().any(|f| f.id == fill.id));
    assert!(!account
        .find_related(trades::Entity)
        .all(db)
        .await
        .unwrap()
        .is_empty());
    assert!(!account
        .find_related(positions::Entity)
        .all(db)
        .await
        .unwrap()
        .is_empty());
    // The relations of the other tables join without error (empty here).
    account.find_related(orders::Entity).all(db).await.unwrap();
    account
        .find_related(coverage::Entity)
        .all(db)
        .await
        .unwrap();
    account
        .find_related(flex_cancellations::Entity)
        .all(db)
        .await
        .unwrap();
    account
        .find_related(account_limits::Entity)
        .one(db)
        .await
        .unwrap();
    account
        .find_related(position_baselines::Entity)
        .one(db)
        .await
        .unwrap();
    fill.find_related(execution_events::Entity)
        .all(db)
        .await
        .unwrap();
    orders::Entity::find()
        .find_with_related(order_events::Entity)
        .all(db)
        .await
        .unwrap();
    operators::Entity::find()
        .find_with_related(sessions::Entity)
        .filter(operators::Column::IsAdmin.eq(true))
        .all(db)
        .await
        .unwrap();
    // Rows written by the services decode into their entities (types, not only names).
    let caller = fillbook::auth::Caller::local();
    fillbook::audited::add_operator(db, &caller, "ent", "a long enough password", false)
        .await
        .unwrap();
    fillbook::audited::create_token(db, &caller, "ent", &[fillbook::auth::Scope::TradesRead])
        .await
        .unwrap();
    assert_eq!(operators::Entity::find().all(db).await.unwrap().len(), 1);
    assert_eq!(api_tokens::Entity::find().all(db).await.unwrap().len(), 1);
    assert_eq!(audit_events::Entity::find().all(db).await.unwrap().len(), 2);
});
