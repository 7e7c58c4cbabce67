//! The simulator's one error type: a bad scenario or flag, or a port it cannot listen on.

/// What can go wrong starting a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A scenario that cannot be read or does not hold together.
    #[error("{0}")]
    Config(String),
    /// The listening socket could not be opened.
    #[error("could not listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    /// A flag or file that fails validation; `field` names it.
    #[error("{message}")]
    Invalid { field: String, message: String },
}

impl SimError {
    /// A validation error naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A simulator result.
pub type Result<T, E = SimError> = std::result::Result<T, E>;
