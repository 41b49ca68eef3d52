//! A rolling update's SIGTERM while a service keeps failing to handle a message: the
//! message must stay unacknowledged, for whoever owns the partition next.

use std::time::{Duration, Instant};

use crate::support::{System, metric};

/// Orders placed while consumer-service cannot handle them.
const ORDERS: usize = 5;
const WITHIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_service_stopped_while_retrying_leaves_the_message_for_the_next_owner() {
    // No order may be rejected by the deadline sweeper meanwhile: only the validations
    // decide.
    let mut system = System::start_with(&[(
        "order-service",
        "FTGO_ORDERS__VALIDATION_DEADLINE_MS",
        "600000",
    )])
    .await;
    let consumer = system.create_consumer("Hedy").await;
    let restaurant = system.create_restaurant(&[("idli", 400)]).await;
    let warm = system
        .place_order(consumer, restaurant, &[("idli", 1)])
        .await;
    system
        .wait_for_state(warm["id"].as_str().unwrap(), "VALIDATED", WITHIN)
        .await;

    // A transient failure an operator will fix: the service loses its right to record
    // processed messages, so every attempt fails and is retried.
    let database = system
        .stack
        .database("consumer_service")
        .connect()
        .await
        .unwrap();
    database
        .batch_execute("REVOKE INSERT ON processed_messages FROM CURRENT_USER")
        .await
        .unwrap();
    let mut orders = Vec::new();
    for _ in 0..ORDERS {
        let order = system
            .place_order(consumer, restaurant, &[("idli", 1)])
            .await;
        orders.push(order["id"].as_str().unwrap().to_owned());
    }
    let service = system.stack.service("consumer-service", 0);
    let address = service.http_address();
    let deadline = Instant::now() + WITHIN;
    while metric(
        address,
        "ftgo_consumer_messages_total",
        &[("outcome", "retried")],
    )
    .await
        < 2.0
    {
        assert!(Instant::now() < deadline, "consumer-service never retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The stop lands while a command is being retried: unconfirmed work exists.
    let exit = system.stack.service("consumer-service", 0).terminate();
    assert!(exit.is_some_and(|s| s.success()), "graceful stop: {exit:?}");

    database
        .batch_execute("GRANT INSERT ON processed_messages TO CURRENT_USER")
        .await
        .unwrap();
    let service = system.stack.service("consumer-service", 0);
    service.restart().await.unwrap();
    service.wait_ready(WITHIN).await.unwrap();
    for id in &orders {
        system.wait_for_state(id, "VALIDATED", WITHIN).await;
    }
}
