//! The JSON API v1 on SQLite and PostgreSQL, through the real router, on data a real sync
//! of the demo scenario wrote: every endpoint and filter, insta snapshots of the JSON
//! shapes (one snapshot for both databases: the shapes must not differ), and each error
//! class (404, 422 naming the field, 400, 415, unknown parameter) as its own test.

use crate::support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fillbook::state::AppState;
use fillbook::web::{leptos_options, router};
use serde_json::{json, Value};
use std::time::Duration;
use support::TestDb;

/// The API as a bot sees it: the router and the bot's API token (every scope).
#[derive(Clone)]
struct Api {
    router: axum::Router,
    token: String,
}

/// The router over `t`'s database after a trades and a positions sync of the demo scenario.
async fn seeded(t: &TestDb) -> Api {
    support::seed_demo(&t.db, true).await;
    let options = leptos_options(
        std::path::Path::new("target/site"),
        "127.0.0.1:0".parse().unwrap(),
    );
    Api {
        router: router(
            AppState::new(t.db.clone(), options),
            Duration::from_secs(10),
        ),
        token: support::token(&t.db, support::ALL_SCOPES).await,
    }
}

use support::http::Reply;

/// Sends `request` with the bot's token (unless it carries its own credentials).
async fn send(app: &Api, request: Request<Body>) -> Reply {
    support::http::send(&app.router, support::http::with_bearer(request, &app.token)).await
}

async fn get(app: &Api, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(app: &Api, uri: &str, body: Value) -> Reply {
    send(
        app,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// `value` with what varies between runs and databases replaced: ids, times, tokens,
/// cursors; floats rounded (SUMs may differ in the last bit between engines).
fn stable(value: &Value) -> Value {
    fn volatile(key: &str) -> bool {
        // Database ids and the times Fillbook stamps; broker ids, match keys and execution
        // times come from the scenario and stay.
        matches!(
            key,
            "id" | "account_id"
                | "trade_id"
                | "superseded_by"
                | "job_id"
                | "order_id"
                | "next_cursor"
                | "confirmation_token"
                | "window_start"
                | "window_end"
        ) || key.ends_with("_at") && !key.ends_with("executed_at")
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if volatile(k) && !v.is_null() {
                        json!(format!("[{k}]"))
                    } else {
                        stable(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(stable).collect()),
        Value::Number(n) if n.is_f64() => {
            json!((n.as_f64().unwrap() * 1e6).round() / 1e6)
        }
        other => other.clone(),
    }
}

fn items(reply: &Reply) -> &Vec<Value> {
    reply.body["items"].as_array().expect("a list answer")
}

/// A problem+json answer with `status`, its `code`, and (for 422) the field it names.
fn assert_problem(reply: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply
            .header(header::CONTENT_TYPE)
            .starts_with("application/problem+json"),
        "{}",
        reply.header(header::CONTENT_TYPE)
    );
    assert_eq!(reply.body["code"], code, "{}", reply.body);
    assert_eq!(reply.body["status"], status.as_u16());
    if let Some(field) = field {
        assert_eq!(reply.body["field"], field, "{}", reply.body);
    }
    let text = reply.body.to_string();
    assert!(!text.contains("panicked") && !text.contains("backtrace"));
}

support::db_test!(trades_list_shape_and_order, |t: TestDb| async move {
    let app = seeded(&t).await;
    let all = get(&app, "/api/v1/trades?limit=500").await;
    assert_eq!(all.status, StatusCode::OK);
    let list = items(&all);
    assert!(list.len() > 20, "the demo has tens of trades");
    assert!(all.body["next_cursor"].is_null());
    let times: Vec<&str> = list
        .iter()
        .map(|t| t["last_executed_at"].as_str().unwrap())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, newest_first, "newest first");
    // The newest trade, ties broken by match key (ids differ between runs).
    let newest = list
        .iter()
        .max_by_key(|t| (t["last_executed_at"].as_str(), t["match_key"].as_str()))
        .unwrap();
    insta::assert_json_snapshot!(
        "trades_list_newest_item",
        stable(&json!({"count": list.len(), "newest": newest}))
    );
});

support::db_test!(trades_list_filters, |t: TestDb| async move {
    let app = seeded(&t).await;
    let accounts = get(&app, "/api/v1/accounts").await;
    let account = &items(&accounts)[0];
    let (id, code) = (
        account["id"].as_i64().unwrap(),
        account["code"].as_str().unwrap(),
    );
    let by_id = get(&app, &format!("/api/v1/trades?limit=500&account_id={id}")).await;
    let by_code = get(&app, &format!("/api/v1/trades?limit=500&account={code}")).await;
    assert!(!items(&by_id).is_empty());
    assert_eq!(items(&by_id), items(&by_code));
    assert!(support::every(items(&by_id), |t| t["account_id"] == id));

    // Every trade is in exactly one status filter, and each filter returns only its status.
    let all = get(&app, "/api/v1/trades?limit=500").await;
    let mut by_status = 0;
    for status in ["partial", "filled", "cancelled", "unknown"] {
        let reply = get(&app, &format!("/api/v1/trades?limit=500&status={status}")).await;
        assert_eq!(reply.status, StatusCode::OK);
        let found = items(&reply);
        assert!(found.iter().all(|t| t["status"] == status), "{status}");
        by_status += found.len();
    }
    assert!(!items(&all).is_empty());
    assert_eq!(by_status, items(&all).len());
    let filled = get(&app, "/api/v1/trades?limit=500&status=filled").await;
    assert!(!items(&filled).is_empty());

    let aapl = get(&app, "/api/v1/trades?limit=500&symbol=aapl").await;
    assert!(!items(&aapl).is_empty());
    assert!(support::every(items(&aapl), |t| t["symbol"] == "AAPL"));

    let since = "2026-11-18T00:00:00Z";
    let until = "2026-11-19T00:00:00Z";
    let window = get(
        &app,
        &format!("/api/v1/trades?limit=500&since={since}&until={until}"),
    )
    .await;
    assert!(!items(&window).is_empty());
    for t in items(&window) {
        let at = t["last_executed_at"].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        assert!(at >= chrono::DateTime::parse_from_rfc3339(since).unwrap());
        assert!(at < chrono::DateTime::parse_from_rfc3339(until).unwrap());
    }

    let asc = get(&app, "/api/v1/trades?limit=500&order=asc").await;
    let desc = get(&app, "/api/v1/trades?limit=500").await;
    let mut reversed = items(&desc).clone();
    reversed.reverse();
    assert_eq!(items(&asc), &reversed);

    // limit + cursor walk the same list.
    let mut walked = Vec::new();
    let mut uri = "/api/v1/trades?limit=7".to_string();
    loop {
        let page = get(&app, &uri).await;
        assert!(items(&page).len() <= 7);
        walked.extend(items(&page).iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/trades?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(&walked, items(&desc));
});

support::db_test!(trade_and_its_executions, |t: TestDb| async move {
    let app = seeded(&t).await;
    // The demo's corrected execution: revisions .01 → .02 → .03 of one base.
    let all = get(&app, "/api/v1/trades?limit=500").await;
    let mut by_key = items(&all).clone();
    by_key.sort_by_key(|t| t["match_key"].as_str().unwrap().to_string());
    let mut corrected = None;
    for trade in &by_key {
        let id = trade["id"].as_i64().unwrap();
        let execs = get(&app, &format!("/api/v1/trades/{id}/executions")).await;
        if items(&execs).iter().any(|e| e["is_canonical"] == false) {
            corrected = Some((id, execs));
            break;
        }
    }
    let (id, execs) = corrected.expect("the demo has a corrected execution");
    let trade = get(&app, &format!("/api/v1/trades/{id}")).await;
    assert_eq!(trade.status, StatusCode::OK);
    assert_eq!(trade.body["id"], id);
    let canonical: Vec<&Value> = items(&execs)
        .iter()
        .filter(|e| e["is_canonical"] == true)
        .collect();
    let sum: f64 = canonical
        .iter()
        .map(|e| e["quantity"].as_f64().unwrap())
        .sum();
    assert!((trade.body["total_quantity"].as_f64().unwrap() - sum).abs() < 1e-9);
    assert_eq!(trade.body["fills_count"], canonical.len());
    for e in items(&execs).iter().filter(|e| e["is_canonical"] == false) {
        assert!(!e["superseded_by"].is_null(), "{e}");
        assert!(
            e.get("raw").is_none_or(Value::is_null),
            "raw only on request"
        );
    }
    let with_raw = get(&app, &format!("/api/v1/trades/{id}/executions?include=raw")).await;
    assert!(support::every(items(&with_raw), |e| e["raw"]["execution"].is_object()));
    insta::assert_json_snapshot!("trade_detail", stable(&trade.body));
    insta::assert_json_snapshot!("trade_executions", stable(&execs.body));
});

support::db_test!(
    accounts_positions_orders_and_jobs_lists,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let accounts = get(&app, "/api/v1/accounts").await;
        assert_eq!(items(&accounts).len(), 2);
        insta::assert_json_snapshot!("accounts", stable(&accounts.body));
        let positions = get(&app, "/api/v1/positions").await;
        assert!(!items(&positions).is_empty());
        insta::assert_json_snapshot!("positions_first_item", stable(&items(&positions)[0]));
        let orders = get(&app, "/api/v1/orders").await;
        assert_eq!(orders.status, StatusCode::OK);
        assert!(
            items(&orders).is_empty(),
            "no order placed through Fillbook yet"
        );
        let jobs = get(&app, "/api/v1/jobs").await;
        assert_eq!(jobs.status, StatusCode::OK);
        assert!(items(&jobs).is_empty());
    }
);

support::db_test!(orders_need_a_confirmation, |t: TestDb| async move {
    let app = seeded(&t).await;
    let accounts = get(&app, "/api/v1/accounts").await;
    let account_id = items(&accounts)[0]["id"].clone();
    let created = post(
        &app,
        "/api/v1/orders",
        json!({"account_id": account_id, "symbol": "AAPL", "side": "BUY",
               "order_type": "LMT", "quantity": 10, "limit_price": 190.5, "tif": "DAY"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    insta::assert_json_snapshot!("order_created", stable(&created.body));
    let id = created.body["order"]["id"].as_i64().unwrap();
    let token = created.body["confirmation_token"]
        .as_str()
        .unwrap()
        .to_string();

    let wrong = post(
        &app,
        &format!("/api/v1/orders/{id}/confirm"),
        json!({"confirmation_token": "not-the-token"}),
    )
    .await;
    assert!(wrong.status.is_client_error(), "{}", wrong.body);
    let confirmed = post(
        &app,
        &format!("/api/v1/orders/{id}/confirm"),
        json!({"confirmation_token": token}),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let again = post(
        &app,
        &format!("/api/v1/orders/{id}/confirm"),
        json!({"confirmation_token": token}),
    )
    .await;
    assert!(
        again.status.is_client_error(),
        "a used token: {}",
        again.body
    );

    let order = get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(order.status, StatusCode::OK);
    let list = get(&app, "/api/v1/orders").await;
    assert_eq!(items(&list).len(), 1);
    let submit_jobs = get(&app, "/api/v1/jobs?type=orders.submit").await;
    assert_eq!(
        items(&submit_jobs).len(),
        1,
        "confirming queued one orders.submit"
    );
});

support::db_test!(
    jobs_enqueue_is_unique_and_filterable,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let first = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"lookback_days": 2}}),
        )
        .await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
        let id = first.body["id"].as_i64().unwrap();
        assert_eq!(first.header(header::LOCATION), format!("/api/v1/jobs/{id}"));
        insta::assert_json_snapshot!("job_enqueued", stable(&first.body));
        let duplicate = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"lookback_days": 2}}),
        )
        .await;
        assert_eq!(duplicate.status, StatusCode::OK);
        assert_eq!(
            duplicate.body["id"], id,
            "the waiting job, not a second one"
        );
        let one = get(&app, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(one.body["type"], "trades.sync");
        let by_type = get(&app, "/api/v1/jobs?type=trades.sync&state=available").await;
        assert_eq!(items(&by_type).len(), 1);
        let none = get(&app, "/api/v1/jobs?type=positions.sync").await;
        assert!(items(&none).is_empty());
    }
);

support::db_test!(tools_over_http_keep_the_guard, |t: TestDb| async move {
    let app = seeded(&t).await;
    let tools = get(&app, "/api/v1/tools").await;
    let names: Vec<&str> = items(&tools)
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in [
        "list_trades",
        "get_trade",
        "list_executions",
        "list_positions",
        "get_job",
        "enqueue_trades_sync_job",
        "prepare_order",
        "submit_order",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let trades = post(&app, "/api/v1/tools/list_trades", json!({"limit": 2})).await;
    assert_eq!(trades.status, StatusCode::OK, "{}", trades.body);
    assert_eq!(trades.body["result"]["items"].as_array().unwrap().len(), 2);
    let refused = post(
        &app,
        "/api/v1/tools/submit_order",
        json!({"order_id": 1, "confirmation_token": "x"}),
    )
    .await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
});

support::db_test!(unknown_id_is_404, |t: TestDb| async move {
    let app = seeded(&t).await;
    for uri in [
        "/api/v1/trades/999999",
        "/api/v1/trades/999999/executions",
        "/api/v1/jobs/999999",
        "/api/v1/orders/999999",
    ] {
        assert_problem(
            &get(&app, uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }
});

support::db_test!(
    invalid_filters_are_422_naming_the_field,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        for (uri, field) in [
            ("/api/v1/trades?status=bogus", "status"),
            ("/api/v1/trades?limit=0", "limit"),
            ("/api/v1/trades?limit=501", "limit"),
            ("/api/v1/trades?cursor=nonsense", "cursor"),
            ("/api/v1/trades?since=yesterday", "since"),
            ("/api/v1/trades?order=sideways", "order"),
            ("/api/v1/jobs?state=sleeping", "state"),
        ] {
            let reply = get(&app, uri).await;
            assert_problem(
                &reply,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some(field),
            );
        }
    }
);

support::db_test!(
    an_unknown_query_parameter_is_refused_by_name,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let reply = get(&app, "/api/v1/trades?acount_id=1").await;
        assert!(reply.status.is_client_error());
        assert!(
            reply.body.to_string().contains("acount_id"),
            "{}",
            reply.body
        );
    }
);

support::db_test!(
    invalid_payload_and_order_are_422_naming_the_field,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let reply = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"prot": 1}}),
        )
        .await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        );
        assert!(reply.body.to_string().contains("prot"), "{}", reply.body);
        let reply = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"port": "x"}}),
        )
        .await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        );
        let accounts = get(&app, "/api/v1/accounts").await;
        let account_id = items(&accounts)[0]["id"].clone();
        for (order, field) in [
            (
                json!({"account_id": account_id, "symbol": "AAPL", "side": "BUY", "order_type": "MKT", "quantity": -1}),
                "quantity",
            ),
            (
                json!({"account_id": account_id, "symbol": "AAPL", "side": "HOLD", "order_type": "MKT", "quantity": 1}),
                "side",
            ),
            (
                json!({"account_id": account_id, "symbol": "AAPL", "side": "BUY", "order_type": "LMT", "quantity": 1}),
                "limit_price",
            ),
            (
                json!({"account_id": 999, "symbol": "AAPL", "side": "BUY", "order_type": "MKT", "quantity": 1}),
                "account_id",
            ),
        ] {
            let reply = post(&app, "/api/v1/orders", order).await;
            assert_problem(
                &reply,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some(field),
            );
        }
    }
);

support::db_test!(malformed_json_is_400, |t: TestDb| async move {
    let app = seeded(&t).await;
    let reply = send(
        &app,
        Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"type\": "))
            .unwrap(),
    )
    .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "malformed_request", None);
});

support::db_test!(wrong_content_type_is_415, |t: TestDb| async move {
    let app = seeded(&t).await;
    let reply = send(
        &app,
        Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{\"type\": \"trades.sync\"}"))
            .unwrap(),
    )
    .await;
    assert_problem(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    );
});

support::db_test!(
    a_nul_character_in_any_text_is_422_naming_the_field,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let before = get(&app, "/api/v1/trades?limit=500").await;
        for (reply, field) in [
            (get(&app, "/api/v1/trades?symbol=%00").await, "symbol"),
            (
                post(
                    &app,
                    "/api/v1/tools/list_trades",
                    json!({"symbol": "\u{0}"}),
                )
                .await,
                "symbol",
            ),
            (
                post(
                    &app,
                    "/api/v1/orders",
                    json!({"account_id": 1, "symbol": "AAPL", "side": "BUY", "order_type": "MKT",
                       "quantity": 1, "tif": "DAY", "order_ref": "bot\u{0}1"}),
                )
                .await,
                "order_ref",
            ),
            (
                post(
                    &app,
                    "/api/v1/jobs",
                    json!({"type": "trades.sync", "payload": {"host": "\u{0}"}}),
                )
                .await,
                "payload.host",
            ),
        ] {
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                reply.body
            );
            assert_eq!(reply.body["field"], field, "{}", reply.body);
            assert!(reply
                .header(header::CONTENT_TYPE)
                .starts_with("application/problem+json"));
        }
        // Nothing was written, and ordinary requests still work.
        assert_eq!(
            get(&app, "/api/v1/trades?limit=500").await.body,
            before.body
        );
        let orders = get(&app, "/api/v1/orders").await;
        assert_eq!(orders.status, StatusCode::OK);
        assert!(items(&orders).is_empty(), "{}", orders.body);
    }
);

support::db_test!(
    a_request_cannot_aim_the_server_at_an_address,
    |t: TestDb| async move {
        let app = seeded(&t).await;
        let jobs_before = get(&app, "/api/v1/jobs").await;
        for payload in [
            json!({"host": "169.254.169.254", "port": 80}),
            json!({"port": 22}),
            json!({"client_id": 0}),
        ] {
            let reply = post(
                &app,
                "/api/v1/jobs",
                json!({"type": "trades.sync", "payload": payload}),
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                reply.body
            );
            assert!(
                reply.body["field"]
                    .as_str()
                    .unwrap()
                    .starts_with("payload."),
                "{}",
                reply.body
            );
            assert!(
                reply.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("configuration"),
                "{}",
                reply.body
            );
        }
        let tool = post(
            &app,
            "/api/v1/tools/enqueue_trades_sync_job",
            json!({"host": "10.0.0.1", "port": 80}),
        )
        .await;
        assert!(tool.status.is_client_error(), "{}", tool.body);
        // Only configured gateways, by name.
        let unknown = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"gateway": "elsewhere"}}),
        )
        .await;
        assert_eq!(
            unknown.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            unknown.body
        );
        assert_eq!(unknown.body["field"], "payload.gateway");
        assert!(unknown.body["detail"]
            .as_str()
            .unwrap()
            .contains("configured: default"));
        let fetch = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "flex.fetch", "payload": {"credentials": "nope"}}),
        )
        .await;
        assert_eq!(
            fetch.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            fetch.body
        );
        assert_eq!(fetch.body["field"], "payload.credentials");
        assert_eq!(
            get(&app, "/api/v1/jobs").await.body,
            jobs_before.body,
            "no job was queued"
        );
        let admin = app::models::Actor::new("cli", "test");
        fillbook::gateways::add(
            &t.db,
            &admin,
            &fillbook::gateways::GatewayRow {
                name: "paper-2".into(),
                host: "127.0.0.1".into(),
                port: 1,
                client_id_base: 300,
                time_zone: None,
            },
        )
        .await
        .unwrap();
        let queued = post(
            &app,
            "/api/v1/jobs",
            json!({"type": "trades.sync", "payload": {"gateway": "paper-2"}}),
        )
        .await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
        let defaults = fillbook::gateways::SyncSettings {
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 100,
            connect_timeout: Duration::from_secs(1),
            lookback_days: 7,
            time_zone: chrono_tz::UTC,
        };
        let resolved = fillbook::gateways::resolve(&t.db, Some("paper-2"), &defaults)
            .await
            .unwrap();
        assert_eq!(
            (resolved.host.as_str(), resolved.port, resolved.client_id),
            ("127.0.0.1", 1, 300)
        );
    }
);
