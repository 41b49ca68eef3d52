//! The order as clients see it: state plus HATEOAS links to what they can do next.

use platform::contracts::LineItem;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Order, OrderState};

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
            line_items: order.line_items.clone(),
            total_cents: order.total_cents,
            state: order.state,
            rejection_reason: order.rejection_reason.clone(),
            consumer: None,
            degraded: false,
            links: Links {
                cancel: (order.state == OrderState::Pending
                    || order.state == OrderState::Validated)
                    .then(|| Link {
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
