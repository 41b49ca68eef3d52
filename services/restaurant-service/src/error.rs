//! restaurant-service's error type: the platform's [`ServiceError`](service::ServiceError)
//! (invalid field → 422, not found → 404, stored data corrupt → 500 / dead-lettered after
//! a few tries, database down → 503 / retry), shared by every service.

pub use service::ServiceError as Error;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
