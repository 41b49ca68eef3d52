//! Can the restaurant make this order? `ValidateOrderDetails` in,
//! `OrderDetailsValidated` / `OrderDetailsRejected` out: the [`Validation`] that
//! `messaging::validation::ValidationHandler` runs in the consumer loop's unit of work.

use contracts::restaurant::{
    ORDER_DETAILS_REJECTED, ORDER_DETAILS_VALIDATED, OrderDetailsValidation, VALIDATE_ORDER_DETAILS,
};
use messaging::validation::{Validation, Verdict};
use messaging::{HandlingError, UnitOfWork};
use uuid::Uuid;

use crate::{contract, domain, repository};

/// Validates order details against the restaurant and its menu. It keeps no state:
/// everything it needs is in the unit of work.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOrderDetails;

impl Validation for ValidateOrderDetails {
    type Command = contracts::restaurant::ValidateOrderDetails;
    type Reply = OrderDetailsValidation;

    const COMMAND: &'static str = VALIDATE_ORDER_DETAILS;
    const VALIDATED: &'static str = ORDER_DETAILS_VALIDATED;
    const REJECTED: &'static str = ORDER_DETAILS_REJECTED;

    fn correlation_id(command: &Self::Command) -> Uuid {
        command.order_id
    }

    /// A restaurant stored corrupt fails the command (dead-lettered after a few tries)
    /// rather than rejecting it for a reason that is not the order's.
    async fn validate<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        command: &'a Self::Command,
    ) -> Result<Verdict, HandlingError> {
        let restaurant = repository::find(work.transaction(), command.restaurant_id).await?;
        let lines = contract::order_lines(&command.line_items);
        Ok(
            match domain::check_order(command.restaurant_id, restaurant.as_ref(), &lines) {
                Ok(()) => Verdict::Validated,
                Err(domain::Rejection(reason)) => Verdict::Rejected(reason),
            },
        )
    }

    fn reply(command: &Self::Command, reason: Option<String>) -> Self::Reply {
        OrderDetailsValidation {
            order_id: command.order_id,
            restaurant_id: command.restaurant_id,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use messaging::MessageHandler;
    use messaging::validation::ValidationHandler;

    use super::*;

    #[test]
    fn accepts_only_its_command_at_version_1() {
        let h = ValidationHandler(ValidateOrderDetails);
        assert!(h.accepts(VALIDATE_ORDER_DETAILS, 1));
        assert!(!h.accepts(VALIDATE_ORDER_DETAILS, 2));
        assert!(!h.accepts(contracts::restaurant::MENU_REVISED, 1));
    }
}
