//! The use cases: one module each. A use case does the domain work and publishes what it
//! causes through the [`UnitOfWork`] it receives; it never opens a transaction or
//! touches the outbox table. Whoever drives it owns the unit: an HTTP handler begins it
//! on a pooled connection and commits it, the consumer loop does the same around a
//! command (and records the command as processed in it). So an event exists iff the
//! change it describes committed, and a reply iff the command was handled, once.

mod create_restaurant;
mod get_restaurant;
mod revise_menu;
mod validate_order_details;

pub use create_restaurant::{CreateRestaurant, create_restaurant};
pub use get_restaurant::get_restaurant;
pub use revise_menu::{ReviseMenu, revise_menu};
pub use validate_order_details::ValidateOrderDetails;

use contracts::Contract;
use contracts::restaurant::EVENTS;
use messaging::UnitOfWork;
use outbox::headers::TRACEPARENT;
use uuid::Uuid;

use crate::Result;

/// Publishes restaurant `id`'s event (keyed by it, so one restaurant's events keep their
/// order) carrying the trace context of the request that caused it, if any.
fn publish_event(
    work: &mut UnitOfWork<'_>,
    id: Uuid,
    message_type: &str,
    payload: &impl Contract,
    traceparent: Option<&str>,
) -> Result<()> {
    let message = work.publish(EVENTS, id.to_string(), message_type, payload)?;
    if let Some(traceparent) = traceparent {
        message
            .headers
            .insert(TRACEPARENT.to_owned(), traceparent.to_owned());
    }
    Ok(())
}
