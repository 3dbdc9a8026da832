//! The one error of the service: what went wrong, as a [`ErrorKind`] a caller maps to its own terms
//! (the CLI to an exit code, the JSON API to an HTTP status) and a message fit to show the user.

use serde::Serialize;

use crate::store::StoreError;

/// Why a service call failed. The message is complete (`held message 7 not found`, `already
/// released`); it names no store internals and never carries message content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum Error {
    /// The held message, incident or backup asked for does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong: a value out of its set, a bad header, an address, an actor
    /// name, a damaged backup file (HTTP 400 / 422).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the record's state: already released, no recipient still held,
    /// no held message behind an incident (HTTP 409). The refusal is in the history already.
    #[error("{0}")]
    Conflict(String),
    /// The store cannot be used now: not opened, lost, full, a newer schema, an I/O failure
    /// (HTTP 503); trying later (or the operator's repair) may help.
    #[error("{0}")]
    Unavailable(String),
    /// Something that should not happen: a corrupt record, a scanner that cannot be built
    /// (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

/// The kind of an [`Error`], for callers that map it (exit codes, HTTP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    Invalid,
    Conflict,
    Unavailable,
    Internal,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::NotFound(m)
            | Error::Invalid(m)
            | Error::Conflict(m)
            | Error::Unavailable(m)
            | Error::Internal(m) => m,
        }
    }
}

impl From<StoreError> for Error {
    /// Keeps the store's wording (the CLI's messages stay as they were) and sorts it by kind.
    fn from(e: StoreError) -> Error {
        let text = e.to_string();
        match e {
            StoreError::NotFound(_) => Error::NotFound(text),
            StoreError::Refused(_) => Error::Conflict(text),
            StoreError::Backup(_) => Error::Invalid(text),
            StoreError::Corrupt { .. } => Error::Internal(text),
            StoreError::Full(_)
            | StoreError::NewerSchema { .. }
            | StoreError::Lost(_)
            | StoreError::Io(_)
            | StoreError::Unavailable(_) => Error::Unavailable(text),
        }
    }
}

/// Service results.
pub type Result<T> = std::result::Result<T, Error>;
