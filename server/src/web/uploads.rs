//! The statement upload form's target (`POST /imports`, `multipart/form-data`): stores the
//! file as an import and queues its job, like `POST /api/v1/imports/flex`, then sends the
//! browser to the import's page (or back to the form with the error).

use crate::imports::MAX_DOCUMENT_BYTES;
use crate::state::AppState;
use app::models::Actor;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;

/// The body limit of the upload route: the document plus the form around it.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_DOCUMENT_BYTES + (1 << 20))
}

fn back_with(error: &str) -> Response {
    Redirect::to(&app::url::with_query("/imports", &[("error", error)])).into_response()
}

/// `POST /imports`: the `file` field is the statement.
pub async fn upload_statement(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    mut form: Multipart,
) -> Response {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().map(str::to_string);
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => return back_with(&format!("the upload stopped: {}", e.body_text())),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return back_with(&format!("the upload could not be read: {}", e.body_text()))
            }
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return back_with("choose a Flex statement (XML) to upload");
    };
    match crate::imports::enqueue_flex(&state.db, &actor, name, bytes).await {
        Ok(import) => Redirect::to(&format!("/imports?id={}", import.id)).into_response(),
        Err(e) => back_with(&e.for_page()),
    }
}
