//! The published language between FTGO services: channel names, message types and
//! payload schemas (all JSON, schema version 1). Each service owns the messages it
//! sends; they live here, in the shared crate, so sender and receiver compile against one
//! definition and `docs/asyncapi.yaml` documents the same thing.
//!
//! Keys: commands are keyed by the aggregate they address, replies and events by the
//! aggregate they are about, so per-aggregate order holds on every channel.

pub mod consumer;
pub mod order;
pub mod restaurant;

use serde::{Deserialize, Serialize};

/// The schema version of every message defined here.
pub const VERSION: i32 = 1;

/// Header naming the channel a command's reply must go to.
pub const REPLY_TO: &str = "reply-to";

/// Header carrying the id that correlates a reply with its command (the order id).
pub const CORRELATION_ID: &str = "correlation-id";

/// A line of an order: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Menu item id within the restaurant's menu.
    pub menu_item_id: String,
    /// How many.
    pub quantity: u32,
}

/// A dish on a restaurant's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Id, unique within the menu.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Price in cents.
    pub price_cents: i64,
}

#[cfg(test)]
mod tests {
    /// The AsyncAPI document must describe every channel and message type defined here.
    #[test]
    fn asyncapi_document_names_every_channel_and_message() {
        let document = include_str!("../../../../docs/asyncapi.yaml");
        let names = [
            super::consumer::COMMANDS,
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
}
