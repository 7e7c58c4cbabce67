//! CSV exports on SQLite and PostgreSQL, on data a real sync of the demo scenario wrote:
//! the CLI's file read back with Python's `csv` module (row count and sums equal the
//! ledger's canonical fills), `--all-revisions` adding superseded fills with their state,
//! the trades export, and the API's streamed download with its field-named 422s.

use crate::support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fillbook::state::AppState;
use fillbook::web::{leptos_options, router};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::TestDb;
use tower::ServiceExt;

async fn seeded(t: &TestDb) {
    support::seed_demo(&t.db, false).await;
}

async fn number(db: &DatabaseConnection, sql: &str) -> f64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<f64>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n as f64))
        .unwrap()
}

/// Runs `fillbook export ARGS --output FILE` and reads FILE back with Python's csv module:
/// (rows, sum of column `sum_of`, the set of column `distinct`).
fn export_and_read(
    t: &TestDb,
    args: &[&str],
    sum_of: &str,
    distinct: &str,
) -> (usize, f64, Vec<String>) {
    let file = std::env::temp_dir().join(format!(
        "fillbook-export-{}.csv",
        uuid::Uuid::new_v4().simple()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_fillbook"))
        .arg("export")
        .args(args)
        .arg("--output")
        .arg(&file)
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = format!(
        "import csv, json, sys\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         total = sum(float(r['{sum_of}'] or 0) for r in rows)\n\
         print(json.dumps([len(rows), total, sorted(set(r['{distinct}'] for r in rows))]))\n"
    );
    let py = Command::new("python3")
        .args(["-c", &script])
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let _ = std::fs::remove_file(&file);
    let v: Value = serde_json::from_slice(&py.stdout).unwrap();
    let states = v[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (
        v[0].as_u64().unwrap() as usize,
        v[1].as_f64().unwrap(),
        states,
    )
}

support::db_test!(
    a_fills_export_reads_back_with_matching_rows_and_sums,
    |t: TestDb| async move {
        seeded(&t).await;
        let db = &t.db;
        let canonical = number(
            db,
            "SELECT COUNT(*) FROM trade_executions WHERE is_canonical = TRUE",
        )
        .await;
        let quantity = number(
            db,
            "SELECT SUM(quantity) FROM trade_executions WHERE is_canonical = TRUE",
        )
        .await;
        let all = number(db, "SELECT COUNT(*) FROM trade_executions").await;
        assert!(all > canonical, "the demo has corrections");

        let (rows, sum, states) = export_and_read(&t, &["fills"], "quantity", "state");
        assert_eq!(rows as f64, canonical);
        assert!((sum - quantity).abs() < 1e-6, "{sum} vs {quantity}");
        assert_eq!(states, vec!["canonical"]);

        let (rows, _, states) =
            export_and_read(&t, &["fills", "--all-revisions"], "quantity", "state");
        assert_eq!(rows as f64, all);
        assert_eq!(states, vec!["canonical", "superseded"]);

        // One account, one period.
        let (rows, _, accounts) = export_and_read(
            &t,
            &[
                "fills",
                "--account",
                "DU1234567",
                "--since",
                "2026-11-17",
                "--until",
                "2026-11-19",
            ],
            "price",
            "account",
        );
        let expected = number(
            db,
            "SELECT COUNT(*) FROM trade_executions e JOIN accounts a ON a.id = e.account_id \
         WHERE a.code = 'DU1234567' AND e.is_canonical = TRUE \
         AND e.executed_at >= '2026-11-17' AND e.executed_at < '2026-11-19'",
        )
        .await;
        assert!(rows > 0);
        assert_eq!(rows as f64, expected);
        assert_eq!(accounts, vec!["DU1234567"]);
    }
);

support::db_test!(
    a_trades_export_has_one_row_per_trade_with_fills_and_commission,
    |t: TestDb| async move {
        seeded(&t).await;
        let db = &t.db;
        let trades = number(db, "SELECT COUNT(*) FROM trades").await;
        let commission = number(
            db,
            "SELECT SUM(commission) FROM trade_executions WHERE is_canonical = TRUE",
        )
        .await;
        let (rows, sum, _) = export_and_read(&t, &["trades"], "commission", "status");
        assert_eq!(rows as f64, trades);
        assert!((sum - commission).abs() < 1e-6, "{sum} vs {commission}");
        let (_, fills, _) = export_and_read(&t, &["trades"], "fills", "status");
        let canonical = number(
            db,
            "SELECT COUNT(*) FROM trade_executions WHERE is_canonical = TRUE",
        )
        .await;
        assert_eq!(fills, canonical);
    }
);

support::db_test!(
    the_api_streams_csv_and_names_bad_fields,
    |t: TestDb| async move {
        seeded(&t).await;
        let options = leptos_options(
            std::path::Path::new("target/site"),
            "127.0.0.1:0".parse().unwrap(),
        );
        let app = router(
            AppState::new(t.db.clone(), options),
            Duration::from_secs(10),
        );
        let token = support::token(&t.db, "trades:read").await;
        let get = |uri: &str| {
            Request::get(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let response = app
            .clone()
            .oneshot(get("/api/v1/exports/fills?format=csv&account=DU7654321"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert!(response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("fillbook-fills-DU7654321.csv"));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(
            lines.next().unwrap(),
            fillbook::exports::FILL_COLUMNS.join(",")
        );
        let rows: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert!(support::every(&rows, |l| l.contains(",DU7654321,")));

        // A browser asks for a compressed download: the stream ends cleanly (the compression
        // layer polls a finished body stream once more; that used to panic the server task).
        let compressed = app
            .clone()
            .oneshot(
                Request::get("/api/v1/exports/fills?format=csv&account=DU7654321")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::ACCEPT_ENCODING, "gzip")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(compressed.status(), StatusCode::OK);
        assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "gzip");
        let gz = axum::body::to_bytes(compressed.into_body(), usize::MAX)
            .await
            .expect("the whole compressed body");
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);

        for (uri, field) in [
        ("/api/v1/exports/fills", "format"),
        ("/api/v1/exports/fills?format=xlsx", "format"),
        ("/api/v1/exports/orders?format=csv", "kind"),
        ("/api/v1/exports/fills?format=csv&account=U0000000", "account"),
        ("/api/v1/exports/fills?format=csv&since=2026-11-20T00:00:00Z&until=2026-11-19T00:00:00Z", "until"),
        ("/api/v1/exports/trades?format=csv&all_revisions=true", "all_revisions"),
    ] {
        let response = app.clone().oneshot(get(uri)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["field"], field, "{uri}: {problem}");
    }
    }
);
