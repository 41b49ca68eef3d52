//! order-service's error: what a use case, a request or a message can run into, and how
//! each case reaches the client (problem+json) or the consumer loop ([`HandlingError`]).

use axum::http::StatusCode;
use messaging::HandlingError;
use service::http::Problem;
use uuid::Uuid;

use crate::domain::CancelError;

/// What can go wrong in order-service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database, the broker, the outbox, configuration.
    #[error(transparent)]
    Platform(#[from] service::Error),

    /// consumer-service's client could not be configured (start-up only).
    #[error(transparent)]
    Client(#[from] resilient_client::Error),

    /// A stored value cannot be read back: `what` names the table and column, `id` the
    /// row. Never repaired silently (an empty order, an empty menu, a guessed state):
    /// acting on a guess would send wrong totals and wrong events.
    #[error("corrupt {what} of {id}: {reason}")]
    Corrupt {
        /// `table.column`, e.g. `orders.line_items`.
        what: &'static str,
        /// The row's key.
        id: Uuid,
        /// Why it cannot be read.
        reason: String,
    },

    /// A value could not be rendered for storage (`what`: the column).
    #[error("cannot store {what}: {source}")]
    Store {
        /// `table.column`.
        what: &'static str,
        /// serde_json's reason.
        source: serde_json::Error,
    },

    /// No order with this id.
    #[error("order {0} not found")]
    OrderNotFound(Uuid),

    /// The order's state does not allow cancelling it.
    #[error(transparent)]
    NotCancellable(#[from] CancelError),

    /// The request's Idempotency-Key already created a different order.
    #[error("this key was used for a different order")]
    IdempotencyKeyReused,

    /// A concurrent request with the same Idempotency-Key won, then disappeared.
    #[error("the order's key was taken; retry")]
    IdempotencyKeyTaken,

    /// A menu revision for a restaurant the replica never learned.
    #[error("menu revision for unknown restaurant {0}")]
    UnknownRestaurant(Uuid),
}

/// Result with the order-service [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Platform(error.into())
    }
}

impl From<runtime::Error> for Error {
    fn from(error: runtime::Error) -> Self {
        Self::Platform(error.into())
    }
}

impl From<messaging::Error> for Error {
    fn from(error: messaging::Error) -> Self {
        Self::Platform(error.into())
    }
}

impl From<prometheus::Error> for Error {
    fn from(error: prometheus::Error) -> Self {
        Self::Platform(error.into())
    }
}

/// Clients get problem+json. A corrupt row is a 500 (the fault is the service's, not
/// the client's: neither a 404 nor a 422) naming the column and row, its reason logged.
impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Platform(e) => e.into(),
            Error::OrderNotFound(_) => Problem::not_found("order"),
            Error::NotCancellable(e) => {
                Problem::new(StatusCode::CONFLICT, "not-cancellable", e.to_string())
            }
            Error::IdempotencyKeyReused => {
                Problem::invalid_field("Idempotency-Key", error.to_string())
            }
            Error::IdempotencyKeyTaken => Problem::unavailable(&error),
            Error::Corrupt {
                what,
                id,
                ref reason,
            } => Problem::corrupt(&format!("{what} of {id}"), reason),
            Error::Store { .. } | Error::Client(_) | Error::UnknownRestaurant(_) => {
                Problem::internal(&error)
            }
        }
    }
}

/// In the consumer loop: platform failures keep their classification (a database
/// outage is retried); a message about a restaurant that does not exist is poison, one
/// about an order not (yet) found is retried a few times, then dead-lettered; a corrupt row is [`HandlingError::Failed`]: it does not heal by waiting, so
/// retrying for ever would block every later message of its partition, yet a few tries
/// cover an operator repairing it at once, and the dead letter keeps the message, its
/// reason naming the corrupt row, for a replay after the repair.
impl From<Error> for HandlingError {
    fn from(error: Error) -> Self {
        match error {
            Error::Platform(service::Error::Runtime(e)) => e.into(),
            Error::Platform(service::Error::Messaging(e)) => e.into(),
            Error::Platform(_) | Error::Client(_) | Error::IdempotencyKeyTaken => {
                HandlingError::Retry(error.to_string())
            }
            // An order this service wrote may not be visible yet when its reply arrives:
            // logical decoding hands the relay a transaction once its commit is in the
            // WAL, a moment before other sessions see it. A few tries cover that moment;
            // a reply for an order that never appears is still dead-lettered.
            Error::Corrupt { .. } | Error::Store { .. } | Error::OrderNotFound(_) => {
                HandlingError::Failed(error.to_string())
            }
            Error::NotCancellable(_)
            | Error::IdempotencyKeyReused
            | Error::UnknownRestaurant(_) => HandlingError::Poison(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupt() -> Error {
        Error::Corrupt {
            what: "orders.line_items",
            id: Uuid::nil(),
            reason: "invalid type".into(),
        }
    }

    #[test]
    fn a_corrupt_row_is_a_500_for_clients() {
        let problem = Problem::from(corrupt());
        assert_eq!(problem.status, 500);
        assert_eq!(problem.problem_type, "/problems/internal");
        assert!(problem.detail.contains("orders.line_items"), "{problem:?}");
    }

    #[test]
    fn a_corrupt_row_fails_a_message_naming_what_is_corrupt() {
        let HandlingError::Failed(reason) = HandlingError::from(corrupt()) else {
            panic!("not Failed");
        };
        assert!(reason.contains("orders.line_items"), "{reason}");
        assert!(reason.contains(&Uuid::nil().to_string()), "{reason}");
    }
}
