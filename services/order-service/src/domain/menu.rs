//! What an order is made of: lines naming menu items, and the menus that price them.
//!
//! These are the domain's own types. Kafka messages (`contracts`) and the REST API
//! (`api::representation`) have theirs, translated at their edges, so a change to either
//! does not reach the domain. Serde gives their stored form (`jsonb` columns
//! `orders.line_items` and `restaurant_replica.menu`); unknown fields are refused, so a
//! row that does not hold this shape is reported corrupt instead of read half.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A line of an order: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Menu item id within the restaurant's menu.
    pub menu_item_id: String,
    /// How many: 1 to 1000.
    pub quantity: u32,
}

/// A dish on a restaurant's menu, as the replica knows it.
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

/// A restaurant as the replica keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restaurant {
    /// Restaurant id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Whether it delivers.
    pub delivers: bool,
    /// Its menu, pricing orders.
    pub menu: Vec<MenuItem>,
}
