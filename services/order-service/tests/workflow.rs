//! The asynchronous workflow without the other services: restaurant-service's
//! `RestaurantCreated` and the validating services' replies are produced to the broker
//! as they would send them.

use service::Stopped;
use uuid::Uuid;

use crate::support::{self, both_validated, id, metric_with_label, order_when, placed};

#[tokio::test]
async fn the_replica_prices_orders_and_both_replies_validate_them() {
    let (stack, app) = support::start(&[]).await;
    let url = &app.url;
    let restaurant = Uuid::now_v7();

    // Placed before the replica knows the restaurant: accepted unpriced, then priced
    // when its RestaurantCreated arrives.
    let waiting = placed(url, restaurant, 2).await;
    assert_eq!(waiting["total_cents"], serde_json::Value::Null);
    support::restaurant_created(&stack, restaurant, 250).await;
    let waiting_id = waiting["id"].as_str().unwrap();
    order_when(url, waiting_id, "the waiting order priced", |o| {
        o["total_cents"] == 500
    })
    .await;

    // Placed once the replica knows it: priced at once, from the replica.
    let order = placed(url, restaurant, 3).await;
    assert_eq!(order["total_cents"], 750);
    assert_eq!(order["state"], "PENDING");

    both_validated(&stack, &order).await;
    let order_id = id(&order, "id").to_string();
    order_when(url, &order_id, "the order VALIDATED", |o| {
        o["state"] == "VALIDATED"
    })
    .await;
    let (_, validated) = support::get(url, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(validated["_links"]["cancel"]["method"], "POST");
    assert_eq!(
        metric_with_label(url, "ftgo_orders_total", "outcome=\"created\"").await,
        2.0
    );
    assert_eq!(
        metric_with_label(url, "ftgo_orders_total", "outcome=\"validated\"").await,
        1.0
    );
    // The other order got no replies: still PENDING.
    let (_, still) = support::get(url, &format!("/v1/orders/{waiting_id}")).await;
    assert_eq!(still["state"], "PENDING");
    assert_eq!(app.stop().await, Stopped::Cleanly);
}
