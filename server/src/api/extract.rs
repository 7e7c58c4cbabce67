//! Request-body extraction with problem+json errors: malformed JSON → 400, a wrong content
//! type → 415, a body of the wrong shape → 422 naming the field.

use crate::error::Error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with Fillbook's error mapping.
pub struct ApiJson<T>(pub T);

/// A rejected body, answered as problem+json.
pub struct BodyRejection(Error);

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = BodyRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(BodyRejection(map_rejection(rejection))),
        }
    }
}

fn map_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Error::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            Error::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => {
            // axum reports `path: message` (serde_path_to_error); keep the path as the field.
            let text = e.body_text();
            let detail = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text)
                .to_string();
            let field = detail
                .split_once(": ")
                .map(|(path, _)| path.to_string())
                .filter(|p| !p.contains(' '))
                .unwrap_or_else(|| field_from_message(&detail));
            Error::invalid(field, detail)
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::BadRequest("the body is too large".into())
        }
        other => Error::BadRequest(other.body_text()),
    }
}

/// `missing field `x`` and `unknown field `x`` carry the field name in backticks.
fn field_from_message(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| "body".to_string())
}
