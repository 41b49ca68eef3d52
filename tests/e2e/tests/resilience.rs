//! Partial failure: consumer-service down. The scenario is the same for both transports
//! of order-service's lookup (REST here, gRPC in `grpc.rs`).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{System, metric};

#[tokio::test]
async fn with_consumer_service_down_orders_are_accepted_reads_degrade_and_the_breaker_cycles() {
    let mut system = System::start().await;
    consumer_service_outage(&mut system, "rest").await;
}

/// consumer-service stops: orders are still accepted, `?expand=consumer` answers
/// `degraded`, the breaker of order-service's client (over `transport`) opens and
/// short-circuits; consumer-service returns: the order is validated and a half-open trial
/// call closes the breaker.
pub async fn consumer_service_outage(system: &mut System, transport: &str) {
    let breaker = [("target", "consumer-service"), ("transport", transport)];
    let consumer = system.create_consumer("Barbara").await;
    let restaurant = system.create_restaurant(&[("thali", 1_500)]).await;
    let orders = system.url("order-service");
    let order_service = system.stack.service("order-service", 0).http_address();

    system.stack.service("consumer-service", 0).terminate();

    // Asynchronous messaging decouples availability: the order is still accepted.
    let order = system
        .place_order(consumer, restaurant, &[("thali", 1)])
        .await;
    assert_eq!(order["state"], "PENDING");
    let id = order["id"].as_str().unwrap().to_owned();
    let expand = format!("{orders}/v1/orders/{id}?expand=consumer");

    // The synchronous read degrades instead of failing.
    let (status, degraded) = system.get(&expand).await;
    assert_eq!(status, 200, "{degraded}");
    assert_eq!(degraded["degraded"], true, "{degraded}");
    assert!(degraded.get("consumer").is_none());

    // After enough failures the breaker opens: calls are rejected without the network.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(order_service, "ftgo_client_breaker_state", &breaker).await != 1.0 {
        assert!(Instant::now() < deadline, "breaker never opened");
        let (status, body) = system.get(&expand).await;
        assert_eq!((status, &body["degraded"]), (200, &Value::Bool(true)));
    }
    let rejected_before = metric(
        order_service,
        "ftgo_client_calls_total",
        &[("outcome", "breaker_open"), ("transport", transport)],
    )
    .await;
    let (_, body) = system.get(&expand).await;
    assert_eq!(body["degraded"], true);
    let rejected_after = metric(
        order_service,
        "ftgo_client_calls_total",
        &[("outcome", "breaker_open"), ("transport", transport)],
    )
    .await;
    assert_eq!(
        rejected_after,
        rejected_before + 1.0,
        "an open breaker short-circuits the call"
    );

    // consumer-service returns: the pending order completes its validation...
    let consumer_service = system.stack.service("consumer-service", 0);
    consumer_service.restart().await.unwrap();
    consumer_service
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(90))
        .await;

    // ...and after the open wait a half-open trial call closes the breaker again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = system.get(&expand).await;
        assert_eq!(status, 200);
        if body["degraded"] != true {
            assert_eq!(body["consumer"]["id"], consumer.to_string(), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "breaker never closed: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        metric(order_service, "ftgo_client_breaker_state", &breaker).await,
        0.0
    );
    assert!(
        metric(
            order_service,
            "ftgo_client_breaker_transitions_total",
            &[("to", "half_open"), ("transport", transport)]
        )
        .await
            >= 1.0
    );
}
