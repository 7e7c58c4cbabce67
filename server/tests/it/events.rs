//! The change bus on SQLite (in-process) and PostgreSQL (NOTIFY on commit, LISTEN per
//! process): a job enqueued and fills written reach a subscriber without polling; fills
//! that change nothing announce nothing. One test runs both databases in turn, so each
//! part sees only its own changes.

use crate::support;

use chrono::Utc;
use fillbook::events::{self, Change};
use fillbook::normalize::NormalizedExecution;
use fillbook::sync::trades::{apply_batch, LedgerBatch};
use std::time::Duration;
use support::TestDb;
use tokio::sync::broadcast;

fn row(account: &str) -> NormalizedExecution {
    support::fill(account, "00ev.0001.01", 4242)
}

/// The next change within 5 s that `wanted` accepts.
async fn next(rx: &mut broadcast::Receiver<Change>, wanted: impl Fn(&Change) -> bool) -> Change {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await {
                Ok(change) if wanted(&change) => return change,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the bus closed"),
            }
        }
    })
    .await
    .expect("a change within 5 s")
}

async fn exercise(t: &TestDb, account: &str) {
    events::ensure_listening(&t.db);
    if t.is_postgres() {
        tokio::time::sleep(Duration::from_millis(500)).await; // LISTEN is established
    }
    let mut rx = events::subscribe();
    let job = fillbook::work::handlers::enqueue(&t.db, "trades.sync", serde_json::json!({}))
        .await
        .unwrap()
        .job;
    // Other tests in this process write too: wait for this job's change, this account's fills.
    let expected = Change::Job {
        id: job.id,
        kind: "trades.sync".into(),
        state: app::models::JobState::Available,
    };
    let change = next(&mut rx, |c| *c == expected).await;
    assert_eq!(change, expected);
    let ours = |c: &Change| matches!(c, Change::Fills { accounts, .. } if accounts.iter().any(|a| a == account));
    let batch = |rows| LedgerBatch {
        rows,
        ..LedgerBatch::default()
    };
    apply_batch(&t.db, batch(vec![row(account)]), Utc::now())
        .await
        .unwrap();
    let change = next(&mut rx, ours).await;
    assert_eq!(
        change,
        Change::Fills {
            accounts: vec![account.into()],
            count: 1
        }
    );
    // The same fill again changes nothing, and says nothing.
    apply_batch(&t.db, batch(vec![row(account)]), Utc::now())
        .await
        .unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if rx.recv().await.is_ok_and(|c| ours(&c)) {
                return;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "an unchanged fill announced a change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_subscribers_on_both_databases() {
    let sqlite = support::sqlite().await;
    exercise(&sqlite, "DUEVSQL1").await;
    let postgres = support::postgres().await;
    exercise(&postgres, "DUEVPG01").await;
}
