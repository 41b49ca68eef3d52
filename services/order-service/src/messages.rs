//! The messages order-service sends, as outbox rows.

use platform::contracts::{self, consumer, order, restaurant};
use platform::outbox::OutboxMessage;

use crate::domain::Order;

/// `OrderCreated` on `order.events`.
pub fn order_created(o: &Order, traceparent: Option<&str>) -> OutboxMessage {
    OutboxMessage::new(
        order::EVENTS,
        o.id.to_string(),
        order::ORDER_CREATED,
        contracts::VERSION,
        &order::OrderCreated {
            order_id: o.id,
            consumer_id: o.consumer_id,
            restaurant_id: o.restaurant_id,
            line_items: o.line_items.clone(),
            total_cents: o.total_cents,
        },
    )
    .with_traceparent(traceparent)
}

/// The command to consumer-service, replies to order-service's reply channel.
pub fn validate_consumer(o: &Order, traceparent: Option<&str>) -> OutboxMessage {
    OutboxMessage::new(
        consumer::COMMANDS,
        o.consumer_id.to_string(),
        consumer::VALIDATE_CONSUMER_INFO,
        contracts::VERSION,
        &consumer::ValidateConsumerInfo {
            order_id: o.id,
            consumer_id: o.consumer_id,
            order_total_cents: o.total_cents,
        },
    )
    .with_header(contracts::REPLY_TO, order::REPLIES)
    .with_header(contracts::CORRELATION_ID, o.id.to_string())
    .with_traceparent(traceparent)
}

/// The command to restaurant-service.
pub fn validate_details(o: &Order, traceparent: Option<&str>) -> OutboxMessage {
    OutboxMessage::new(
        restaurant::COMMANDS,
        o.restaurant_id.to_string(),
        restaurant::VALIDATE_ORDER_DETAILS,
        contracts::VERSION,
        &restaurant::ValidateOrderDetails {
            order_id: o.id,
            restaurant_id: o.restaurant_id,
            line_items: o.line_items.clone(),
        },
    )
    .with_header(contracts::REPLY_TO, order::REPLIES)
    .with_header(contracts::CORRELATION_ID, o.id.to_string())
    .with_traceparent(traceparent)
}

/// `OrderValidated`, `OrderRejected` or `OrderCancelled` on `order.events`.
pub fn state_changed(o: &Order, message_type: &str, reason: Option<String>) -> OutboxMessage {
    OutboxMessage::new(
        order::EVENTS,
        o.id.to_string(),
        message_type,
        contracts::VERSION,
        &order::OrderStateChanged {
            order_id: o.id,
            reason,
        },
    )
}
