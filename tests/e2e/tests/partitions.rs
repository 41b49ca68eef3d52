//! A consumer handles its partitions concurrently, each in order: a handler held up on
//! one partition holds up only that partition.

use std::time::{Duration, Instant};

use contracts::order;
use uuid::Uuid;

use crate::support::System;

/// order-service's reply for order X waits on X's row, locked by the test (as a slow
/// handler or a long transaction would). Orders whose replies are on other partitions of
/// `order-service.replies` are validated meanwhile; before, the one consumer loop waited
/// on X and every reply behind it stalled.
#[tokio::test]
async fn a_reply_held_up_on_one_partition_does_not_hold_up_the_others() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Radia").await;
    let restaurant = system.create_restaurant(&[("upma", 200)]).await;

    // X's consumer validation is held back (consumer-service stopped) while its row is
    // locked, so its reply arrives at a locked row.
    let stopped = system.stack.service("consumer-service", 0).terminate();
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
    let held = system
        .place_order(consumer, restaurant, &[("upma", 1)])
        .await;
    let held: Uuid = held["id"].as_str().unwrap().parse().unwrap();
    let mut orders_db = system
        .stack
        .database("order_service")
        .connect()
        .await
        .unwrap();
    let lock = orders_db.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", &[&held])
        .await
        .unwrap();
    system
        .stack
        .service("consumer-service", 0)
        .restart()
        .await
        .unwrap();

    // Orders until two have their replies on another partition than X's.
    let mut replies = system.stack.topic_reader(&[order::REPLIES]).unwrap();
    let partition_of = |records: &[ftgo_harness::kafka::ReceivedRecord], id: &str| {
        records
            .iter()
            .find(|r| r.key.as_deref() == Some(id))
            .map(|r| r.partition)
    };
    let held_key = held.to_string();
    let held_partition = replies
        .read_until(Duration::from_secs(60), |r| {
            partition_of(r, &held_key).is_some()
        })
        .iter()
        .find(|r| r.key.as_deref() == Some(held_key.as_str()))
        .expect("X's replies were published")
        .partition;
    let mut elsewhere = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while elsewhere.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no order landed on another partition"
        );
        let order = system
            .place_order(consumer, restaurant, &[("upma", 1)])
            .await;
        let id = order["id"].as_str().unwrap().to_owned();
        let records =
            replies.read_until(Duration::from_secs(60), |r| partition_of(r, &id).is_some());
        if partition_of(records, &id) != Some(held_partition) {
            elsewhere.push(id);
        }
    }
    for id in &elsewhere {
        system
            .wait_for_state(id, "VALIDATED", Duration::from_secs(60))
            .await;
    }
    let url = format!("{}/v1/orders/{held}", system.url("order-service"));
    let (_, order) = system.get(&url).await;
    assert_eq!(
        order["state"], "PENDING",
        "X's reply waits on its row: {order}"
    );

    lock.commit().await.unwrap();
    system
        .wait_for_state(&held_key, "VALIDATED", Duration::from_secs(60))
        .await;
}
