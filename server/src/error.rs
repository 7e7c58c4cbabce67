//! The server's one error type and its HTTP mapping (RFC 9457 problem+json).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value that cannot work (bad URL, unusable path …).
    #[error("{0}")]
    Config(String),
    /// The database could not be reached at all.
    #[error("could not connect to the database at {url}: {reason}")]
    DbConnect { url: String, reason: String },
    /// A database statement failed.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The listening socket could not be opened.
    #[error("could not listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    /// Input that fails validation; `field` names the offending input.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A request that cannot be read at all (e.g. malformed JSON).
    #[error("{0}")]
    BadRequest(String),
    /// A request body in a media type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request that conflicts with the resource's current state (e.g. retrying a running
    /// job, confirming an order twice).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials (missing, unknown, expired or revoked).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the right to do this (scope, admin, CSRF proof).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts (failed sign-ins); retry after the given seconds.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: u64,
    },
    /// A resource that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// IB Gateway could not be reached or failed a request.
    #[error(transparent)]
    Ib(#[from] crate::ib::IbError),
    /// IB's Flex Web Service failed or refused a request (`code`: IB's error code, if it
    /// gave one). `retryable`: trying again later may succeed; otherwise the message says
    /// what the operator must fix. Never carries the token.
    #[error("{message}")]
    FlexService {
        code: Option<u32>,
        message: String,
        retryable: bool,
    },
    /// Anything else that went wrong inside the server.
    #[error("{0}")]
    Internal(String),
}

/// Decodes `value` (a request body, tool arguments, a job payload) into `T`; a value that
/// does not fit is a validation error naming the offending field, under `root` when given
/// (`payload.lookback_days`). `null` decodes as an empty object.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    root: Option<&str>,
) -> Result<T> {
    let value = if value.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        value
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let what = format!("invalid {}", root.unwrap_or("arguments"));
        field_error(e, root, "arguments", &what)
    })
}

/// A decoding error as a validation error naming the offending field (under `root` when
/// given; `whole` when no field can be named), its message prefixed with `what`.
pub fn field_error<E: std::fmt::Display>(
    e: serde_path_to_error::Error<E>,
    root: Option<&str>,
    whole: &str,
    what: &str,
) -> Error {
    let path = e.path().to_string();
    let text = e.inner().to_string();
    // Unknown and missing fields are reported at the object: their name is quoted.
    let inner = if path != "." {
        Some(path)
    } else if text.starts_with("unknown field") || text.starts_with("missing field") {
        text.split('`').nth(1).map(str::to_string)
    } else {
        None
    };
    let field = match (root, inner) {
        (Some(root), Some(inner)) => format!("{root}.{inner}"),
        (None, Some(inner)) => inner,
        (Some(root), None) => root.to_string(),
        (None, None) => whole.to_string(),
    };
    Error::invalid(field, format!("{what}: {text}"))
}

#[cfg(feature = "demo")]
impl From<fillbook_sim::SimError> for Error {
    fn from(e: fillbook_sim::SimError) -> Self {
        use fillbook_sim::SimError;
        match e {
            SimError::Config(m) => Error::Config(m),
            SimError::Bind { addr, reason } => Error::Bind { addr, reason },
            SimError::Invalid { field, message } => Error::Invalid { field, message },
        }
    }
}

impl Error {
    /// A validation error naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status and stable machine code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            Error::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Error::DbConnect { .. } => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Error::Ib(_) => (StatusCode::BAD_GATEWAY, "gateway_error"),
            Error::FlexService { .. } => (StatusCode::BAD_GATEWAY, "flex_service_error"),
            Error::Config(_) | Error::Db(_) | Error::Bind { .. } | Error::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        }
    }

    /// The error as the UI port's [`app::errors::AppError`].
    pub fn to_app_error(&self) -> app::errors::AppError {
        let (status, code) = self.status_and_code();
        let mut err =
            app::errors::AppError::new(code, self.public_message()).with_status(status.as_u16());
        if let Error::Invalid { field, .. } = self {
            err.field = Some(field.clone());
        }
        err
    }

    /// The message for a page that shows this error: the server's own failures are logged
    /// and described without their internal details.
    pub fn for_page(&self) -> String {
        if self.status_and_code().0.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        self.public_message()
    }

    /// The message safe to show a client: internal details stay in the log.
    fn public_message(&self) -> String {
        match self {
            Error::Db(_) | Error::Internal(_) | Error::Config(_) | Error::Bind { .. } => {
                "the server could not complete the request; see the server log".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl From<Error> for app::errors::AppError {
    fn from(err: Error) -> Self {
        if matches!(err.status_and_code().0, StatusCode::INTERNAL_SERVER_ERROR) {
            tracing::error!(error = %err, "request failed");
        }
        err.to_app_error()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut body = json!({
            "type": format!("https://fillbook.dev/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": code,
            "detail": self.for_page(),
        });
        if let Error::Invalid { field, .. } = &self {
            body["field"] = json!(field);
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            Error::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"fillbook\""),
                );
            }
            Error::TooManyRequests {
                retry_after_seconds,
                ..
            } => {
                headers.insert(header::RETRY_AFTER, (*retry_after_seconds).into());
            }
            _ => {}
        }
        response
    }
}
