//! The error type of service code: what a request or a message handler can run into.
//!
//! Every service has the same three cases, so they are defined once: an invalid field
//! (the client's mistake, 422 naming the field; poison for a message), a missing
//! resource (404), and a platform failure (the database down: 503 for clients, a retry for
//! messages). A service re-exports it as its `Error`.

use uuid::Uuid;

use messaging::HandlingError;

use crate::http::Problem;

/// What can go wrong in a service's request or message handling.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field holds an unacceptable value; `field` is its JSON path.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// JSON path of the field, as the client spelled it.
        field: String,
        /// What is wrong, without echoing large values.
        reason: String,
    },
    /// No such resource.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of resource, e.g. `consumer`.
        what: &'static str,
        /// Its id.
        id: Uuid,
    },
    /// Stored data the service cannot read back as its domain (a column of the wrong
    /// type or NULL, a menu its own rules refuse): never the client's fault, and the same
    /// on every read until someone repairs it, so it must be an error naming what is
    /// corrupt rather than a default that hides it.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// What is corrupt, with its id, e.g. `restaurant 0190… menu`.
        what: String,
        /// Why it cannot be read (for the log and dead letters).
        reason: String,
    },
    /// The database, the broker, configuration.
    #[error(transparent)]
    Platform(#[from] crate::Error),
}

impl ServiceError {
    /// An invalid field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Corrupt stored data.
    pub fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A missing resource.
    pub fn not_found(what: &'static str, id: Uuid) -> Self {
        Self::NotFound { what, id }
    }
}

impl From<tokio_postgres::Error> for ServiceError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Platform(error.into())
    }
}

impl From<runtime::Error> for ServiceError {
    fn from(error: runtime::Error) -> Self {
        Self::Platform(error.into())
    }
}

impl From<messaging::Error> for ServiceError {
    fn from(error: messaging::Error) -> Self {
        Self::Platform(error.into())
    }
}

/// Clients get problem+json: 422 naming the field, 404, 500 naming what is stored
/// corrupt (the reason goes to the log), or 503 when the database is unavailable (never
/// a 500 for a dependency outage).
impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid { field, reason } => Problem::invalid_field(&field, reason),
            ServiceError::NotFound { what, id } => Problem::not_found(&format!("{what} {id}")),
            ServiceError::Corrupt { what, reason } => Problem::corrupt(&what, &reason),
            ServiceError::Platform(e) => e.into(),
        }
    }
}

/// In the consumer loop, platform failures (database down) are retried; corrupt stored
/// data fails the same way on every try (a few more tries, then dead-lettered with the
/// reason, so it cannot block the partition); anything else can never succeed and is
/// dead-lettered.
impl From<ServiceError> for HandlingError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Platform(crate::Error::Runtime(e)) => e.into(),
            ServiceError::Platform(crate::Error::Messaging(e)) => e.into(),
            ServiceError::Platform(e) => HandlingError::Retry(e.to_string()),
            corrupt @ ServiceError::Corrupt { .. } => HandlingError::Failed(corrupt.to_string()),
            other => HandlingError::Poison(other.to_string()),
        }
    }
}
