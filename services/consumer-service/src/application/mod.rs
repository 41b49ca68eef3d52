//! The use cases: one module each. A use case does the domain work through the
//! [`messaging::UnitOfWork`] it receives (publishing what it causes there) and never
//! opens a transaction itself: whoever drives it owns the unit — an HTTP handler begins
//! and commits it, the consumer loop does the same around a command and records the
//! command as processed in it, so a reply exists iff the command was handled, once.
//! Reads take any client: REST and gRPC ask the same [`get_consumer`].

mod get_consumer;
mod register_consumer;
mod validate_consumer;

pub use get_consumer::get_consumer;
pub use register_consumer::register_consumer;
pub use validate_consumer::ValidateConsumer;
