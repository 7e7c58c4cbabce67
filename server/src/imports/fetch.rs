//! One Flex Web Service fetch: load the named credentials, download the statement in two
//! steps, import it in one transaction. Used by the `flex.fetch` job and `fillbook flex fetch`.

use crate::error::{Error, Result};
use crate::flex::credentials;
use crate::flex::web::{FlexWebClient, FlexWebOptions};
use crate::flex::ImportMetrics;
use crate::sync::statement::import_flex;
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// What one fetch did: the reference code of the statement and the import's metrics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FetchMetrics {
    pub credentials: String,
    pub reference_code: String,
    pub statement_bytes: usize,
    #[serde(flatten)]
    pub import: ImportMetrics,
}

/// Fetches and imports the statement of the credentials called `name`.
pub async fn fetch_and_import(
    db: &DatabaseConnection,
    options: &FlexWebOptions,
    name: &str,
) -> Result<FetchMetrics> {
    let creds = credentials::load(db, name).await?;
    let client = FlexWebClient::new(options.clone())?;
    let fetched = client.fetch_statement(&creds).await?;
    let statement_bytes = fetched.body.len();
    tracing::info!(credentials = name, reference_code = %fetched.reference_code,
        bytes = statement_bytes, "downloaded a Flex statement");
    let import = import_flex(
        db,
        std::io::Cursor::new(fetched.body),
        Some(format!("flex-ws:{}", fetched.reference_code)),
    )
    .await?;
    Ok(FetchMetrics {
        credentials: name.to_string(),
        reference_code: fetched.reference_code,
        statement_bytes,
        import,
    })
}

/// Whether another attempt at a fetch that failed with `e` could succeed.
pub fn is_retryable(e: &Error) -> bool {
    match e {
        Error::FlexService { retryable, .. } => *retryable,
        Error::NotFound(_) | Error::Invalid { .. } | Error::Config(_) => false,
        _ => true,
    }
}
