//! The REST API's own types: the order as clients see it (state plus HATEOAS links to
//! what they can do next) and the line items they send. Translated from and to the
//! domain here, so the API's schema changes only when this file does — not when the
//! domain or a Kafka message does.

use serde::{Deserialize, Serialize};
use service::http::text;
use uuid::Uuid;

use crate::domain::{self, Order};

/// A line of an order: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Menu item id within the restaurant's menu.
    #[schema(schema_with = text::id_schema)]
    pub menu_item_id: String,
    /// How many: 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
}

impl From<LineItem> for domain::LineItem {
    fn from(line: LineItem) -> Self {
        Self {
            menu_item_id: line.menu_item_id,
            quantity: line.quantity,
        }
    }
}

impl From<&domain::LineItem> for LineItem {
    fn from(line: &domain::LineItem) -> Self {
        Self {
            menu_item_id: line.menu_item_id.clone(),
            quantity: line.quantity,
        }
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    /// Accepted, validation in progress.
    Pending,
    /// Both the consumer and the restaurant accepted it.
    Validated,
    /// A validation failed or none arrived before the deadline.
    Rejected,
    /// The consumer cancelled it.
    Cancelled,
}

impl From<domain::OrderState> for OrderState {
    fn from(state: domain::OrderState) -> Self {
        match state {
            domain::OrderState::Pending => Self::Pending,
            domain::OrderState::Validated => Self::Validated,
            domain::OrderState::Rejected => Self::Rejected,
            domain::OrderState::Cancelled => Self::Cancelled,
        }
    }
}

/// A hypermedia link.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Link {
    /// Target URL (relative).
    pub href: String,
    /// HTTP method to use.
    pub method: &'static str,
}

/// What a client can do with the order now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Links {
    /// The order itself.
    #[serde(rename = "self")]
    pub self_: Link,
    /// Present while the order can be cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<Link>,
}

/// An order in responses. Clients must ignore fields they do not know (fields are
/// only ever added within `/v1`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderRepresentation {
    /// Order id.
    pub id: Uuid,
    /// Who ordered.
    pub consumer_id: Uuid,
    /// From where.
    pub restaurant_id: Uuid,
    /// What.
    pub line_items: Vec<LineItem>,
    /// Total in cents, priced from the menu replica; null while the restaurant is not in
    /// the replica yet (order-service waits `orders.replica_wait_ms` for it when the order
    /// is placed): the order is priced, and validated, as soon as it is.
    pub total_cents: Option<i64>,
    /// PENDING, VALIDATED, REJECTED or CANCELLED.
    pub state: OrderState,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// With `?expand=consumer`: the consumer as consumer-service returns it, or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub consumer: Option<serde_json::Value>,
    /// With `?expand=consumer`: true when consumer-service could not be asked (down,
    /// slow, or its circuit breaker open) and `consumer` is therefore missing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

impl From<&Order> for OrderRepresentation {
    fn from(order: &Order) -> Self {
        let href = format!("/v1/orders/{}", order.id);
        Self {
            id: order.id,
            consumer_id: order.consumer_id,
            restaurant_id: order.restaurant_id,
            line_items: order.line_items.iter().map(LineItem::from).collect(),
            total_cents: order.total_cents,
            state: order.state.into(),
            rejection_reason: order.rejection_reason.clone(),
            consumer: None,
            degraded: false,
            links: Links {
                cancel: order.state.is_cancellable().then(|| Link {
                    href: format!("{href}/cancel"),
                    method: "POST",
                }),
                self_: Link {
                    href,
                    method: "GET",
                },
            },
        }
    }
}
