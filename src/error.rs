//! The one error type of lakefed.
//!
//! Variants say *what* went wrong (a bad configuration, a location that is not a
//! Delta table, storage that cannot be reached), not which backend raised it. At
//! the DataFusion edge an [`Error`] becomes a [`DataFusionError`] whose message
//! is the same text, so SQL users see the same words as Rust callers.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Result alias used across lakefed.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lakefed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `lakefed.toml` could not be read or is invalid.
    #[error("{}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, naming the source and the field.
        message: String,
    },

    /// A value given by the caller (a URL, an option, a function argument) is invalid.
    #[error("{0}")]
    InvalidArgument(String),

    /// The location exists (or could not be checked) but holds no Delta table.
    #[error("'{location}' is not a Delta table: {reason}")]
    NotATable {
        /// The location, with any credentials removed.
        location: String,
        /// Why it is not a table, and what to do.
        reason: String,
    },

    /// The Delta log of a table could not be read or replayed.
    #[error("cannot read Delta table '{location}': {source}")]
    Delta {
        /// The table location, with any credentials removed.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    /// The table's protocol asks for a reader lakefed is not: a newer reader
    /// version, or a table feature lakefed cannot read exactly.
    #[error("Delta table '{location}' uses a protocol lakefed cannot read: {message}")]
    UnsupportedProtocol {
        /// The table location, with any credentials removed.
        location: String,
        /// What the protocol asks for.
        message: String,
    },

    /// The Delta log of a table is broken: it has no protocol or no
    /// metadata, or an action (a schema, a checkpoint) that is invalid.
    #[error("the Delta log of table '{location}' is invalid: {message}")]
    InvalidLog {
        /// The table location, with any credentials removed.
        location: String,
        /// What is missing or invalid.
        message: String,
    },

    /// The storage that holds a table could not be reached or refused access.
    #[error("storage error for '{location}': {message}")]
    Storage {
        /// The location, with any credentials removed.
        location: String,
        /// What the storage said.
        message: String,
    },

    /// A remote engine (a Spark Connect server, a SQL warehouse) refused a
    /// request or failed while answering it. The message ends with the
    /// SQLSTATE where the server sent one and its text does not show it.
    #[error("{endpoint}: {message}{}", sql_state_note(.sql_state.as_deref(), .message))]
    Remote {
        /// The server, with any credentials removed.
        endpoint: String,
        /// Spark's error class (`TABLE_OR_VIEW_NOT_FOUND`, ...), when it sent one.
        error_class: Option<String>,
        /// The SQLSTATE of the error, when the server sent one.
        sql_state: Option<String>,
        /// What the server said.
        message: String,
    },

    /// A remote engine could not be reached, did not answer in time, or the
    /// connection broke and could not be resumed.
    #[error("cannot reach {endpoint}: {message}")]
    Unreachable {
        /// The server, with any credentials removed.
        endpoint: String,
        /// What failed, and what to check.
        message: String,
    },

    /// An error raised by DataFusion itself.
    #[error(transparent)]
    DataFusion(#[from] Box<DataFusionError>),
}

/// ` (SQLSTATE xxxxx)` for a remote error whose message does not name it.
fn sql_state_note(sql_state: Option<&str>, message: &str) -> String {
    match sql_state {
        Some(state) if !message.contains(state) => format!(" (SQLSTATE {state})"),
        _ => String::new(),
    }
}

impl From<DataFusionError> for Error {
    fn from(err: DataFusionError) -> Self {
        Error::DataFusion(Box::new(err))
    }
}

impl From<Error> for DataFusionError {
    fn from(err: Error) -> Self {
        match err {
            Error::DataFusion(inner) => *inner,
            Error::InvalidArgument(message) => DataFusionError::Plan(message),
            other => DataFusionError::External(Box::new(other)),
        }
    }
}
