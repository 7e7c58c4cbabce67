//! The error shape shared by the backend port and the pages.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error a page can show: a stable machine `code`, a sentence for people, and
/// the offending input field when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The HTTP status a server function answers with for this error (none: 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl AppError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field: None,
            status: None,
        }
    }

    /// Input that fails validation, naming the field (422).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new("validation_failed", message).with_status(422)
        }
    }

    /// A signed-in caller without the right to do this (403).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("forbidden", message).with_status(403)
    }

    /// No signed-in caller (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new("unauthorized", message).with_status(401)
    }

    /// This error with the HTTP status of its kind.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// The first refusal among the last answers of a page's form actions. On the server these
/// are the errors a plain form post brought back in the URL of the page it returned to.
pub fn first_refusal<T, E: fmt::Display>(
    answers: impl IntoIterator<Item = Option<Result<T, E>>>,
) -> Option<String> {
    answers
        .into_iter()
        .flatten()
        .find_map(|r| r.err())
        .map(|e| e.to_string())
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}
