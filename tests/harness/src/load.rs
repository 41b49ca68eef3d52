//! A small, bounded load through the real APIs, as a client would place it: one
//! consumer, one restaurant, then orders (some that restaurant-service rejects). Used by
//! the observability test and `cargo dev screenshot`, so dashboards have data to show.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::http;
use crate::stack::Stack;

/// What [`place_orders`] placed.
#[derive(Debug, Clone, Default)]
pub struct PlacedOrders {
    /// Orders that validation will accept.
    pub valid: Vec<String>,
    /// Orders naming a menu item the restaurant does not have: restaurant-service
    /// rejects them, so order-service moves them to REJECTED.
    pub rejected: Vec<String>,
}

/// Creates a consumer and a restaurant, then places `valid` good orders and `rejected`
/// bad ones, `pause` apart, the bad ones spread evenly (the first order is one). Waits
/// (up to 60 s) until order-service's restaurant replica knows the restaurant.
pub async fn place_orders(
    stack: &mut Stack,
    valid: usize,
    rejected: usize,
    pause: Duration,
) -> Result<PlacedOrders> {
    let consumers = stack.service("consumer-service", 0).http_address();
    let restaurants = stack.service("restaurant-service", 0).http_address();
    let orders = stack.service("order-service", 0).http_address();
    let consumer = created_id(consumers, "/v1/consumers", &json!({ "name": "Ada" })).await?;
    let restaurant = created_id(
        restaurants,
        "/v1/restaurants",
        &json!({
            "name": "Ajanta",
            "delivers": true,
            "menu": [{ "id": "samosa", "name": "Samosa", "price_cents": 250 }],
        }),
    )
    .await?;
    let order = |item: &str| {
        json!({
            "consumer_id": consumer,
            "restaurant_id": restaurant,
            "line_items": [{ "menu_item_id": item, "quantity": 2 }],
        })
    };
    let mut placed = PlacedOrders::default();
    let total = rejected + valid;
    for i in 0..total {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        // Order i is bad when it starts a new share of `total / rejected` orders.
        if placed.rejected.len() < rejected && i * rejected >= placed.rejected.len() * total {
            placed
                .rejected
                .push(place(orders, &order("not-on-the-menu")).await?);
        } else {
            placed.valid.push(place(orders, &order("samosa")).await?);
        }
    }
    Ok(placed)
}

/// The state of order `id` (`PENDING`, `VALIDATED`, ...).
pub async fn order_state(stack: &mut Stack, id: &str) -> Result<String> {
    let orders = stack.service("order-service", 0).http_address();
    let (status, body) = http::get(orders, &format!("/v1/orders/{id}"))
        .await
        .ok_or_else(|| Error::Load("order-service did not answer".into()))?;
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    match body["state"].as_str() {
        Some(state) if status == 200 => Ok(state.to_owned()),
        _ => Err(Error::Load(format!("GET order {id}: {status} {body}"))),
    }
}

/// Places one order, retrying while the replica does not know the restaurant yet.
async fn place(orders: SocketAddr, body: &Value) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match post(orders, "/v1/orders", body).await? {
            (201, answer) => return id_of(&answer),
            (422, answer) if answer["field"] == "restaurant_id" && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (status, answer) => {
                return Err(Error::Load(format!("order refused: {status} {answer}")));
            }
        }
    }
}

async fn created_id(address: SocketAddr, path: &str, body: &Value) -> Result<String> {
    match post(address, path, body).await? {
        (201, answer) => id_of(&answer),
        (status, answer) => Err(Error::Load(format!("POST {path}: {status} {answer}"))),
    }
}

async fn post(address: SocketAddr, path: &str, body: &Value) -> Result<(u16, Value)> {
    let (status, answer) = http::post_json(address, path, &body.to_string())
        .await
        .ok_or_else(|| Error::Load(format!("POST {path}: no answer from {address}")))?;
    Ok((status, serde_json::from_str(&answer).unwrap_or_default()))
}

fn id_of(answer: &Value) -> Result<String> {
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Load(format!("no id in {answer}")))
}
