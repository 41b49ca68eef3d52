//! Message handlers: validation replies, and the restaurant replica.

pub mod replica;
pub mod replies;

use platform::contracts::order;
use platform::outbox;
use tokio_postgres::Transaction;

use crate::domain::{Order, Transition, Validation};
use crate::messages;
use crate::repository;

/// Applies a validation answer to `order` inside `transaction`: stores the new state and
/// publishes `OrderValidated` / `OrderRejected` through the outbox, atomically.
pub async fn record_validation(
    transaction: &Transaction<'_>,
    order: &mut Order,
    validation: Validation,
) -> platform::Result<Transition> {
    let transition = order.apply(validation);
    let event = match &transition {
        Transition::None => None,
        Transition::Validated => Some(messages::state_changed(order, order::ORDER_VALIDATED, None)),
        Transition::Rejected(reason) => Some(messages::state_changed(
            order,
            order::ORDER_REJECTED,
            Some(reason.clone()),
        )),
    };
    repository::save(transaction, order).await?;
    if let Some(event) = event {
        outbox::append(transaction, &[event]).await?;
    }
    Ok(transition)
}
