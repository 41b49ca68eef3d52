//! The messages order-service sends, as outbox rows.

use platform::contracts::{self, consumer, order, restaurant};
use platform::outbox::OutboxMessage;

use crate::domain::Order;

/// What a priced order sends, in one transaction with it: `OrderCreated` and both
/// validation commands. Sent when the order is created, or, for an order that waited for
/// its restaurant to reach the replica, when it is priced.
pub fn order_accepted(
    o: &Order,
    total_cents: i64,
    traceparent: Option<&str>,
) -> [OutboxMessage; 3] {
    [
        order_created(o, total_cents, traceparent),
        validate_consumer(o, total_cents, traceparent),
        validate_details(o, traceparent),
    ]
}

/// `OrderCreated` on `order.events`.
fn order_created(o: &Order, total_cents: i64, traceparent: Option<&str>) -> OutboxMessage {
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
            total_cents,
        },
    )
    .with_traceparent(traceparent)
}

/// The command to consumer-service, replies to order-service's reply channel.
fn validate_consumer(o: &Order, total_cents: i64, traceparent: Option<&str>) -> OutboxMessage {
    OutboxMessage::new(
        consumer::COMMANDS,
        o.consumer_id.to_string(),
        consumer::VALIDATE_CONSUMER_INFO,
        contracts::VERSION,
        &consumer::ValidateConsumerInfo {
            order_id: o.id,
            consumer_id: o.consumer_id,
            order_total_cents: total_cents,
        },
    )
    .with_header(contracts::REPLY_TO, order::REPLIES)
    .with_header(contracts::CORRELATION_ID, o.id.to_string())
    .with_traceparent(traceparent)
}

/// The command to restaurant-service.
fn validate_details(o: &Order, traceparent: Option<&str>) -> OutboxMessage {
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
