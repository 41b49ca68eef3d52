//! The published language between FTGO services: channel names, message types and
//! payload schemas (schema version 1, each in JSON and in Protobuf, see [`Contract`]).
//! Each service owns the messages it sends; they live here, in the shared crate, so
//! sender and receiver compile against one definition and `docs/asyncapi.yaml` documents
//! the same thing.
//!
//! Keys: commands are keyed by the aggregate they address, replies and events by the
//! aggregate they are about, so per-aggregate order holds on every channel.

mod codec;
pub mod consumer;
pub mod order;
pub mod restaurant;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use codec::Contract;

use crate::messaging::{HandlingError, IncomingMessage, headers};
use crate::outbox::OutboxMessage;

/// The schema version of every message defined here.
pub const VERSION: i32 = 1;

/// Header naming the channel a command's reply must go to.
pub const REPLY_TO: &str = "reply-to";

/// Header carrying the id that correlates a reply with its command (the order id).
pub const CORRELATION_ID: &str = "correlation-id";

/// The reply to `command`: on the channel its `reply-to` header names (order-service's
/// reply channel when absent), keyed and correlated by `correlation_id` (so one order's
/// replies keep their order), carrying the command's trace context.
///
/// Only reply channels (`<service>.replies`) are accepted: a command must not be able to
/// make a service publish into another channel, such as an event stream other services
/// trust. A command naming one is poison (dead-lettered with the reason).
pub fn reply(
    command: &IncomingMessage,
    correlation_id: Uuid,
    message_type: &str,
    payload: &impl Contract,
) -> Result<OutboxMessage, HandlingError> {
    let destination = match command.header(REPLY_TO) {
        None => order::REPLIES,
        Some(channel) if channel.len() > ".replies".len() && channel.ends_with(".replies") => {
            channel
        }
        Some(channel) => {
            return Err(HandlingError::Poison(format!(
                "header {REPLY_TO} `{channel}` is not a reply channel (<service>.replies)"
            )));
        }
    };
    Ok(OutboxMessage::new(
        destination,
        correlation_id.to_string(),
        message_type,
        VERSION,
        payload,
    )
    .with_header(CORRELATION_ID, correlation_id.to_string())
    .with_traceparent(command.header(headers::TRACEPARENT)))
}

/// A line of an order: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Menu item id within the restaurant's menu.
    #[schema(schema_with = crate::http::text::id_schema)]
    pub menu_item_id: String,
    /// How many: 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
}

/// A dish on a restaurant's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Id, unique within the menu.
    #[schema(schema_with = crate::http::text::id_schema)]
    pub id: String,
    /// Display name (surrounding blanks are trimmed).
    #[schema(schema_with = crate::http::text::name_schema)]
    pub name: String,
    /// Price in cents, not negative.
    #[schema(minimum = 0)]
    pub price_cents: i64,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::*;

    fn command(headers: &[(&str, &str)]) -> IncomingMessage {
        IncomingMessage {
            id: Uuid::now_v7(),
            topic: consumer::COMMANDS.into(),
            key: None,
            message_type: consumer::VALIDATE_CONSUMER_INFO.into(),
            schema_version: VERSION,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            payload: Vec::new(),
        }
    }

    fn payload(order_id: Uuid) -> order::OrderStateChanged {
        order::OrderStateChanged {
            order_id,
            reason: None,
        }
    }

    #[test]
    fn replies_go_to_reply_to_or_order_service_and_only_to_reply_channels() {
        let id = Uuid::now_v7();
        let to = |headers: &[(&str, &str)]| {
            reply(&command(headers), id, "X", &payload(id)).map(|m| m.destination)
        };
        assert_eq!(to(&[]).unwrap(), order::REPLIES);
        assert_eq!(to(&[(REPLY_TO, "x.replies")]).unwrap(), "x.replies");
        assert!(matches!(
            to(&[(REPLY_TO, "restaurant.events")]),
            Err(HandlingError::Poison(_))
        ));
        assert!(to(&[(REPLY_TO, ".replies")]).is_err());
    }

    #[test]
    fn reply_is_keyed_and_correlated_and_keeps_the_trace() {
        let order_id = Uuid::now_v7();
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let message = command(&[(headers::TRACEPARENT, trace)]);
        let r = reply(
            &message,
            order_id,
            consumer::CONSUMER_VALIDATED,
            &payload(order_id),
        )
        .unwrap();
        assert_eq!(r.key, order_id.to_string());
        assert_eq!(r.headers[CORRELATION_ID], order_id.to_string());
        assert_eq!(r.headers[headers::TRACEPARENT], trace);
        assert_eq!(r.message_type, consumer::CONSUMER_VALIDATED);
    }
    /// The AsyncAPI document must describe every channel and message type defined here.
    #[test]
    fn asyncapi_document_names_every_channel_and_message() {
        let document = include_str!("../../../../docs/asyncapi.yaml");
        let names = [
            consumer::COMMANDS,
            super::consumer::VALIDATE_CONSUMER_INFO,
            super::consumer::CONSUMER_VALIDATED,
            super::consumer::CONSUMER_REJECTED,
            super::restaurant::COMMANDS,
            super::restaurant::EVENTS,
            super::restaurant::VALIDATE_ORDER_DETAILS,
            super::restaurant::ORDER_DETAILS_VALIDATED,
            super::restaurant::ORDER_DETAILS_REJECTED,
            super::restaurant::RESTAURANT_CREATED,
            super::restaurant::MENU_REVISED,
            super::order::EVENTS,
            super::order::REPLIES,
            super::order::ORDER_CREATED,
            super::order::ORDER_VALIDATED,
            super::order::ORDER_REJECTED,
            super::order::ORDER_CANCELLED,
            crate::messaging::channels::DEAD_LETTER,
        ];
        for name in names {
            assert!(
                document.contains(name),
                "docs/asyncapi.yaml does not mention {name}"
            );
        }
    }

    /// The proto message name of contract `T` (`ftgo.messages.v1.OrderCreated`), from
    /// the path of its generated type.
    fn proto_of<T: Contract>() -> String {
        let rust_path = std::any::type_name::<T::Proto>();
        let short = rust_path.rsplit("::").next().unwrap_or_default();
        format!("ftgo.messages.v1.{short}")
    }

    /// Every message type's Protobuf alternative is documented on its channel, naming
    /// the proto message the code encodes it with, and that message is declared.
    #[test]
    fn asyncapi_document_names_the_protobuf_schema_of_every_message() {
        let document = include_str!("../../../../docs/asyncapi.yaml");
        let messages = [
            (
                consumer::VALIDATE_CONSUMER_INFO,
                proto_of::<consumer::ValidateConsumerInfo>(),
            ),
            (
                consumer::CONSUMER_VALIDATED,
                proto_of::<consumer::ConsumerValidation>(),
            ),
            (
                consumer::CONSUMER_REJECTED,
                proto_of::<consumer::ConsumerValidation>(),
            ),
            (
                restaurant::VALIDATE_ORDER_DETAILS,
                proto_of::<restaurant::ValidateOrderDetails>(),
            ),
            (
                restaurant::ORDER_DETAILS_VALIDATED,
                proto_of::<restaurant::OrderDetailsValidation>(),
            ),
            (
                restaurant::ORDER_DETAILS_REJECTED,
                proto_of::<restaurant::OrderDetailsValidation>(),
            ),
            (
                restaurant::RESTAURANT_CREATED,
                proto_of::<restaurant::RestaurantCreated>(),
            ),
            (
                restaurant::MENU_REVISED,
                proto_of::<restaurant::MenuRevised>(),
            ),
            (order::ORDER_CREATED, proto_of::<order::OrderCreated>()),
            (
                order::ORDER_VALIDATED,
                proto_of::<order::OrderStateChanged>(),
            ),
            (
                order::ORDER_REJECTED,
                proto_of::<order::OrderStateChanged>(),
            ),
            (
                order::ORDER_CANCELLED,
                proto_of::<order::OrderStateChanged>(),
            ),
        ];
        let declared = [
            include_str!("../../proto/ftgo/messages/v1/consumer.proto"),
            include_str!("../../proto/ftgo/messages/v1/order.proto"),
            include_str!("../../proto/ftgo/messages/v1/restaurant.proto"),
        ]
        .concat();
        for (message_type, proto) in messages {
            assert!(
                document.contains(&format!("      {message_type}Protobuf: {{ $ref:")),
                "docs/asyncapi.yaml: no Protobuf alternative of {message_type} on its channel"
            );
            assert!(
                document.contains(&format!("x-protobuf-message: {proto}\n")),
                "docs/asyncapi.yaml does not name {proto} ({message_type})"
            );
            let short = proto.rsplit('.').next().unwrap_or_default();
            assert!(
                declared.contains(&format!("message {short} {{")),
                "{proto} is not declared in its .proto file"
            );
        }
    }
}
