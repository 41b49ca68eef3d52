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

/// PostgreSQL's logical decoding hands a transaction to the relay once its commit is in
/// the WAL, a moment before other sessions see it: on a busy machine a reply can come
/// back before order-service itself can read the order it answers (seen: `cargo
/// dev-release load` at 200 orders/s dead-lettered such a reply as "order not found",
/// and the order was rejected at its deadline). Modelled by an order inserted in a
/// transaction left open until the handler has tried the reply once: the reply must be
/// retried, not dead-lettered, and the order VALIDATED once it is visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_that_arrives_before_its_order_is_visible_is_retried() {
    let (stack, app) = support::start(&[]).await;
    let url = &app.url;
    let (order_id, restaurant) = (Uuid::now_v7(), Uuid::now_v7());
    let mut db = support::database(&stack).await;
    let not_yet_visible = db.transaction().await.unwrap();
    not_yet_visible
        .execute(
            "INSERT INTO orders (id, consumer_id, restaurant_id, line_items, total_cents, state,
                                 validation_deadline)
             VALUES ($1, $2, $3, '[{\"menu_item_id\": \"a\", \"quantity\": 1}]', 250, 'PENDING',
                     now() + interval '10 minutes')",
            &[&order_id, &support::CONSUMER, &restaurant],
        )
        .await
        .unwrap();
    let order = serde_json::json!({
        "id": order_id, "consumer_id": support::CONSUMER, "restaurant_id": restaurant,
    });
    both_validated(&stack, &order).await;
    support::eventually(support::WITHIN, "the first reply tried once", || async {
        metric_with_label(url, "ftgo_consumer_messages_total", "outcome=\"retried\"").await >= 1.0
    })
    .await;
    not_yet_visible.commit().await.unwrap();

    order_when(url, &order_id.to_string(), "the order VALIDATED", |o| {
        o["state"] == "VALIDATED"
    })
    .await;
    assert_eq!(
        metric_with_label(
            url,
            "ftgo_consumer_messages_total",
            "outcome=\"dead_lettered\""
        )
        .await,
        0.0
    );
    assert_eq!(app.stop().await, Stopped::Cleanly);
}
