//! The consumers and restaurants a load's orders name, and the request body of each
//! kind of order.

use serde_json::{Value, json};
use uuid::Uuid;

use super::client::Client;
use super::mix::{Kind, Outcome};
use crate::error::Result;

/// The one item the menus lack.
const OFF_MENU_ITEM: &str = "pizza";
/// The limited consumer's limit: below a samosa.
const LOW_LIMIT_CENTS: i64 = 100;
/// Both restaurants' menu: (item id, price in cents).
const MENU: [(&str, i64); 2] = [("samosa", 250), ("curry", 1_200)];

/// The consumers and restaurants the load uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixtures {
    consumer: Uuid,
    limited_consumer: Uuid,
    unknown_consumer: Uuid,
    restaurant: Uuid,
    closed_restaurant: Uuid,
}

impl Fixtures {
    /// Creates them through consumer-service's and restaurant-service's APIs. The
    /// restaurants reach order-service's replica a moment later, which order-service
    /// itself waits for.
    pub async fn create(client: &Client) -> Result<Self> {
        let consumer = client.create_consumer(&json!({ "name": "Ada" })).await?;
        let limited_consumer = client
            .create_consumer(&json!({ "name": "Thrifty", "order_limit_cents": LOW_LIMIT_CENTS }))
            .await?;
        let menu: Vec<Value> = MENU
            .iter()
            .map(|(id, price)| json!({ "id": id, "name": format!("dish {id}"), "price_cents": price }))
            .collect();
        let restaurant =
            |delivers: bool| json!({ "name": "Ajanta", "delivers": delivers, "menu": menu });
        Ok(Self {
            consumer,
            limited_consumer,
            unknown_consumer: Uuid::now_v7(),
            restaurant: client.create_restaurant(&restaurant(true)).await?,
            closed_restaurant: client.create_restaurant(&restaurant(false)).await?,
        })
    }

    /// Fixtures with made-up ids and nothing behind them, to check arithmetic on orders
    /// without a running system.
    pub fn made_up() -> Self {
        Self {
            consumer: Uuid::now_v7(),
            limited_consumer: Uuid::now_v7(),
            unknown_consumer: Uuid::now_v7(),
            restaurant: Uuid::now_v7(),
            closed_restaurant: Uuid::now_v7(),
        }
    }

    /// The restaurant an order of `kind` names.
    pub fn restaurant_of(&self, kind: Kind) -> Uuid {
        match kind {
            Kind::NotDelivering => self.closed_restaurant,
            _ => self.restaurant,
        }
    }

    /// The request body of an order of `kind`.
    pub fn body(&self, kind: Kind) -> Value {
        let (consumer, items): (Uuid, &[(&str, u32)]) = match kind {
            Kind::Valid => (self.consumer, &[("samosa", 2), ("curry", 1)]),
            Kind::UnknownConsumer => (self.unknown_consumer, &[("samosa", 1)]),
            Kind::OverLimit => (self.limited_consumer, &[("samosa", 1)]),
            Kind::OffMenu => (self.consumer, &[(OFF_MENU_ITEM, 1)]),
            Kind::NotDelivering => (self.consumer, &[("samosa", 1)]),
        };
        let items: Vec<Value> = items
            .iter()
            .map(|(id, q)| json!({ "menu_item_id": id, "quantity": q }))
            .collect();
        json!({
            "consumer_id": consumer,
            "restaurant_id": self.restaurant_of(kind),
            "line_items": items,
        })
    }

    /// The kind of a stored order, from its inputs; `None` for an order not placed from
    /// these fixtures.
    pub fn kind_of(&self, consumer: Uuid, restaurant: Uuid, items: &Value) -> Option<Kind> {
        let item_ids: Vec<&str> = items
            .as_array()?
            .iter()
            .filter_map(|line| line["menu_item_id"].as_str())
            .collect();
        let on_menu = item_ids
            .iter()
            .all(|id| MENU.iter().any(|(item, _)| item == id));
        Some(match (consumer, restaurant) {
            (c, r) if c == self.unknown_consumer && r == self.restaurant => Kind::UnknownConsumer,
            (c, r) if c == self.limited_consumer && r == self.restaurant => Kind::OverLimit,
            (c, r) if c == self.consumer && r == self.closed_restaurant => Kind::NotDelivering,
            (c, r) if c == self.consumer && r == self.restaurant && on_menu => Kind::Valid,
            (c, r) if c == self.consumer && r == self.restaurant && item_ids == [OFF_MENU_ITEM] => {
                Kind::OffMenu
            }
            _ => return None,
        })
    }

    /// How an order of `kind` must end: the verdicts consumer-service and
    /// restaurant-service give for these inputs (services/*/src/domain.rs).
    pub fn outcome(&self, kind: Kind) -> Outcome {
        match kind {
            Kind::Valid => Outcome::Validated,
            Kind::UnknownConsumer => {
                Outcome::Rejected(format!("consumer {} not found", self.unknown_consumer))
            }
            Kind::OverLimit => Outcome::Rejected("order total exceeds limit".into()),
            Kind::OffMenu => {
                Outcome::Rejected(format!("menu item {OFF_MENU_ITEM} not on the menu"))
            }
            Kind::NotDelivering => Outcome::Rejected(format!(
                "restaurant {} does not deliver",
                self.closed_restaurant
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_recognised_from_the_body_it_makes() {
        let fixtures = Fixtures::made_up();
        for kind in [
            Kind::Valid,
            Kind::UnknownConsumer,
            Kind::OverLimit,
            Kind::OffMenu,
            Kind::NotDelivering,
        ] {
            let body = fixtures.body(kind);
            let id = |field: &str| body[field].as_str().unwrap().parse().unwrap();
            assert_eq!(
                fixtures.kind_of(id("consumer_id"), id("restaurant_id"), &body["line_items"]),
                Some(kind)
            );
        }
    }
}
