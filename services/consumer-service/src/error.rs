//! consumer-service's error type: the platform's [`ServiceError`](platform::service::ServiceError)
//! (invalid field → 422, not found → 404, database down → 503 / retry), shared by every
//! service.

pub use platform::service::ServiceError as Error;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
