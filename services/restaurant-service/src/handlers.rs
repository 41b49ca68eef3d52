//! The command handler: `ValidateOrderDetails` in, `OrderDetailsValidated` /
//! `OrderDetailsRejected` out through the outbox.

use platform::contracts::restaurant::{
    ORDER_DETAILS_REJECTED, ORDER_DETAILS_VALIDATED, OrderDetailsValidation,
    VALIDATE_ORDER_DETAILS, ValidateOrderDetails,
};
use platform::contracts::{self, CORRELATION_ID, REPLY_TO};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler, headers};
use platform::outbox::{self, OutboxMessage};
use tokio_postgres::Transaction;
use uuid::Uuid;

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
        let command: ValidateOrderDetails = message.json()?;
        let destination = reply_channel(message)?;
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
        let reply = reply(
            message,
            destination,
            command.order_id,
            message_type,
            &payload,
        );
        outbox::append(transaction, &[reply]).await?;
        Ok(())
    }
}

/// Where the reply goes: the command's `reply-to` header, else order-service's reply
/// channel (the only sender of this command).
///
/// Only reply channels (`<service>.replies`) are accepted: a command must not be able to
/// make this service publish into another channel, such as `restaurant.events`, which
/// other services trust. A command naming one is dead-lettered with the reason.
fn reply_channel(command: &IncomingMessage) -> Result<&str, HandlingError> {
    match command.header(REPLY_TO) {
        None => Ok(contracts::order::REPLIES),
        Some(channel) if channel.len() > ".replies".len() && channel.ends_with(".replies") => {
            Ok(channel)
        }
        Some(channel) => Err(HandlingError::Poison(format!(
            "header {REPLY_TO} `{channel}` is not a reply channel (<service>.replies)"
        ))),
    }
}

/// A reply keyed and correlated by the order id (so one order's replies keep their
/// order), carrying the command's trace context.
fn reply(
    command: &IncomingMessage,
    destination: &str,
    order_id: Uuid,
    message_type: &str,
    payload: &impl serde::Serialize,
) -> OutboxMessage {
    OutboxMessage::json(
        destination,
        order_id.to_string(),
        message_type,
        contracts::VERSION,
        payload,
    )
    .with_header(CORRELATION_ID, order_id.to_string())
    .with_traceparent(command.header(headers::TRACEPARENT))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn command(headers: &[(&str, &str)]) -> IncomingMessage {
        IncomingMessage {
            id: Uuid::now_v7(),
            topic: platform::contracts::restaurant::COMMANDS.into(),
            key: None,
            message_type: VALIDATE_ORDER_DETAILS.into(),
            schema_version: 1,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            payload: Vec::new(),
        }
    }

    #[test]
    fn accepts_only_its_command_at_version_1() {
        let h = ValidateOrderDetailsHandler;
        assert!(h.accepts(VALIDATE_ORDER_DETAILS, 1));
        assert!(!h.accepts(VALIDATE_ORDER_DETAILS, 2));
        assert!(!h.accepts(platform::contracts::restaurant::MENU_REVISED, 1));
    }

    #[test]
    fn replies_go_to_reply_to_or_order_service() {
        assert_eq!(
            reply_channel(&command(&[])).unwrap(),
            contracts::order::REPLIES
        );
        assert_eq!(
            reply_channel(&command(&[(REPLY_TO, "x.replies")])).unwrap(),
            "x.replies"
        );
        assert!(matches!(
            reply_channel(&command(&[(REPLY_TO, "restaurant.events")])),
            Err(HandlingError::Poison(_))
        ));
    }

    #[test]
    fn reply_is_keyed_and_correlated_by_order_and_keeps_the_trace() {
        let order_id = Uuid::now_v7();
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let message = command(&[(headers::TRACEPARENT, trace)]);
        let r = reply(&message, "a.replies", order_id, ORDER_DETAILS_VALIDATED, &1);
        assert_eq!(r.key, order_id.to_string());
        assert_eq!(r.headers[CORRELATION_ID], order_id.to_string());
        assert_eq!(r.headers[headers::TRACEPARENT], trace);
    }
}
