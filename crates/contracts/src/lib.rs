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
mod error;
mod format;
pub mod order;
pub mod proto;
pub mod restaurant;

use serde::{Deserialize, Serialize};

pub use codec::Contract;
pub use error::{Error, Result};
pub use format::Format;

/// The schema version of every message defined here.
pub const VERSION: i32 = 1;

/// A line of an order: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Menu item id within the restaurant's menu.
    pub menu_item_id: String,
    /// How many: 1 to 1000.
    pub quantity: u32,
}

/// A dish on a restaurant's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Id, unique within the menu.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Price in cents, not negative.
    pub price_cents: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AsyncAPI document must describe every channel and message type defined here.
    #[test]
    fn asyncapi_document_names_every_channel_and_message() {
        let document = include_str!("../../../docs/asyncapi.yaml");
        let names = [
            consumer::COMMANDS,
            consumer::VALIDATE_CONSUMER_INFO,
            consumer::CONSUMER_VALIDATED,
            consumer::CONSUMER_REJECTED,
            restaurant::COMMANDS,
            restaurant::EVENTS,
            restaurant::VALIDATE_ORDER_DETAILS,
            restaurant::ORDER_DETAILS_VALIDATED,
            restaurant::ORDER_DETAILS_REJECTED,
            restaurant::RESTAURANT_CREATED,
            restaurant::MENU_REVISED,
            order::EVENTS,
            order::REPLIES,
            order::ORDER_CREATED,
            order::ORDER_VALIDATED,
            order::ORDER_REJECTED,
            order::ORDER_CANCELLED,
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
        let document = include_str!("../../../docs/asyncapi.yaml");
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
            include_str!("../proto/ftgo/messages/v1/consumer.proto"),
            include_str!("../proto/ftgo/messages/v1/order.proto"),
            include_str!("../proto/ftgo/messages/v1/restaurant.proto"),
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
