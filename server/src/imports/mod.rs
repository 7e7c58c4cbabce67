//! Statement imports: an uploaded Flex document is stored in an `imports` row and a
//! `flex.import` job runs it later, in one transaction with the audit entry. The job reads
//! the stored document, imports it, records the metrics or the error, and drops the
//! document. A failed import is final (re-upload to try again); re-importing a statement
//! changes nothing that is already in the ledger.

pub mod fetch;

use crate::auth::audit;
use crate::db::entities::imports;
use crate::db::read::page_limit;
use crate::error::{Error, Result};
use crate::jobs::{kinds, Queue};
use app::models::{Actor, ImportDto, ImportQuery, Page};
use chrono::Utc;
use futures::FutureExt;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

/// Largest statement document accepted (API and upload form).
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// Statuses of an import.
pub const PENDING: &str = "pending";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";

/// The DTO of an import row (the stored document never leaves the server).
pub fn import_dto(m: imports::Model) -> ImportDto {
    ImportDto {
        id: m.id,
        source: m.source,
        file_name: m.file_name,
        status: m.status,
        job_id: m.job_id,
        metrics: m.metrics,
        error: m.error,
        created_by: m.created_by,
        created_at: m.created_at,
        finished_at: m.finished_at,
    }
}

/// Stores `document` as a pending Flex import and queues the `flex.import` job that runs
/// it, with the `import.enqueued` audit entry, all in one transaction.
pub async fn enqueue_flex(
    db: &DatabaseConnection,
    actor: &Actor,
    file_name: Option<String>,
    document: Vec<u8>,
) -> Result<ImportDto> {
    if document.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "statement",
            "the statement document is empty",
        ));
    }
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid(
            "statement",
            format!(
                "the statement is larger than {} MiB",
                MAX_DOCUMENT_BYTES >> 20
            ),
        ));
    }
    let body = String::from_utf8(document)
        .map_err(|_| Error::invalid("statement", "the statement is not UTF-8 text"))?;
    let file_name = file_name
        .map(|n| n.trim().chars().take(255).collect::<String>())
        .filter(|n| !n.is_empty());
    let txn = crate::db::begin_write(db).await?;
    let row = imports::ActiveModel {
        source: Set("flex".into()),
        file_name: Set(file_name.clone()),
        status: Set(PENDING.into()),
        body: Set(Some(body)),
        created_by: Set(Some(actor.name.clone())),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let enqueued = Queue::default()
        .enqueue(&txn, kinds::flex_import_job(row.id))
        .await?;
    let mut active: imports::ActiveModel = row.into();
    active.job_id = Set(Some(enqueued.job.id));
    let row = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "import.enqueued",
        Some(format!("import {}", row.id)),
        Some(json!({ "source": "flex", "file_name": file_name, "job": enqueued.job.id })),
    )
    .await?;
    txn.commit().await?;
    Ok(import_dto(row))
}

/// One import.
pub async fn get(db: &DatabaseConnection, id: i32) -> Result<ImportDto> {
    imports::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(import_dto)
        .ok_or_else(|| Error::NotFound(format!("import {id}")))
}

/// Imports, newest first; the cursor is the last id of the page.
pub async fn list(db: &DatabaseConnection, query: ImportQuery) -> Result<Page<ImportDto>> {
    let limit = page_limit(query.limit)?;
    let mut select = imports::Entity::find().order_by_desc(imports::Column::Id);
    if let Some(before) = crate::db::page::id_cursor(query.cursor.as_deref())? {
        select = select.filter(imports::Column::Id.lt(before));
    }
    let rows = select.limit(limit + 1).all(db).await?;
    Ok(crate::db::page::page_of(
        rows,
        limit,
        |r| r.id.to_string(),
        import_dto,
    ))
}

/// The `flex.import` job: imports the stored document of `import_id`, records the outcome
/// on the import and drops the document. The job's result is the import's metrics; a
/// refused document is the job's error (and nothing reached the ledger).
pub async fn run(
    db: &DatabaseConnection,
    import_id: i32,
) -> std::result::Result<serde_json::Value, String> {
    let row = imports::Entity::find_by_id(import_id)
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("import {import_id} not found"))?;
    let Some(body) = row.body.clone() else {
        return Err(format!(
            "import {import_id} is {} and its document is gone; upload the statement again",
            row.status
        ));
    };
    // A panic inside the import is recorded on the import like any other failure.
    let outcome = std::panic::AssertUnwindSafe(crate::sync::statement::import_flex(
        db,
        std::io::Cursor::new(body.into_bytes()),
        Some(format!("import:{import_id}")),
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|_| Err(Error::Internal("the import stopped unexpectedly".into())));
    let mut active: imports::ActiveModel = row.into();
    active.body = Set(None);
    active.finished_at = Set(Some(Utc::now()));
    let result = match outcome {
        Ok(metrics) => {
            let value = serde_json::to_value(&metrics).map_err(|e| e.to_string())?;
            active.status = Set(COMPLETED.into());
            active.metrics = Set(Some(value.clone()));
            Ok(json!({ "import_id": import_id, "metrics": value }))
        }
        Err(e) => {
            let message = e.to_string();
            active.status = Set(FAILED.into());
            active.error = Set(Some(message.clone()));
            Err(message)
        }
    };
    active.update(db).await.map_err(|e| e.to_string())?;
    result
}
