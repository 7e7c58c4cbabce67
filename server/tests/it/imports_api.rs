//! Statement imports through the real router and a real worker, on SQLite and PostgreSQL,
//! over the ledger a real sync of the demo scenario wrote: upload → `flex.import` job →
//! completed import with its metrics; a malformed document fails its job once and leaves
//! the ledger as it was; the `imports:write` scope; re-imports change nothing; the
//! coverage map of an account.

use crate::support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fillbook::gateways::SyncSettings;
use fillbook::jobs::{Worker, WorkerConfig};
use fillbook::state::AppState;
use fillbook::web::{leptos_options, router};
use fillbook::work::handlers;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use std::time::Duration;
use support::TestDb;
use tokio::sync::oneshot;
use tower::ServiceExt;

const STATEMENT: &str = include_str!("../../../end2end/fixtures/statement-merge.xml");
const MALFORMED: &str = include_str!("../../../end2end/fixtures/malformed.xml");

struct App {
    router: axum::Router,
    token: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The router and a worker over `t`'s database after a trades sync of the demo scenario.
async fn seeded(t: &TestDb) -> App {
    support::seed_demo(&t.db, false).await;
    let options = leptos_options(
        std::path::Path::new("target/site"),
        "127.0.0.1:0".parse().unwrap(),
    );
    let mut config = WorkerConfig::new(1);
    config.poll_interval = Duration::from_millis(50);
    config.listen = false;
    let registry = handlers::registry(SyncSettings {
        host: "127.0.0.1".into(),
        port: 1,
        client_id: 1,
        connect_timeout: Duration::from_secs(1),
        lookback_days: 7,
        time_zone: chrono_tz::UTC,
    });
    let worker = Worker::new(t.db.clone(), registry, config);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    App {
        router: router(
            AppState::new(t.db.clone(), options),
            Duration::from_secs(30),
        ),
        token: support::token(&t.db, "trades:read,imports:write").await,
        stop: Some(stop),
    }
}

async fn send(app: &App, token: &str, request: Request<Body>) -> (StatusCode, Value) {
    let reply = support::http::send(&app.router, support::http::with_bearer(request, token)).await;
    (reply.status, reply.body)
}

async fn get(app: &App, uri: &str) -> (StatusCode, Value) {
    send(
        app,
        &app.token,
        Request::get(uri).body(Body::empty()).unwrap(),
    )
    .await
}

async fn upload(app: &App, token: &str, document: &str) -> (StatusCode, Value) {
    send(
        app,
        token,
        Request::post("/api/v1/imports/flex?file_name=statement.xml")
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(document.to_string()))
            .unwrap(),
    )
    .await
}

/// The import once its job finished (the import is written before the job's outcome, so
/// wait for both).
async fn finished(app: &App, import_id: i64) -> Value {
    for _ in 0..400 {
        let (_, import) = get(app, &format!("/api/v1/imports/{import_id}")).await;
        let (_, job) = get(app, &format!("/api/v1/jobs/{}", import["job_id"])).await;
        let job_final = matches!(job["state"].as_str(), Some("completed" | "discarded"));
        if import["status"] != "pending" && job_final {
            return import;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {import_id} did not finish");
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The trade of execution `exec`.
async fn trade_of(db: &DatabaseConnection, exec: &str) -> i64 {
    count(
        db,
        &format!(
            "SELECT CAST(trade_id AS BIGINT) FROM trade_executions WHERE ib_exec_id = '{exec}'"
        ),
    )
    .await
}

/// The ledger's fills, as comparable text.
async fn ledger(db: &DatabaseConnection) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT ib_exec_id, trade_id, quantity, is_canonical, busted_by FROM trade_executions \
         ORDER BY ib_exec_id",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        format!(
            "{} {} {} {} {:?}",
            r.try_get::<String>("", "ib_exec_id").unwrap(),
            r.try_get::<i32>("", "trade_id").unwrap(),
            r.try_get::<f64>("", "quantity").unwrap(),
            r.try_get::<bool>("", "is_canonical").unwrap(),
            r.try_get::<Option<String>>("", "busted_by").unwrap(),
        )
    })
    .collect()
}

support::db_test!(
    an_uploaded_statement_is_imported_by_its_job,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let existing_trade = trade_of(&t.db, "0000e0d5.6b49d201.01.01").await;

        let (status, import) = upload(&app, &app.token, STATEMENT).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{import}");
        assert_eq!(import["status"], "pending");
        assert_eq!(import["file_name"], "statement.xml");
        assert!(import.get("body").is_none());
        let job_id = import["job_id"].as_i64().unwrap();
        let import = finished(&app, import["id"].as_i64().unwrap()).await;
        assert_eq!(import["status"], "completed", "{import}");
        assert!(import["finished_at"].is_string());
        let m = &import["metrics"];
        assert_eq!(m["rows_read"], 4, "{m}");
        assert_eq!(m["executions_read"], 3);
        assert_eq!(m["executions_inserted"], 2);
        assert_eq!(m["executions_updated"], 1);
        assert_eq!(m["executions_busted"], 1);
        assert_eq!(m["summary_rows_skipped"]["ORDER"], 1);
        assert_eq!(m["statements"][0]["account"], "DU1234567");
        assert_eq!(m["statements"][0]["from_date"], "20261116");

        let (_, job) = get(&app, &format!("/api/v1/jobs/{job_id}")).await;
        assert_eq!(job["type"], "flex.import");
        assert_eq!(job["state"], "completed");
        assert_eq!(job["payload"]["import_id"], import["id"]);
        // The document is dropped once imported.
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM imports WHERE body IS NOT NULL").await,
            0
        );
        // The new fills joined the gateway's trade; the cancelled one is busted.
        for exec in ["0000e0d5.6b49d201.03.01", "0000e0d5.6b49d201.04.01"] {
            assert_eq!(trade_of(&t.db, exec).await, existing_trade, "{exec}");
        }
        let (_, executions) =
            get(&app, &format!("/api/v1/trades/{existing_trade}/executions")).await;
        let by_exec = |id: &str| {
            executions["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["ib_exec_id"] == id)
                .cloned()
                .unwrap()
        };
        let busted = by_exec("0000e0d5.6b49d201.04.01");
        assert_eq!(busted["busted_by"], "flex-txn:9005");
        assert_eq!(busted["is_canonical"], false);
        assert_eq!(busted["flex_transaction_id"], "9004");
        assert_eq!(busted["commission_currency"], "USD");
        assert_eq!(busted["time_unknown"], false);
        let merged = by_exec("0000e0d5.6b49d201.01.01");
        assert_eq!(merged["flex_trade_id"], "7001");
        assert_eq!(merged["busted_by"], Value::Null);
        assert_eq!(merged["is_canonical"], true);

        // The audit log names the upload.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'import.enqueued'"
            )
            .await,
            1
        );

        // The same statement again inserts nothing and changes nothing.
        let before = ledger(&t.db).await;
        let (status, again) = upload(&app, &app.token, STATEMENT).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let again = finished(&app, again["id"].as_i64().unwrap()).await;
        assert_eq!(again["status"], "completed");
        assert_eq!(again["metrics"]["executions_inserted"], 0, "{again}");
        assert_eq!(again["metrics"]["executions_updated"], 0, "{again}");
        assert_eq!(ledger(&t.db).await, before);

        // History, newest first, with a cursor.
        let (status, page) = get(&app, "/api/v1/imports?limit=1").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"][0]["id"], again["id"]);
        let cursor = page["next_cursor"].as_str().unwrap().to_string();
        let (_, rest) = get(&app, &format!("/api/v1/imports?limit=1&cursor={cursor}")).await;
        assert_eq!(rest["items"][0]["id"], import["id"]);
        assert_eq!(rest["next_cursor"], Value::Null);
        let (status, _) = get(&app, "/api/v1/imports/99999").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

support::db_test!(
    a_malformed_statement_fails_once_and_writes_nothing,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let before = ledger(&t.db).await;
        let (status, import) = upload(&app, &app.token, MALFORMED).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{import}");
        let import = finished(&app, import["id"].as_i64().unwrap()).await;
        assert_eq!(import["status"], "failed");
        let error = import["error"].as_str().unwrap();
        assert!(
            error.contains("line") && error.contains("column"),
            "{error}"
        );
        assert_eq!(import["metrics"], Value::Null);
        let (_, job) = get(&app, &format!("/api/v1/jobs/{}", import["job_id"])).await;
        assert_eq!(job["state"], "discarded", "{job}");
        assert_eq!(job["attempt"], 1);
        assert_eq!(job["max_attempts"], 1);
        assert_eq!(ledger(&t.db).await, before);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM coverage WHERE source = 'flex'").await,
            0
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM flex_cancellations").await,
            0
        );
    }
);

support::db_test!(
    uploads_need_the_imports_scope_and_xml,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let reader = support::token(&t.db, "trades:read,jobs:write").await;
        let (status, problem) = upload(&app, &reader, STATEMENT).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("imports:write"),
            "{problem}"
        );
        // Reading imports needs only trades:read.
        let (status, _) = send(
            &app,
            &reader,
            Request::get("/api/v1/imports").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        // Not XML: 415; empty: 422 naming the statement; flex.import is not for POST /jobs.
        let (status, _) = send(
            &app,
            &app.token,
            Request::post("/api/v1/imports/flex")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, problem) = upload(&app, &app.token, "  ").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "statement");
        let all = support::token(&t.db, support::ALL_SCOPES).await;
        let (status, problem) = send(
            &app,
            &all,
            Request::post("/api/v1/jobs")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"type":"flex.import","payload":{"import_id":1}}"#,
                ))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM imports").await, 0);
    }
);

support::db_test!(coverage_map_of_an_account, |t: TestDb| async move {
    let app = seeded(&t).await;
    let account = count(
        &t.db,
        "SELECT CAST(id AS BIGINT) FROM accounts WHERE code = 'DU1234567'",
    )
    .await;
    let uri = format!("/api/v1/accounts/{account}/coverage");
    let (status, before) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["account"]["code"], "DU1234567");
    let first = before["first_fill"].as_str().unwrap().to_string();
    let first_day = &first[..10];
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(before["today"], today);
    assert_eq!(before["flex"], serde_json::json!([]));
    // The seeding sync recorded its window (the last 7 days); before it, a gap from the
    // first fill on.
    let since = chrono::Utc::now() - chrono::Duration::days(7);
    let since_day = since.date_naive().to_string();
    assert_eq!(
        before["sync"],
        serde_json::json!([{"start": since_day, "end": today}]),
        "{before}"
    );
    let expected_gaps = if first_day < since_day.as_str() {
        serde_json::json!([{"start": first_day, "end": since.date_naive().pred_opt().unwrap().to_string()}])
    } else {
        serde_json::json!([])
    };
    assert_eq!(before["gaps"], expected_gaps, "{before}");

    let import = upload(&app, &app.token, STATEMENT).await.1;
    finished(&app, import["id"].as_i64().unwrap()).await;

    let (_, map) = get(&app, &uri).await;
    // The New York statement day 2026-11-16 runs 05:00 UTC to 05:00 UTC.
    assert_eq!(
        map["flex"],
        serde_json::json!([{"start": "2026-11-16", "end": "2026-11-17"}]),
        "{map}"
    );
    assert_eq!(
        map["sync"],
        serde_json::json!([{"start": since_day, "end": today}])
    );
    let gaps = map["gaps"].as_array().unwrap();
    assert!(gaps
        .iter()
        .all(|g| g["end"].as_str().unwrap() < since_day.as_str()));
    assert!(gaps
        .iter()
        .all(|g| g["start"].as_str().unwrap() > "2026-11-17"
            || g["end"].as_str().unwrap() < "2026-11-16"));

    let (status, _) = get(&app, "/api/v1/accounts/99999/coverage").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reader = support::token(&t.db, "positions:read").await;
    let (status, problem) = send(
        &app,
        &reader,
        Request::get(uri.as_str()).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(problem["detail"].as_str().unwrap().contains("trades:read"));
});

support::db_test!(
    an_accounts_statement_time_zone_is_validated_and_audited,
    |t: TestDb| async move {
        let _app = seeded(&t).await;
        let account = count(
            &t.db,
            "SELECT CAST(id AS BIGINT) FROM accounts WHERE code = 'DU1234567'",
        )
        .await as i32;
        let caller = fillbook::auth::Caller::local();
        let set = |zone: Option<&str>| {
            fillbook::audited::set_flex_time_zone(&t.db, &caller, account, zone.map(str::to_string))
        };
        match set(Some("Mars/Olympus")).await {
            Err(fillbook::Error::Invalid { field, .. }) => assert_eq!(field, "flex_time_zone"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(
            set(Some(" Europe/Zurich ")).await.unwrap().as_deref(),
            Some("Europe/Zurich")
        );
        let zones = fillbook::flex::statement::account_zones(&t.db)
            .await
            .unwrap();
        assert_eq!(zones["DU1234567"], chrono_tz::Tz::Europe__Zurich);
        assert_eq!(set(Some("")).await.unwrap(), None);
        assert!(fillbook::flex::statement::account_zones(&t.db)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            fillbook::audited::set_flex_time_zone(&t.db, &caller, 99_999, None).await,
            Err(fillbook::Error::NotFound(_))
        ));
        // Two changes, two audit entries; the refused ones wrote none.
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'account.flex_time_zone_set'"
            )
            .await,
            2
        );
    }
);

/// A statement row with a date and no time, in the other demo account.
const DATE_ONLY: &str = r#"<FlexQueryResponse><FlexStatements count="1">
<FlexStatement accountId="DU7654321" fromDate="20261118" toDate="20261118"><Trades>
<Trade accountId="DU7654321" assetCategory="STK" symbol="SPY" currency="USD" tradeID="8100" transactionID="9100" ibExecID="0000e0d5.7f000001.01.01" ibOrderID="77" orderReference="" tradeDate="20261118" quantity="3" tradePrice="590" buySell="BUY" ibCommission="-1" ibCommissionCurrency="CHF" levelOfDetail="EXECUTION"/>
</Trades></FlexStatement></FlexStatements></FlexQueryResponse>"#;

support::db_test!(
    the_trade_page_marks_cancelled_and_dateless_fills,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        for document in [STATEMENT, DATE_ONLY] {
            let (_, import) = upload(&app, &app.token, document).await;
            let import = finished(&app, import["id"].as_i64().unwrap()).await;
            assert_eq!(import["status"], "completed", "{import}");
        }
        let operator = support::operator(&t.db, "alice", true).await;
        let page = |trade: i64| {
            let router = app.router.clone();
            let cookie = operator.cookie.clone();
            async move {
                let response = router
                    .oneshot(
                        Request::get(format!("/trades/{trade}"))
                            .header(header::COOKIE, cookie)
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                String::from_utf8(bytes.to_vec()).unwrap()
            }
        };
        let html = page(trade_of(&t.db, "0000e0d5.6b49d201.04.01").await).await;
        assert!(html.contains(r#"class="busted""#), "{html}");
        assert!(html.contains("cancelled"));
        assert!(html.contains("by statement"));
        assert!(html.contains("flex-txn:9005"));

        let dateless = trade_of(&t.db, "0000e0d5.7f000001.01.01").await;
        let (_, executions) = get(&app, &format!("/api/v1/trades/{dateless}/executions")).await;
        let e = &executions["items"][0];
        assert_eq!(e["time_unknown"], true, "{e}");
        assert_eq!(e["commission_currency"], "CHF");
        let html = page(dateless).await;
        assert!(html.contains("2026-11-18"), "{html}");
        assert!(html.contains("time unknown"));
        // The commission in another currency than the trade's names it.
        assert!(html.contains("CHF"));
    }
);
