//! The API's HTTP vocabulary: request-body extraction with problem+json errors (malformed
//! JSON → 400, a wrong content type → 415, a body of the wrong shape → 422 naming the
//! field), ids from the path, and the problem+json shape for the OpenAPI document.

use crate::auth::{Principal, Scope};
use crate::error::Error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
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

/// The problem+json error shape, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    r#type: String,
    title: String,
    status: u16,
    code: String,
    detail: String,
    field: Option<String>,
}

/// An id from the path: a malformed one is a 404 (no such resource), never a 500.
pub fn path_id(raw: &str, what: &str) -> crate::error::Result<i32> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::NotFound(format!("{what} {raw}")))
}

/// `routes` admitting only a caller who holds one of `scopes` (none: any signed-in caller or
/// valid token). The gate in front of the router has already put the caller's
/// [`Principal`] on the request; this answers 403 naming the missing scope.
pub fn scoped<S>(scopes: &'static [Scope], routes: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    if scopes.is_empty() {
        return routes;
    }
    routes.route_layer(axum::middleware::from_fn(
        move |request: Request, next: Next| async move {
            match admitted(scopes, request.extensions().get::<Principal>()) {
                Ok(()) => next.run(request).await,
                Err(e) => e.into_response(),
            }
        },
    ))
}

fn admitted(scopes: &[Scope], principal: Option<&Principal>) -> crate::error::Result<()> {
    let principal = principal.ok_or_else(|| {
        Error::Unauthorized("sign in, or send `Authorization: Bearer <API token>`".into())
    })?;
    if scopes.iter().any(|s| principal.allows(*s)) {
        Ok(())
    } else {
        principal.require(scopes[0])
    }
}

/// A query string decoded into `T`, whose fields are the allowed parameters (`T` denies
/// unknown fields): an unknown or repeated parameter, an empty value or a value of the
/// wrong form is a 422 naming the parameter. Values are trimmed.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        decode_query(parts.uri.query()).map(ApiQuery)
    }
}

/// No query parameters at all (any given is refused by name).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Decodes the query string `raw` into `T` (see [`ApiQuery`]).
pub fn decode_query<T: DeserializeOwned>(raw: Option<&str>) -> crate::error::Result<T> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| Error::invalid("query", format!("the query string is malformed: {e}")))?;
    for (i, (key, value)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(Error::invalid(
                key.as_str(),
                format!("query parameter `{key}` is given more than once"),
            ));
        }
        if value.trim().is_empty() {
            return Err(Error::invalid(
                key.as_str(),
                format!("`{key}` must not be empty"),
            ));
        }
    }
    let trimmed = pairs.iter().map(|(k, v)| (k.as_str(), v.trim()));
    let encoded = serde_urlencoded::to_string(trimmed.collect::<Vec<_>>())
        .map_err(|e| Error::Internal(format!("re-encoding a query: {e}")))?;
    let decoder = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(decoder)
        .map_err(|e| crate::error::field_error(e, None, "query", "invalid query parameter"))
}
