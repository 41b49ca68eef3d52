//! Messaging for FTGO services (*Microservices Patterns* ch. 3), both directions.
//!
//! **Writing.** A use case receives a [`UnitOfWork`] from the service's [`Outbox`] (the
//! outbox as a value: how the relay reads it, and each channel's format) and publishes
//! through it; the messages are appended to the outbox table in the same transaction as
//! the business data (the `outbox` crate), and the CDC relay takes them to Kafka.
//!
//! **Reading.** [`consumer::run`] is one loop per subscription that deduplicates on the
//! message id in the handler's own unit of work (idempotent consumer), dead-letters what
//! can never be handled, and retries what failed for a passing reason. Commands and
//! their replies follow one convention ([`commands`]); the validating services' command
//! handlers share one shape ([`validation`]).

pub mod commands;
pub mod consumer;
mod dead_letter;
mod error;
pub mod format;
mod incoming;
mod lag;
mod outbox;
pub mod schema;
mod unit_of_work;
pub mod validation;

pub use consumer::{ConsumerContext, ConsumerMetrics, MessageHandler, Subscription};
pub use dead_letter::DeadLetterProducer;
pub use error::{Error, Result};
pub use format::MessagingSettings;
pub use incoming::{HandlingError, IncomingMessage};
pub use outbox::Outbox;
pub use unit_of_work::UnitOfWork;
