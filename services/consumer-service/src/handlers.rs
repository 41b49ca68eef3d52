//! The command handler: `ValidateConsumerInfo` in, `ConsumerValidated` /
//! `ConsumerRejected` out through the outbox.

use platform::contracts;
use platform::contracts::consumer::{
    CONSUMER_REJECTED, CONSUMER_VALIDATED, ConsumerValidation, VALIDATE_CONSUMER_INFO,
    ValidateConsumerInfo,
};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler};
use platform::outbox;
use tokio_postgres::Transaction;

use crate::domain::{self, Verdict};
use crate::repository;

/// Answers `ValidateConsumerInfo` commands. It keeps no state: everything it needs is in
/// the transaction the consumer loop hands it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateConsumerInfoHandler;

impl MessageHandler for ValidateConsumerInfoHandler {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        message_type == VALIDATE_CONSUMER_INFO && schema_version == contracts::VERSION
    }

    /// Looks the consumer up and appends the reply on the loop's transaction: the reply
    /// is published iff the command is recorded as processed, and only once.
    async fn handle<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let command: ValidateConsumerInfo = message.decode()?;
        let consumer = repository::find(transaction, command.consumer_id).await?;
        let verdict = domain::check_order(
            command.consumer_id,
            consumer.as_ref(),
            command.order_total_cents,
        );
        let (message_type, reason) = match verdict {
            Verdict::Validated => (CONSUMER_VALIDATED, None),
            Verdict::Rejected(reason) => (CONSUMER_REJECTED, Some(reason)),
        };
        tracing::info!(
            order_id = %command.order_id,
            consumer_id = %command.consumer_id,
            reply = message_type,
            reason = reason.as_deref().unwrap_or(""),
            "validated consumer info"
        );
        let payload = ConsumerValidation {
            order_id: command.order_id,
            consumer_id: command.consumer_id,
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
        let h = ValidateConsumerInfoHandler;
        assert!(h.accepts(VALIDATE_CONSUMER_INFO, 1));
        assert!(!h.accepts(VALIDATE_CONSUMER_INFO, 2));
        assert!(!h.accepts("Other", 1));
    }
}
