//! Messages order-service sends.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::LineItem;

/// Order events (publish-subscribe).
pub const EVENTS: &str = "order.events";
/// order-service's reply channel, named in its commands' `reply-to` header.
pub const REPLIES: &str = "order-service.replies";

/// Event: an order was accepted (PENDING).
pub const ORDER_CREATED: &str = "OrderCreated";
/// Event: both validations succeeded.
pub const ORDER_VALIDATED: &str = "OrderValidated";
/// Event: a validation failed or none arrived in time.
pub const ORDER_REJECTED: &str = "OrderRejected";
/// Notification: the consumer cancelled the order.
pub const ORDER_CANCELLED: &str = "OrderCancelled";

/// Payload of [`ORDER_CREATED`]; key: the order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreated {
    /// The order.
    pub order_id: Uuid,
    /// Who ordered.
    pub consumer_id: Uuid,
    /// From where.
    pub restaurant_id: Uuid,
    /// What.
    pub line_items: Vec<LineItem>,
    /// Priced from order-service's menu replica.
    pub total_cents: i64,
}

/// Payload of [`ORDER_VALIDATED`], [`ORDER_REJECTED`] and [`ORDER_CANCELLED`]; key: the
/// order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStateChanged {
    /// The order.
    pub order_id: Uuid,
    /// Why (rejections only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
