//! The order aggregate: state machine and pricing, free of SQL, HTTP and Kafka.

mod menu;
mod order;

pub use menu::{LineItem, MenuItem, Restaurant};
pub use order::{CancelError, Order, OrderState, Transition, Validation, price};
