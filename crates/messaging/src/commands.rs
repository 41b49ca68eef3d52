//! The command/reply convention (*Microservices Patterns* ch. 3): a command names the
//! channel its reply must go to in `reply-to`, and the reply carries the correlation id.
//! Writing a reply is [`crate::UnitOfWork::reply`]; these are its rules.

use contracts::order;
use outbox::OutboxMessage;
use outbox::headers::{self, CORRELATION_ID, REPLY_TO};
use uuid::Uuid;

use crate::incoming::{HandlingError, IncomingMessage};

/// The channel the reply to `command` goes to: the one its `reply-to` header names
/// (order-service's reply channel when absent).
///
/// Only reply channels (`<service>.replies`) are accepted: a command must not be able to
/// make a service publish into another channel, such as an event stream other services
/// trust. A command naming one is poison (dead-lettered with the reason).
pub fn reply_channel(command: &IncomingMessage) -> Result<&str, HandlingError> {
    match command.header(REPLY_TO) {
        None => Ok(order::REPLIES),
        Some(channel) if channel.len() > ".replies".len() && channel.ends_with(".replies") => {
            Ok(channel)
        }
        Some(channel) => Err(HandlingError::Poison(format!(
            "header {REPLY_TO} `{channel}` is not a reply channel (<service>.replies)"
        ))),
    }
}

/// `reply` correlated with `command` by `correlation_id` (also its key, so one order's
/// replies keep their order), carrying the command's trace context.
pub(crate) fn correlate(
    reply: OutboxMessage,
    command: &IncomingMessage,
    correlation_id: Uuid,
) -> OutboxMessage {
    reply
        .with_header(CORRELATION_ID, correlation_id.to_string())
        .with_traceparent(command.header(headers::TRACEPARENT))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use contracts::consumer;

    use super::*;

    fn command(headers: &[(&str, &str)]) -> IncomingMessage {
        IncomingMessage {
            id: Uuid::now_v7(),
            topic: consumer::COMMANDS.into(),
            key: None,
            message_type: consumer::VALIDATE_CONSUMER_INFO.into(),
            schema_version: contracts::VERSION,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            payload: Vec::new(),
        }
    }

    #[test]
    fn replies_go_to_reply_to_or_order_service_and_only_to_reply_channels() {
        let to = |headers: &[(&str, &str)]| reply_channel(&command(headers)).map(str::to_owned);
        assert_eq!(to(&[]).unwrap(), order::REPLIES);
        assert_eq!(to(&[(REPLY_TO, "x.replies")]).unwrap(), "x.replies");
        assert!(matches!(
            to(&[(REPLY_TO, "restaurant.events")]),
            Err(HandlingError::Poison(_))
        ));
        assert!(to(&[(REPLY_TO, ".replies")]).is_err());
    }

    #[test]
    fn a_reply_is_correlated_and_keeps_the_trace() {
        let order_id = Uuid::now_v7();
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let message = command(&[(headers::TRACEPARENT, trace)]);
        let reply = OutboxMessage::json(
            "x.replies",
            order_id.to_string(),
            "T",
            1,
            &serde_json::json!({}),
        );
        let r = correlate(reply, &message, order_id);
        assert_eq!(r.headers[CORRELATION_ID], order_id.to_string());
        assert_eq!(r.headers[headers::TRACEPARENT], trace);
    }
}
