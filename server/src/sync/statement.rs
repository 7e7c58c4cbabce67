//! Writing one Flex statement into the ledger: the reader (`crate::flex::statement`) runs on
//! a blocking thread and hands over batches, each written as it arrives, all in one
//! transaction (a malformed document, even near its end, writes nothing).

use crate::error::{Error, Result};
use crate::flex::statement::{
    account_zones, read_statement, refused, Chunk, ImportMetrics, IMPORT_BATCH,
};
use crate::sync::trades::{announce_fills, settle, write_batch, LedgerBatch, LedgerOutcome};
use chrono::Utc;
use sea_orm::DatabaseConnection;
use std::collections::HashSet;
use std::io::BufRead;

/// Imports one statement document in one transaction, streaming: the reader runs on a
/// blocking thread and hands over batches of [`IMPORT_BATCH`] rows, each written as it
/// arrives, so memory holds a batch or two, not the document. A malformed document (even
/// near its end) rolls everything back.
pub async fn import_flex<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    input: R,
    reference: Option<String>,
) -> Result<ImportMetrics> {
    import_flex_in_batches(db, input, reference, IMPORT_BATCH).await
}

/// [`import_flex`] with batches of `batch` rows (tests use tiny batches).
pub async fn import_flex_in_batches<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    input: R,
    reference: Option<String>,
    batch: usize,
) -> Result<ImportMetrics> {
    let zones = account_zones(db).await?;
    let source = reference.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(1);
    let reader = tokio::task::spawn_blocking(move || {
        read_statement(input, &zones, reference.as_deref(), batch.max(1), |chunk| {
            tx.blocking_send(chunk).is_ok()
        })
    });
    let now = Utc::now();
    let txn = crate::db::run::RunTxn::begin(db).await?;
    let mut run = LedgerOutcome::default();
    while let Some(chunk) = rx.recv().await {
        let batch = LedgerBatch {
            rows: chunk.executions,
            cancellations: chunk.cancellations,
            skip_statistics: run.skip_statistics(),
            source: source.clone(),
            known: run.take_known(),
            ..LedgerBatch::default()
        };
        run.absorb(write_batch(&txn, batch, now).await?);
    }
    let summary = reader
        .await
        .map_err(|e| Error::Internal(format!("statement reader stopped: {e}")))?
        .map_err(refused)?;
    // The statements' accounts (also those without fills) and periods.
    let last = LedgerBatch {
        accounts: summary
            .metrics
            .statements
            .iter()
            .map(|s| s.account.clone())
            .filter(|a| !a.is_empty())
            .collect(),
        coverage: summary.coverage,
        ..LedgerBatch::default()
    };
    let accounts: Vec<String> = last.accounts.clone();
    run.absorb(write_batch(&txn, last, now).await?);
    // A statement knows no order states: a trade keeps its status unless Fillbook's own
    // orders decide it.
    settle(&txn, &mut run, &[], false, now).await?;
    txn.commit().await?;
    announce_fills(db, accounts, &run.metrics).await;
    let applied: HashSet<String> = run.applied_cancellations.into_iter().collect();
    let read = summary.metrics;
    for s in &read.skipped {
        tracing::warn!(reason = %s.reason, raw = %s.raw, "skipped a malformed statement row");
    }
    Ok(ImportMetrics {
        executions_inserted: run.metrics.inserted_executions_count,
        executions_updated: run.metrics.updated_executions_count,
        canonical_changes: run.metrics.canonical_changes_count,
        executions_busted: run.busted_executions_count,
        cancellations_recorded: run.cancellations_recorded,
        touched_trades: run.touched_trade_ids.len(),
        unmatched_cancellations: run
            .unmatched_cancellations
            .into_iter()
            .filter(|k| !applied.contains(k))
            .collect(),
        ..read
    })
}
