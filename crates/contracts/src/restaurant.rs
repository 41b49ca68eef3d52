//! Messages restaurant-service receives and sends.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{LineItem, MenuItem};

/// restaurant-service's point-to-point command channel.
pub const COMMANDS: &str = "restaurant-service.commands";
/// Restaurant events (publish-subscribe).
pub const EVENTS: &str = "restaurant.events";

/// Command: check that the restaurant can make this order.
pub const VALIDATE_ORDER_DETAILS: &str = "ValidateOrderDetails";
/// Reply: the restaurant can make it.
pub const ORDER_DETAILS_VALIDATED: &str = "OrderDetailsValidated";
/// Reply: it cannot (unknown items, not delivering).
pub const ORDER_DETAILS_REJECTED: &str = "OrderDetailsRejected";
/// Event: a restaurant was created with its menu.
pub const RESTAURANT_CREATED: &str = "RestaurantCreated";
/// Event: a restaurant's menu was replaced.
pub const MENU_REVISED: &str = "MenuRevised";

/// Payload of [`VALIDATE_ORDER_DETAILS`]; key: the restaurant id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateOrderDetails {
    /// The order being validated (correlation).
    pub order_id: Uuid,
    /// The restaurant asked.
    pub restaurant_id: Uuid,
    /// What is ordered.
    pub line_items: Vec<LineItem>,
}

/// Payload of [`ORDER_DETAILS_VALIDATED`] and [`ORDER_DETAILS_REJECTED`]; key: the order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetailsValidation {
    /// The order validated.
    pub order_id: Uuid,
    /// The restaurant.
    pub restaurant_id: Uuid,
    /// Why it was rejected (absent when validated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Payload of [`RESTAURANT_CREATED`]; key: the restaurant id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestaurantCreated {
    /// The restaurant.
    pub restaurant_id: Uuid,
    /// Its name.
    pub name: String,
    /// Whether it currently delivers.
    pub delivers: bool,
    /// Its menu.
    pub menu: Vec<MenuItem>,
}

/// Payload of [`MENU_REVISED`]; key: the restaurant id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuRevised {
    /// The restaurant.
    pub restaurant_id: Uuid,
    /// The whole new menu.
    pub menu: Vec<MenuItem>,
}
