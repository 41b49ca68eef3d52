//! May the consumer place this order? `ValidateConsumerInfo` in, `ConsumerValidated` /
//! `ConsumerRejected` out: the [`Validation`] that `messaging::validation::ValidationHandler`
//! runs in the consumer loop's unit of work. The one place consumer-service reads the
//! published language.

use contracts::consumer::{
    CONSUMER_REJECTED, CONSUMER_VALIDATED, ConsumerValidation, VALIDATE_CONSUMER_INFO,
    ValidateConsumerInfo,
};
use messaging::validation::{Validation, Verdict};
use messaging::{HandlingError, UnitOfWork};
use uuid::Uuid;

use crate::{domain, repository};

/// Validates a consumer's order against its limit. It keeps no state: everything it
/// needs is in the unit of work.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateConsumer;

impl Validation for ValidateConsumer {
    type Command = ValidateConsumerInfo;
    type Reply = ConsumerValidation;

    const COMMAND: &'static str = VALIDATE_CONSUMER_INFO;
    const VALIDATED: &'static str = CONSUMER_VALIDATED;
    const REJECTED: &'static str = CONSUMER_REJECTED;

    fn correlation_id(command: &Self::Command) -> Uuid {
        command.order_id
    }

    /// A consumer stored corrupt fails the command (dead-lettered after a few tries)
    /// rather than answering it from a row that cannot be read.
    async fn validate<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        command: &'a Self::Command,
    ) -> Result<Verdict, HandlingError> {
        let consumer = repository::find(work.transaction(), command.consumer_id).await?;
        Ok(
            match domain::check_order(
                command.consumer_id,
                consumer.as_ref(),
                command.order_total_cents,
            ) {
                Ok(()) => Verdict::Validated,
                Err(domain::Rejection(reason)) => Verdict::Rejected(reason),
            },
        )
    }

    fn reply(command: &Self::Command, reason: Option<String>) -> Self::Reply {
        ConsumerValidation {
            order_id: command.order_id,
            consumer_id: command.consumer_id,
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
        let h = ValidationHandler(ValidateConsumer);
        assert!(h.accepts(VALIDATE_CONSUMER_INFO, 1));
        assert!(!h.accepts(VALIDATE_CONSUMER_INFO, 2));
        assert!(!h.accepts("Other", 1));
    }
}
