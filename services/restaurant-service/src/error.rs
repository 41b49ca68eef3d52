//! The one error type of restaurant-service, and how it reaches clients and the consumer
//! loop.

use axum::http::StatusCode;
use platform::http::Problem;
use platform::messaging::HandlingError;
use uuid::Uuid;

/// What can go wrong in restaurant-service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field holds an unacceptable value; `field` is its JSON path.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// JSON path of the field, as the client spelled it.
        field: String,
        /// What is wrong, without echoing large values.
        reason: String,
    },
    /// No restaurant has this id.
    #[error("restaurant {0} not found")]
    NotFound(Uuid),
    /// The database, the broker, configuration: the platform's errors.
    #[error(transparent)]
    Platform(#[from] platform::Error),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Platform(error.into())
    }
}

/// Clients get problem+json: 422 naming the field, 404, or 503 when the database is
/// unavailable (never a 500 for a dependency outage).
impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid { field, reason } => Problem::invalid_field(&field, reason),
            Error::NotFound(id) => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("restaurant {id} not found"),
            ),
            Error::Platform(e) => e.into(),
        }
    }
}

/// In the consumer loop, platform failures (database down) are retried; anything else
/// can never succeed and is dead-lettered.
impl From<Error> for HandlingError {
    fn from(error: Error) -> Self {
        match error {
            Error::Platform(e) => e.into(),
            other => HandlingError::Poison(other.to_string()),
        }
    }
}
