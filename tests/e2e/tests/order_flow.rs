//! The book's flow: an order is accepted at once and validated asynchronously.

use std::time::Duration;

use crate::support::System;

#[tokio::test]
async fn a_replicated_menu_prices_the_order_and_both_validations_make_it_validated() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Ada").await;
    let restaurant = system
        .create_restaurant(&[("samosa", 250), ("curry", 1_200)])
        .await;

    // The replica, not restaurant-service, prices it: 2 × 250 + 1 × 1200.
    let created = system
        .place_order(consumer, restaurant, &[("samosa", 2), ("curry", 1)])
        .await;
    assert_eq!(created["state"], "PENDING", "accepted at once: {created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["_links"]["self"]["href"],
        format!("/v1/orders/{id}")
    );

    let validated = system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;
    assert_eq!(validated["total_cents"], 1_700);
    assert_eq!(validated["_links"]["cancel"]["method"], "POST");
}

#[tokio::test]
async fn an_unknown_consumer_or_menu_item_rejects_the_order_with_the_reason() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Grace").await;
    let restaurant = system.create_restaurant(&[("dal", 900)]).await;

    let stranger = uuid::Uuid::now_v7();
    let by_stranger = system
        .place_order(stranger, restaurant, &[("dal", 1)])
        .await;
    let rejected = system
        .wait_for_state(
            by_stranger["id"].as_str().unwrap(),
            "REJECTED",
            Duration::from_secs(60),
        )
        .await;
    let reason = rejected["rejection_reason"].as_str().unwrap();
    assert!(reason.contains(&stranger.to_string()), "{reason}");
    assert!(rejected["_links"].get("cancel").is_none(), "{rejected}");

    let off_menu = system
        .place_order(consumer, restaurant, &[("pizza", 1)])
        .await;
    let rejected = system
        .wait_for_state(
            off_menu["id"].as_str().unwrap(),
            "REJECTED",
            Duration::from_secs(60),
        )
        .await;
    let reason = rejected["rejection_reason"].as_str().unwrap();
    assert!(reason.contains("pizza"), "{reason}");
}

#[tokio::test]
async fn cancelling_publishes_order_cancelled_and_only_once() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Alan").await;
    let restaurant = system.create_restaurant(&[("naan", 300)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("naan", 3)])
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;

    let url = format!("{}/v1/orders/{id}/cancel", system.url("order-service"));
    let (status, cancelled) = system.post(&url, &serde_json::json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "CANCELLED");
    assert!(cancelled["_links"].get("cancel").is_none());
    let (status, again) = system.post(&url, &serde_json::json!({})).await;
    assert_eq!(status, 409, "{again}");

    let mut reader = system.stack.topic_reader(&["order.events"]).unwrap();
    reader.read_until(Duration::from_secs(60), |r| {
        r.iter()
            .any(|e| e.header("message-type") == Some("OrderCancelled"))
    });
    // On to the end of every partition: a second OrderCancelled after the first would
    // be counted.
    let events = reader
        .read_to_end(Duration::from_secs(30))
        .unwrap()
        .to_vec();
    let types: Vec<&str> = events
        .iter()
        .filter(|e| e.key.as_deref() == Some(id.as_str()))
        .filter_map(|e| e.header("message-type"))
        .collect();
    assert_eq!(types, ["OrderCreated", "OrderValidated", "OrderCancelled"]);
}

/// A restaurant created a moment ago whose event has not reached order-service's
/// replica (here held back: order-service may not write its replica) is no fault of the
/// client: the order is accepted unpriced, and priced and validated once the replica
/// learns the restaurant. Before, it was refused with 422 naming `restaurant_id`.
#[tokio::test]
async fn an_order_for_a_restaurant_the_replica_has_not_seen_yet_waits_for_it() {
    let mut system =
        System::start_with(&[("order-service", "FTGO_ORDERS__REPLICA_WAIT_MS", "200")]).await;
    let consumer = system.create_consumer("Katherine").await;
    let orders_db = system
        .stack
        .database("order_service")
        .connect()
        .await
        .unwrap();
    orders_db
        .batch_execute("REVOKE INSERT, UPDATE ON restaurant_replica FROM CURRENT_USER")
        .await
        .unwrap();
    let restaurant = system.create_restaurant(&[("vada", 300)]).await;

    let created = system
        .place_order(consumer, restaurant, &[("vada", 3)])
        .await;
    assert_eq!(created["state"], "PENDING", "{created}");
    assert!(
        created["total_cents"].is_null(),
        "not priced yet: {created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    orders_db
        .batch_execute("GRANT INSERT, UPDATE ON restaurant_replica TO CURRENT_USER")
        .await
        .unwrap();
    let validated = system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;
    assert_eq!(
        validated["total_cents"], 900,
        "priced on arrival: {validated}"
    );
}

/// A restaurant that never reaches the replica (it does not exist): the order is
/// rejected at its deadline with a reason naming the restaurant.
#[tokio::test]
async fn an_order_for_a_restaurant_that_never_arrives_is_rejected_at_its_deadline() {
    let mut system = System::start_with(&[
        ("order-service", "FTGO_ORDERS__REPLICA_WAIT_MS", "0"),
        (
            "order-service",
            "FTGO_ORDERS__VALIDATION_DEADLINE_MS",
            "2000",
        ),
    ])
    .await;
    let consumer = system.create_consumer("Mary").await;
    let nowhere = uuid::Uuid::now_v7();
    let created = system.place_order(consumer, nowhere, &[("x", 1)]).await;
    assert!(created["total_cents"].is_null(), "{created}");
    let rejected = system
        .wait_for_state(
            created["id"].as_str().unwrap(),
            "REJECTED",
            Duration::from_secs(60),
        )
        .await;
    let reason = rejected["rejection_reason"].as_str().unwrap();
    assert!(
        reason.contains(&nowhere.to_string()) && reason.contains("not known"),
        "{reason}"
    );
}
