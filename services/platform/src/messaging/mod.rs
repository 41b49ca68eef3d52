//! Messaging conventions and the consuming side, shared by every service.
//!
//! Publishing goes through [`crate::outbox`] and the CDC relay. Consuming goes through
//! [`consumer::run`]: one loop that deduplicates on the message id in the handler's own
//! transaction (idempotent consumer), dead-letters what can never be handled, and retries
//! what failed for a passing reason.

pub mod channels;
pub mod consumer;
mod dead_letter;
pub mod format;
pub mod headers;
mod incoming;
mod lag;
pub mod schema;

pub use consumer::{ConsumerContext, ConsumerMetrics, MessageHandler, Subscription};
pub use dead_letter::DeadLetterProducer;
pub use format::{Format, MessagingSettings};
pub use incoming::{HandlingError, IncomingMessage};
