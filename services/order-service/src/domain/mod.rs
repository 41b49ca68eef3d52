//! The order aggregate: state machine and pricing, free of SQL and Kafka.

mod order;

pub use order::{CancelError, Order, OrderState, PricingError, Transition, Validation, price};
