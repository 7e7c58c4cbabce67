//! Foundation: migrations forward and back, the health probes and the pages, on both databases,
//! plus the CLI's one-sentence errors.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fillbook::state::AppState;
use fillbook::web::{leptos_options, router};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::time::Duration;
use tower::ServiceExt;

fn app(db: DatabaseConnection) -> axum::Router {
    let options = leptos_options(
        std::path::Path::new("target/site"),
        "127.0.0.1:0".parse().unwrap(),
    );
    router(AppState::new(db, options), Duration::from_secs(10))
}

/// A GET by a signed-in operator.
fn signed_in_get(uri: &str, operator: &support::Operator) -> Request<Body> {
    Request::get(uri)
        .header(axum::http::header::COOKIE, &operator.cookie)
        .body(Body::empty())
        .unwrap()
}

/// The status and body of `request`.
async fn fetch(db: &DatabaseConnection, request: Request<Body>) -> (StatusCode, String) {
    let reply = support::http::send(&app(db.clone()), request).await;
    (reply.status, reply.text)
}

/// A GET by a signed-in operator.
async fn get(db: &DatabaseConnection, uri: &str) -> (StatusCode, String) {
    let operator = support::operator(db, "tester", true).await;
    fetch(db, signed_in_get(uri, &operator)).await
}

support::db_test!(
    migrations_go_down_and_up_again,
    |t: support::TestDb| async move {
        let mut tables = support::table_names(&t.db).await;
        tables.retain(|n| n != "seaql_migrations");
        assert_eq!(
            tables,
            [
                "account_limits",
                "accounts",
                "api_tokens",
                "audit_events",
                "coverage",
                "execution_events",
                "flex_cancellations",
                "flex_credentials",
                "gateways",
                "imports",
                "jobs",
                "live_sessions",
                "operators",
                "order_events",
                "orders",
                "position_baselines",
                "positions",
                "schedule_runs",
                "sessions",
                "trade_executions",
                "trades"
            ]
        );
        use migration::MigratorTrait;
        let all = migration::Migrator::migrations().len() as u32;
        assert_eq!(all, 12);
        fillbook::db::migrate_down(&t.db, all).await.unwrap();
        let mut after_down = support::table_names(&t.db).await;
        after_down.retain(|n| n != "seaql_migrations");
        assert!(after_down.is_empty(), "left behind: {after_down:?}");
        assert_eq!(
            fillbook::db::pending_migrations(&t.db).await.unwrap(),
            all as usize
        );
        fillbook::db::migrate(&t.db).await.unwrap();
        assert_eq!(fillbook::db::pending_migrations(&t.db).await.unwrap(), 0);
    }
);

/// A GET without credentials (the health probes are public).
async fn anonymous_get(db: &DatabaseConnection, uri: &str) -> (StatusCode, String) {
    fetch(db, Request::get(uri).body(Body::empty()).unwrap()).await
}

support::db_test!(health_and_readiness, |t: support::TestDb| async move {
    let (status, body) = anonymous_get(&t.db, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    let (status, body) = anonymous_get(&t.db, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"pending_migrations\":0"), "{body}");

    fillbook::db::migrate_down(&t.db, 1).await.unwrap();
    let (status, body) = anonymous_get(&t.db, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("\"pending_migrations\":1"), "{body}");
});

support::db_test!(
    pages_render_their_empty_states,
    |t: support::TestDb| async move {
        for (path, heading, empty) in [
            ("/", "Trades", "No trades match"),
            ("/trades", "Trades", "No trades match"),
            ("/orders", "Orders", "No orders yet"),
            ("/positions", "Positions", "No positions yet"),
            ("/jobs", "Jobs", "No jobs yet"),
            ("/accounts", "Accounts", "No accounts yet"),
        ] {
            let (status, body) = get(&t.db, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(
                body.contains(&format!("<h1>{heading}</h1>")),
                "{path}: {body}"
            );
            assert!(body.contains(empty), "{path} lacks its empty state");
            assert!(
                body.contains("/pkg/fillbook.js"),
                "{path} lacks hydration scripts"
            );
        }
        let (status, body) = get(&t.db, "/no/such/page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("Page not found"));
    }
);

support::db_test!(pages_show_real_rows, |t: support::TestDb| async move {
    let now = chrono::Utc::now();
    t.db.execute_raw(Statement::from_sql_and_values(
        t.backend(),
        match t.backend() {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO accounts (code, alias, created_at, updated_at) VALUES ($1, $2, $3, $4)"
            }
            _ => "INSERT INTO accounts (code, alias, created_at, updated_at) VALUES (?, ?, ?, ?)",
        },
        ["DU1234567".into(), "paper".into(), now.into(), now.into()],
    ))
    .await
    .unwrap();
    let (status, body) = get(&t.db, "/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("DU1234567") && body.contains("paper"),
        "{body}"
    );
    assert!(!body.contains("No accounts yet"));
});

fn fillbook_cmd() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_fillbook"))
}

#[test]
fn a_bad_database_url_is_one_clear_sentence() {
    let out = fillbook_cmd()
        .args(["migrate", "--database-url", "mysql://nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unreachable_database_is_one_clear_sentence() {
    let out = fillbook_cmd()
        .args([
            "migrate",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not connect to the database at postgres://postgres@127.0.0.1:1/none"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_command_on_an_unmigrated_database_asks_for_migrate() {
    let dir = std::env::temp_dir().join(format!("fillbook-fresh-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/db.sqlite", dir.display());
    // Commands that write their own setup (gateways, flex, sync, rebuild, reconcile)
    // migrate first; the others refuse.
    for args in [
        vec!["jobs", "list"],
        vec!["orders", "list"],
        vec!["users", "list"],
        vec!["tokens", "list"],
    ] {
        let out = fillbook_cmd()
            .args(&args)
            .args(["--database-url", &url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("pending migrations; run `fillbook migrate` first"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("no such table"), "{args:?}: {err}");
    }
    // A command that sets something up migrates the database itself, as before.
    let out = fillbook_cmd()
        .args(["gateways", "list", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_port_in_use_is_one_clear_sentence() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("fillbook-port-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/db.sqlite", dir.display());
    let out = fillbook_cmd()
        .args(["serve", "--bind", &addr, "--database-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("could not listen on {addr}")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The headers of a GET, and its body.
async fn get_with_headers(db: &DatabaseConnection, uri: &str) -> (axum::http::HeaderMap, String) {
    let operator = support::operator(db, "tester", true).await;
    let response = app(db.clone())
        .oneshot(signed_in_get(uri, &operator))
        .await
        .unwrap();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (headers, String::from_utf8_lossy(&bytes).into_owned())
}

support::db_test!(
    every_response_carries_the_security_headers,
    |t: support::TestDb| async move {
        for uri in [
            "/trades",
            "/api/v1/trades",
            "/healthz",
            "/api/docs",
            "/no-such-page",
        ] {
            let (headers, _) = get_with_headers(&t.db, uri).await;
            assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
            assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
            assert_eq!(headers["referrer-policy"], "same-origin", "{uri}");
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{uri}: {csp}");
        }
        let (headers, _) = get_with_headers(&t.db, "/api/v1/trades").await;
        assert_eq!(
            headers["content-security-policy"],
            app::security::DEFAULT_POLICY
        );
    }
);

support::db_test!(
    a_page_admits_only_its_own_inline_scripts_by_nonce,
    |t: support::TestDb| async move {
        let (first, body) = get_with_headers(&t.db, "/trades").await;
        let csp = first["content-security-policy"].to_str().unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the page policy");
        assert!(nonce.len() >= 16, "nonce {nonce}");
        assert!(csp.contains("'wasm-unsafe-eval'"));
        let script_tags: Vec<&str> = body
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or(""))
            .collect();
        assert!(!script_tags.is_empty(), "the page has its hydration script");
        for tag in &script_tags {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "a script without this response's nonce: <script{tag}>"
            );
        }
        let (second, _) = get_with_headers(&t.db, "/trades").await;
        assert_ne!(
            first["content-security-policy"], second["content-security-policy"],
            "a fresh nonce per response"
        );
    }
);
