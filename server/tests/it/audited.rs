//! A side effect and its audit entry are one transaction: when the audit entry cannot be
//! written, the effect is not stored either (a job, a token, an operator), and when it can,
//! both are. The audit log is made to refuse inserts with a trigger, on both databases.

use crate::support;

use fillbook::audited;
use fillbook::auth::{Caller, Principal, Scope};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use support::TestDb;

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

/// Makes every insert into the audit log fail.
async fn break_audit_log(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        exec(
            db,
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$",
        )
        .await;
        exec(
            db,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
        .await;
    } else {
        exec(
            db,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END",
        )
        .await;
    }
}

async fn repair_audit_log(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        exec(db, "DROP TRIGGER refuse_audit ON audit_events").await;
    } else {
        exec(db, "DROP TRIGGER refuse_audit").await;
    }
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

support::db_test!(
    an_effect_whose_audit_entry_fails_is_not_stored,
    |t: TestDb| async move {
        let db = &t.db;
        let actor = Caller::local();
        break_audit_log(db).await;

        let enqueued = audited::enqueue_job(db, &actor, "trades.sync", serde_json::json!({})).await;
        assert!(
            enqueued.is_err(),
            "the enqueue must fail with its audit entry"
        );
        assert_eq!(
            count(db, "jobs").await,
            0,
            "a job was stored without its audit entry"
        );

        let token = audited::create_token(db, &actor, "bot", &[Scope::TradesRead]).await;
        assert!(token.is_err());
        assert_eq!(
            count(db, "api_tokens").await,
            0,
            "a token without its audit entry"
        );

        let added = audited::add_operator(db, &actor, "bob", "a long enough password", false).await;
        assert!(added.is_err());
        assert_eq!(
            count(db, "operators").await,
            0,
            "an operator without its audit entry"
        );

        repair_audit_log(db).await;
        let (job, inserted) =
            audited::enqueue_job(db, &actor, "trades.sync", serde_json::json!({}))
                .await
                .unwrap();
        assert!(inserted);
        assert_eq!(count(db, "jobs").await, 1);
        let (info, _) = audited::create_token(db, &actor, "bot", &[Scope::TradesRead])
            .await
            .unwrap();
        assert_eq!(count(db, "api_tokens").await, 1);
        let entries = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT action, target FROM audit_events ORDER BY id".to_string(),
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "action").unwrap(),
                    r.try_get::<Option<String>>("", "target").unwrap(),
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(
            entries,
            vec![
                ("job.enqueued".to_string(), Some(format!("job {}", job.id))),
                ("token.created".to_string(), Some(info.name)),
            ]
        );
    }
);

support::db_test!(
    concurrent_audited_effects_never_fail_on_the_database,
    |t: TestDb| async move {
        // Each effect reads before it writes, in its transaction. On SQLite a transaction
        // that began deferred cannot upgrade to a writer once another connection committed
        // after its first read (SQLITE_BUSY_SNAPSHOT): it must start as a writer.
        let actor = Caller::local();
        let mut ids = Vec::new();
        for n in 1..=6 {
            let payload = serde_json::json!({ "lookback_days": n });
            let (job, _) = audited::enqueue_job(&t.db, &actor, "positions.sync", payload)
                .await
                .unwrap();
            ids.push(job.id);
        }
        let mut tasks = Vec::new();
        for round in 0..8 {
            for &id in &ids {
                let db = t.db.clone();
                let actor = actor.clone();
                tasks.push(tokio::spawn(async move {
                    if round % 2 == 0 {
                        audited::cancel_job(&db, &actor, id).await.map(|_| ())
                    } else {
                        audited::retry_job(&db, &actor, id).await.map(|_| ())
                    }
                }));
            }
        }
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) | Err(fillbook::Error::Conflict(_)) => {}
                Err(other) => panic!("an effect failed on the database: {other}"),
            }
        }
    }
);

support::db_test!(
    each_service_decides_who_may_and_stores_nothing_when_not,
    |t: TestDb| async move {
        let db = &t.db;
        let admin = Caller::local();
        // A bot whose token may read trades only.
        let (_, secret) = audited::create_token(db, &admin, "reader", &[Scope::TradesRead])
            .await
            .unwrap();
        let user = fillbook::auth::tokens::authenticate(db, &secret)
            .await
            .unwrap()
            .expect("the token authenticates");
        let bot = Caller::new(Principal::Token(user), None);
        let refused = |r: fillbook::Result<_>| matches!(r, Err(fillbook::Error::Forbidden(_)));

        assert!(refused(
            audited::enqueue_job(db, &bot, "trades.sync", serde_json::json!({}))
                .await
                .map(|_| ())
        ));
        assert_eq!(count(db, "jobs").await, 0, "a refused enqueue stored a job");
        assert!(refused(
            audited::create_token(db, &bot, "child", &[Scope::TradesRead])
                .await
                .map(|_| ())
        ));
        assert!(refused(
            audited::add_operator(db, &bot, "eve", "a long enough password", true)
                .await
                .map(|_| ())
        ));
        assert_eq!(count(db, "operators").await, 0);
        assert!(refused(
            audited::set_flex_time_zone(db, &bot, 1, None)
                .await
                .map(|_| ())
        ));
        assert_eq!(
            count(db, "api_tokens").await,
            1,
            "only the reader token exists"
        );
        // The refusals wrote no audit entry; the one token made did.
        assert_eq!(count(db, "audit_events").await, 1);

        // The command line may do all of it.
        assert!(
            audited::enqueue_job(db, &admin, "trades.sync", serde_json::json!({}))
                .await
                .is_ok()
        );
    }
);
