//! The command handler: `ValidateOrderDetails` in, `OrderDetailsValidated` /
//! `OrderDetailsRejected` out through the outbox.

use platform::contracts;
use platform::contracts::restaurant::{
    ORDER_DETAILS_REJECTED, ORDER_DETAILS_VALIDATED, OrderDetailsValidation,
    VALIDATE_ORDER_DETAILS, ValidateOrderDetails,
};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler};
use platform::outbox;
use tokio_postgres::Transaction;

use crate::domain::{self, Verdict};
use crate::repository;

/// Answers `ValidateOrderDetails` commands. It keeps no state: everything it needs is in
/// the transaction the consumer loop hands it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOrderDetailsHandler;

impl MessageHandler for ValidateOrderDetailsHandler {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        message_type == VALIDATE_ORDER_DETAILS && schema_version == contracts::VERSION
    }

    /// Checks the order against the restaurant and its menu and appends the reply on the
    /// loop's transaction: the reply is published iff the command is recorded as
    /// processed, and only once.
    async fn handle<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let command: ValidateOrderDetails = message.decode()?;
        let restaurant = repository::find(transaction, command.restaurant_id).await?;
        let verdict = domain::check_order(
            command.restaurant_id,
            restaurant.as_ref(),
            &command.line_items,
        );
        let (message_type, reason) = match verdict {
            Verdict::Validated => (ORDER_DETAILS_VALIDATED, None),
            Verdict::Rejected(reason) => (ORDER_DETAILS_REJECTED, Some(reason)),
        };
        tracing::info!(
            order_id = %command.order_id,
            restaurant_id = %command.restaurant_id,
            reply = message_type,
            reason = reason.as_deref().unwrap_or(""),
            "validated order details"
        );
        let payload = OrderDetailsValidation {
            order_id: command.order_id,
            restaurant_id: command.restaurant_id,
            reason,
        };
        let reply = contracts::reply(message, command.order_id, message_type, &payload)?;
        outbox::append(transaction, &[reply]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_its_command_at_version_1() {
        let h = ValidateOrderDetailsHandler;
        assert!(h.accepts(VALIDATE_ORDER_DETAILS, 1));
        assert!(!h.accepts(VALIDATE_ORDER_DETAILS, 2));
        assert!(!h.accepts(platform::contracts::restaurant::MENU_REVISED, 1));
    }
}
