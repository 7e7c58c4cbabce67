//! The Flex Web Service path over real HTTP on loopback, on SQLite and PostgreSQL: the
//! client against the simulator (two steps, "try again" answers, token and query errors
//! not retried and nothing written), stored credentials, the `flex.fetch` job through the
//! real queue and worker, the `fillbook flex` commands, and the token in no log line, job
//! error or command output.

use crate::support;

use fillbook::flex::credentials;
use fillbook::flex::web::FlexWebOptions;
use fillbook::gateways::SyncSettings;
use fillbook::imports::fetch::fetch_and_import;
use fillbook::jobs::{Worker, WorkerConfig};
use fillbook::work::handlers;
use fillbook::Error;
use fillbook_sim::flex_ws::{self, FlexFault, FlexSimConfig, FlexSimCounts, FlexSimHandle};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use std::io::Write;
use std::time::Duration;
use support::TestDb;

const QUERY: &str = "100001";
const FIXTURE: &str = include_str!("../fixtures/flex/ws_statement.xml");

fn captured_logs() {
    support::logs::captured_logs();
}

fn assert_token_not_logged(token: &str) {
    support::logs::assert_not_logged(token);
}

/// A token unique to one test (tests share the process-wide pacing per token).
fn token() -> String {
    format!("T{}", uuid::Uuid::new_v4().simple())
}

async fn sim(token: &str, tweak: impl FnOnce(&mut FlexSimConfig)) -> FlexSimHandle {
    let mut config = FlexSimConfig {
        token: token.to_string(),
        query_id: QUERY.to_string(),
        statements: vec![FIXTURE.as_bytes().to_vec()],
        ..Default::default()
    };
    tweak(&mut config);
    flex_ws::start(config).await.expect("flex simulator")
}

/// Fast options for tests: short waits, same code paths.
fn options(sim: &FlexSimHandle) -> FlexWebOptions {
    FlexWebOptions {
        request_timeout: Duration::from_secs(10),
        min_spacing: Duration::from_millis(20),
        max_per_minute: 100,
        initial_delay: Duration::from_millis(50),
        throttled_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(200),
        total_timeout: Duration::from_secs(10),
        ..FlexWebOptions::with_base_url(sim.base_url())
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn store(t: &TestDb, name: &str, query: &str, token: &str) {
    let actor = app::models::Actor::new("cli", "tester");
    credentials::set(&t.db, &actor, name, query, token)
        .await
        .expect("store credentials");
}

support::db_test!(fetch_imports_the_statement, |t: TestDb| async move {
    captured_logs();
    let token = token();
    let sim = sim(&token, |_| {}).await;
    store(&t, "main", QUERY, &token).await;

    let m = fetch_and_import(&t.db, &options(&sim), "main")
        .await
        .unwrap();
    assert!(m.reference_code.starts_with("73"), "{}", m.reference_code);
    assert_eq!(m.import.executions_read, 3);
    assert_eq!(m.import.executions_inserted, 3);
    assert_eq!(m.import.skipped_count, 0);
    assert_eq!(m.import.statements[0].account, "U1234567");
    assert_eq!(
        sim.counts(),
        FlexSimCounts {
            send_request: 1,
            get_statement: 1
        }
    );
    assert!(support::every(&sim.user_agents(), |a| a
        .as_deref()
        .is_some_and(|a| a.starts_with("Fillbook/"))));
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
        3
    );
    let coverage = count(
        &t.db,
        &format!(
            "SELECT COUNT(*) FROM coverage WHERE reference = 'flex-ws:{}'",
            m.reference_code
        ),
    )
    .await;
    assert_eq!(coverage, 1);

    // The same statement again changes nothing.
    let again = fetch_and_import(&t.db, &options(&sim), "main")
        .await
        .unwrap();
    assert_eq!(again.import.executions_inserted, 0);
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
        3
    );
    assert_token_not_logged(&token);
});

support::db_test!(generation_in_progress_is_retried, |t: TestDb| async move {
    captured_logs();
    let token = token();
    let sim = sim(&token, |c| {
        c.fault = Some(FlexFault::parse("1019x2").unwrap());
    })
    .await;
    store(&t, "main", QUERY, &token).await;
    let m = fetch_and_import(&t.db, &options(&sim), "main")
        .await
        .unwrap();
    assert_eq!(m.import.executions_inserted, 3);
    assert_eq!(
        sim.counts(),
        FlexSimCounts {
            send_request: 1,
            get_statement: 3
        }
    );
    assert_token_not_logged(&token);
});

support::db_test!(
    too_many_requests_backs_off_then_succeeds,
    |t: TestDb| async move {
        let token = token();
        let sim = sim(&token, |c| {
            c.fault = Some(FlexFault::parse("1018x1").unwrap());
        })
        .await;
        store(&t, "main", QUERY, &token).await;
        let m = fetch_and_import(&t.db, &options(&sim), "main")
            .await
            .unwrap();
        assert_eq!(m.import.executions_inserted, 3);
        assert_eq!(sim.counts().send_request, 2);
    }
);

support::db_test!(requests_with_one_token_are_spaced, |t: TestDb| async move {
    let token = token();
    let sim = sim(&token, |c| {
        c.fault = Some(FlexFault::parse("1019x1").unwrap())
    })
    .await;
    store(&t, "main", QUERY, &token).await;
    let o = FlexWebOptions {
        min_spacing: Duration::from_millis(300),
        initial_delay: Duration::from_millis(1),
        ..options(&sim)
    };
    let started = std::time::Instant::now();
    fetch_and_import(&t.db, &o, "main").await.unwrap();
    // SendRequest, GetStatement (1019), GetStatement: two gaps of at least the spacing.
    assert_eq!(sim.counts().get_statement, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
});

support::db_test!(
    try_again_gives_up_within_the_time_budget,
    |t: TestDb| async move {
        let token = token();
        let sim = sim(&token, |c| {
            c.fault = Some(FlexFault::parse("1019").unwrap())
        })
        .await;
        store(&t, "main", QUERY, &token).await;
        let mut o = options(&sim);
        o.total_timeout = Duration::from_millis(600);
        let started = std::time::Instant::now();
        let err = fetch_and_import(&t.db, &o, "main").await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(
                &err,
                Error::FlexService {
                    code: Some(1019),
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(sim.counts().get_statement >= 2);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
    }
);

// Each token or query problem: one request, a clear error naming the code and the fix,
// nothing written, the token nowhere.
support::db_test!(
    token_and_query_errors_are_clear_and_not_retried,
    |t: TestDb| async move {
        captured_logs();
        let token = token();
        // (simulator tweak, stored query id, stored token, expected code)
        let expired = sim(&token, |c| c.token_expired = true).await;
        let plain = sim(&token, |_| {}).await;
        let wrong_token = format!("{token}X");
        let cases: [(&FlexSimHandle, &str, &str, u32, &str); 3] = [
            (&expired, QUERY, &token, 1012, "expired"),
            (&plain, QUERY, &wrong_token, 1015, "invalid"),
            (&plain, "999999", &token, 1020, "query id"),
        ];
        for (i, (sim, query, tok, code, says)) in cases.into_iter().enumerate() {
            let name = format!("case{i}");
            store(&t, &name, query, tok).await;
            let before = sim.counts();
            let err = fetch_and_import(&t.db, &options(sim), &name)
                .await
                .unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(&err, Error::FlexService { code: Some(c), retryable: false, .. } if *c == code),
                "{err:?}"
            );
            assert!(
                message.contains(&code.to_string()) && message.contains(says),
                "{message}"
            );
            assert!(
                message.contains("fillbook flex credentials set"),
                "{message}"
            );
            assert!(!message.contains(&token), "{message}");
            let after = sim.counts();
            assert_eq!(
                after.send_request,
                before.send_request + 1,
                "retried {code}"
            );
            assert_eq!(after.get_statement, before.get_statement);
        }
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM coverage").await, 0);
        assert_token_not_logged(&token);
    }
);

support::db_test!(
    unreachable_service_is_retryable_and_redacted,
    |t: TestDb| async move {
        let token = token();
        store(&t, "main", QUERY, &token).await;
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let o = FlexWebOptions {
            request_timeout: Duration::from_secs(2),
            ..FlexWebOptions::with_base_url(format!("http://127.0.0.1:{port}/x"))
        };
        let err = fetch_and_import(&t.db, &o, "main").await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::FlexService {
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("t=***") && !message.contains(&token),
            "{message}"
        );
    }
);

/// Runs a worker with the flex handler until `job` finishes an attempt.
async fn run_job(t: &TestDb, sim: &FlexSimHandle, job: i32) -> fillbook::db::entities::jobs::Model {
    run_job_with(t, options(sim), job).await
}

/// Runs a worker whose flex handler uses `flex` until `job` finishes an attempt.
async fn run_job_with(
    t: &TestDb,
    flex: FlexWebOptions,
    job: i32,
) -> fillbook::db::entities::jobs::Model {
    let settings = SyncSettings {
        host: "127.0.0.1".into(),
        port: 1,
        client_id: 100,
        connect_timeout: Duration::from_secs(1),
        lookback_days: 7,
        time_zone: chrono_tz::UTC,
    };
    let mut config = WorkerConfig::new(1);
    config.poll_interval = Duration::from_millis(50);
    let worker = Worker::new(
        t.db.clone(),
        handlers::registry_with_flex(settings, flex),
        config,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let mut last = None;
    for _ in 0..200 {
        let j = fillbook::jobs::queue::get(&t.db, job).await.unwrap();
        if ["completed", "discarded", "retryable"].contains(&j.state.as_str()) {
            last = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    last.expect("the job did not finish")
}

support::db_test!(flex_fetch_job_end_to_end, |t: TestDb| async move {
    captured_logs();
    let token = token();
    let sim = sim(&token, |c| {
        c.fault = Some(FlexFault::parse("1019x1").unwrap())
    })
    .await;
    store(&t, "main", QUERY, &token).await;

    let payload = json!({"credentials": "main"});
    let first = handlers::enqueue(&t.db, "flex.fetch", payload.clone())
        .await
        .unwrap();
    let second = handlers::enqueue(&t.db, "flex.fetch", payload)
        .await
        .unwrap();
    assert!(first.inserted && !second.inserted);
    assert_eq!(first.job.id, second.job.id);
    let err = handlers::enqueue(
        &t.db,
        "flex.fetch",
        json!({"credentials": "main", "token": "x"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, Error::Invalid { field, .. } if field == "payload.token"));
    assert_eq!(err.status_and_code().0.as_u16(), 422);

    let job = run_job(&t, &sim, first.job.id).await;
    assert_eq!(job.state, "completed", "{:?}", job.error);
    let result = job.result.unwrap();
    assert_eq!(result["credentials"], "main");
    assert_eq!(result["executions_inserted"], 3);
    assert!(result["reference_code"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
        3
    );
    assert_token_not_logged(&token);
});

support::db_test!(
    flex_fetch_job_with_bad_token_is_discarded_at_once,
    |t: TestDb| async move {
        captured_logs();
        let token = token();
        let sim = sim(&token, |_| {}).await;
        let wrong = format!("{token}Z");
        store(&t, "main", QUERY, &wrong).await;
        let queued = handlers::enqueue(&t.db, "flex.fetch", json!({"credentials": "main"}))
            .await
            .unwrap();
        let job = run_job(&t, &sim, queued.job.id).await;
        assert_eq!(job.state, "discarded");
        assert_eq!(job.attempt, 1);
        let error = job.error.unwrap();
        assert!(
            error.contains("1015") && error.contains("invalid"),
            "{error}"
        );
        assert!(!error.contains(&token), "{error}");
        assert!(!job.errors.unwrap().to_string().contains(&token));
        assert_eq!(sim.counts().send_request, 1);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
        assert_token_not_logged(&token);
        assert_token_not_logged(&wrong);
    }
);

support::db_test!(
    flex_fetch_job_still_generating_is_retried_later,
    |t: TestDb| async move {
        let token = token();
        let sim = sim(&token, |c| {
            c.fault = Some(FlexFault::parse("1019").unwrap())
        })
        .await;
        store(&t, "main", QUERY, &token).await;
        let queued = handlers::enqueue(&t.db, "flex.fetch", json!({"credentials": "main"}))
            .await
            .unwrap();
        let mut o = options(&sim);
        o.total_timeout = Duration::from_millis(300);
        let job = run_job_with(&t, o, queued.job.id).await;
        assert_eq!(job.state, "retryable");
        assert_eq!(job.attempt, 1);
        assert!(job.error.unwrap().contains("1019"));
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM trade_executions").await,
            0
        );
    }
);

support::db_test!(
    credentials_are_listed_without_tokens_and_audited,
    |t: TestDb| async move {
        let token = token();
        store(&t, "main", QUERY, &token).await;
        store(&t, "main", "100002", &token).await;
        let list = credentials::list(&t.db).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].query_id, "100002");
        assert!(!serde_json::to_string(&list).unwrap().contains(&token));
        let actor = app::models::Actor::new("cli", "tester");
        credentials::remove(&t.db, &actor, "main").await.unwrap();
        assert!(matches!(
            credentials::remove(&t.db, &actor, "main").await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            fetch_and_import(&t.db, &FlexWebOptions::default(), "main").await,
            Err(Error::NotFound(_))
        ));
        let audit =
            t.db.query_all_raw(Statement::from_string(
                t.db.get_database_backend(),
                "SELECT action, detail FROM audit_events ORDER BY id",
            ))
            .await
            .unwrap();
        let actions: Vec<String> = audit
            .iter()
            .map(|r| r.try_get::<String>("", "action").unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "flex.credentials_set",
                "flex.credentials_set",
                "flex.credentials_removed"
            ]
        );
        for r in &audit {
            let detail: Option<String> = r.try_get("", "detail").unwrap();
            assert!(!detail.unwrap_or_default().contains(&token));
        }
    }
);

fn fillbook(
    db: &str,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fillbook"))
        .args(args)
        .args(["--database-url", db, "--log", "trace"])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

// `fillbook flex credentials …` and `fillbook flex fetch` as an operator runs them.
support::db_test!(flex_commands, |t: TestDb| async move {
    let token = token();
    let sim = sim(&token, |_| {}).await;
    let all = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let url = t.url.clone();
    let set = fillbook(
        &url,
        &["flex", "credentials", "set", "main", "--query-id", QUERY],
        Some(&format!("{token}\n")),
        &[],
    );
    assert!(set.status.success(), "{}", all(&set));
    let set_env = fillbook(
        &url,
        &[
            "flex",
            "credentials",
            "set",
            "other",
            "--query-id",
            QUERY,
            "--token-env",
            "FLEX_T",
        ],
        None,
        &[("FLEX_T", &token)],
    );
    assert!(set_env.status.success(), "{}", all(&set_env));
    let list = fillbook(&url, &["flex", "credentials", "list"], None, &[]);
    assert!(list.status.success(), "{}", all(&list));
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let base = sim.base_url();
    let fetch = fillbook(
        &url,
        &["flex", "fetch", "main", "--json", "--flex-base-url", &base],
        None,
        &[],
    );
    assert!(fetch.status.success(), "{}", all(&fetch));
    let metrics: serde_json::Value = serde_json::from_slice(&fetch.stdout).unwrap();
    assert_eq!(metrics["executions_inserted"], 3);

    let removed = fillbook(&url, &["flex", "credentials", "remove", "other"], None, &[]);
    assert!(removed.status.success(), "{}", all(&removed));
    let missing = fillbook(
        &url,
        &["flex", "fetch", "other", "--flex-base-url", &base],
        None,
        &[],
    );
    assert!(!missing.status.success());
    assert!(
        all(&missing).contains("flex credentials `other`"),
        "{}",
        all(&missing)
    );
    for out in [&set, &set_env, &list, &fetch, &removed, &missing] {
        assert!(
            !all(out).contains(&token),
            "the token was printed: {}",
            all(out)
        );
    }
});
