//! The one place where order-service's domain meets the published language
//! (`contracts`): the messages it publishes, built from domain values, and the messages
//! it consumes, read into domain values. A change to a Kafka message changes this file,
//! not the domain or the REST API.

use contracts::{consumer, order, restaurant};
use messaging::{HandlingError, IncomingMessage, UnitOfWork};
use outbox::headers;

use crate::Result;
use crate::application::record_validation::ValidationReply;
use crate::application::replicate_restaurant::RestaurantChange;
use crate::domain::{LineItem, MenuItem, Order, Restaurant, Validation};

/// What a priced order publishes, in the unit of work that stores it: `OrderCreated` and
/// both validation commands. Published when the order is created, or, for an order that
/// waited for its restaurant to reach the replica, when it is priced.
pub fn publish_order_accepted(
    work: &mut UnitOfWork<'_>,
    o: &Order,
    total_cents: i64,
    traceparent: Option<&str>,
) -> Result<()> {
    let line_items = contract_lines(&o.line_items);
    let created = order::OrderCreated {
        order_id: o.id,
        consumer_id: o.consumer_id,
        restaurant_id: o.restaurant_id,
        line_items: line_items.clone(),
        total_cents,
    };
    traced(
        work.publish(
            order::EVENTS,
            o.id.to_string(),
            order::ORDER_CREATED,
            &created,
        )?,
        traceparent,
    );
    let validate_consumer = consumer::ValidateConsumerInfo {
        order_id: o.id,
        consumer_id: o.consumer_id,
        order_total_cents: total_cents,
    };
    let command = work.publish(
        consumer::COMMANDS,
        o.consumer_id.to_string(),
        consumer::VALIDATE_CONSUMER_INFO,
        &validate_consumer,
    )?;
    correlated(command, o, traceparent);
    let validate_details = restaurant::ValidateOrderDetails {
        order_id: o.id,
        restaurant_id: o.restaurant_id,
        line_items,
    };
    let command = work.publish(
        restaurant::COMMANDS,
        o.restaurant_id.to_string(),
        restaurant::VALIDATE_ORDER_DETAILS,
        &validate_details,
    )?;
    correlated(command, o, traceparent);
    Ok(())
}

/// A command's replies come to order-service's reply channel, correlated by the order.
fn correlated(command: &mut outbox::OutboxMessage, o: &Order, traceparent: Option<&str>) {
    command
        .headers
        .insert(headers::REPLY_TO.to_owned(), order::REPLIES.to_owned());
    command
        .headers
        .insert(headers::CORRELATION_ID.to_owned(), o.id.to_string());
    traced(command, traceparent);
}

/// Propagates the caller's W3C trace context, when there is one.
fn traced(message: &mut outbox::OutboxMessage, traceparent: Option<&str>) {
    if let Some(traceparent) = traceparent {
        message
            .headers
            .insert(headers::TRACEPARENT.to_owned(), traceparent.to_owned());
    }
}

/// The event an order's new state publishes on `order.events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// `OrderValidated`.
    Validated,
    /// `OrderRejected`.
    Rejected,
    /// `OrderCancelled`.
    Cancelled,
}

/// Publishes `OrderValidated`, `OrderRejected` (with `reason`) or `OrderCancelled`.
pub fn publish_state_changed(
    work: &mut UnitOfWork<'_>,
    o: &Order,
    change: StateChange,
    reason: Option<String>,
) -> Result<()> {
    let message_type = match change {
        StateChange::Validated => order::ORDER_VALIDATED,
        StateChange::Rejected => order::ORDER_REJECTED,
        StateChange::Cancelled => order::ORDER_CANCELLED,
    };
    let event = order::OrderStateChanged {
        order_id: o.id,
        reason,
    };
    work.publish(order::EVENTS, o.id.to_string(), message_type, &event)?;
    Ok(())
}

fn contract_lines(lines: &[LineItem]) -> Vec<contracts::LineItem> {
    lines
        .iter()
        .map(|line| contracts::LineItem {
            menu_item_id: line.menu_item_id.clone(),
            quantity: line.quantity,
        })
        .collect()
}

fn domain_menu(menu: Vec<contracts::MenuItem>) -> Vec<MenuItem> {
    menu.into_iter()
        .map(|item| MenuItem {
            id: item.id,
            name: item.name,
            price_cents: item.price_cents,
        })
        .collect()
}

/// The replies on `order-service.replies` order-service knows.
const VALIDATION_REPLIES: [&str; 4] = [
    consumer::CONSUMER_VALIDATED,
    consumer::CONSUMER_REJECTED,
    restaurant::ORDER_DETAILS_VALIDATED,
    restaurant::ORDER_DETAILS_REJECTED,
];

/// Whether `message_type` at `schema_version` is a validation reply order-service reads.
pub fn is_validation_reply(message_type: &str, schema_version: i32) -> bool {
    schema_version == contracts::VERSION && VALIDATION_REPLIES.contains(&message_type)
}

/// Reads a reply of consumer-service or restaurant-service.
pub fn validation_reply(message: &IncomingMessage) -> Result<ValidationReply, HandlingError> {
    let reason = |r: Option<String>| r.unwrap_or_else(|| "no reason given".to_owned());
    let (order_id, validation) = match message.message_type.as_str() {
        consumer::CONSUMER_VALIDATED => {
            let reply: consumer::ConsumerValidation = message.decode()?;
            (reply.order_id, Validation::ConsumerValidated)
        }
        consumer::CONSUMER_REJECTED => {
            let reply: consumer::ConsumerValidation = message.decode()?;
            let reason = reason(reply.reason);
            (reply.order_id, Validation::ConsumerRejected(reason))
        }
        restaurant::ORDER_DETAILS_VALIDATED => {
            let reply: restaurant::OrderDetailsValidation = message.decode()?;
            (reply.order_id, Validation::DetailsValidated)
        }
        restaurant::ORDER_DETAILS_REJECTED => {
            let reply: restaurant::OrderDetailsValidation = message.decode()?;
            let reason = reason(reply.reason);
            (reply.order_id, Validation::DetailsRejected(reason))
        }
        other => return Err(HandlingError::Poison(format!("unexpected reply {other}"))),
    };
    Ok(ValidationReply {
        order_id,
        validation,
    })
}

/// Whether `message_type` at `schema_version` is a restaurant event the replica follows.
pub fn is_restaurant_change(message_type: &str, schema_version: i32) -> bool {
    schema_version == contracts::VERSION
        && [restaurant::RESTAURANT_CREATED, restaurant::MENU_REVISED].contains(&message_type)
}

/// Reads an event of `restaurant.events`.
pub fn restaurant_change(message: &IncomingMessage) -> Result<RestaurantChange, HandlingError> {
    Ok(match message.message_type.as_str() {
        restaurant::RESTAURANT_CREATED => {
            let event: restaurant::RestaurantCreated = message.decode()?;
            RestaurantChange::Created(Restaurant {
                id: event.restaurant_id,
                name: event.name,
                delivers: event.delivers,
                menu: domain_menu(event.menu),
            })
        }
        restaurant::MENU_REVISED => {
            let event: restaurant::MenuRevised = message.decode()?;
            RestaurantChange::MenuRevised {
                restaurant_id: event.restaurant_id,
                menu: domain_menu(event.menu),
            }
        }
        other => {
            return Err(HandlingError::Poison(format!(
                "unexpected restaurant event {other}"
            )));
        }
    })
}
