//! Message handlers: validation replies, and the restaurant replica.

pub mod replica;
pub mod replies;

use platform::contracts::order;
use platform::outbox;
use tokio_postgres::Transaction;

use crate::domain::{Order, Transition, Validation};
use crate::messages;
use crate::metrics::{OrderMetrics, Outcome};
use crate::repository;

/// Applies a validation answer to `order` inside `transaction`: stores the new state and
/// publishes `OrderValidated` / `OrderRejected` through the outbox, atomically.
///
/// The outcome is counted here, before the caller commits: a commit that then fails
/// (rare: the row is already locked) is retried and may count the order twice.
pub async fn record_validation(
    transaction: &Transaction<'_>,
    order: &mut Order,
    validation: Validation,
    metrics: &OrderMetrics,
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
    let age = repository::save(transaction, order).await?;
    if let Some(event) = event {
        outbox::append(transaction, &[event]).await?;
    }
    match transition {
        Transition::None => {}
        Transition::Validated => metrics.left_pending(Outcome::Validated, age),
        Transition::Rejected(_) => metrics.left_pending(Outcome::Rejected, age),
    }
    Ok(transition)
}
