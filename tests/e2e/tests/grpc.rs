//! order-service with gRPC as its synchronous transport to consumer-service
//! (`consumer_service.transport: grpc`): orders flow end to end, `?expand=consumer` goes
//! over gRPC, and the resilient client protects the call as it does over REST.

use std::time::Duration;

use uuid::Uuid;

use crate::resilience::consumer_service_outage;
use crate::support::{System, metric};

const GRPC: (&str, &str, &str) = ("order-service", "FTGO_CONSUMER_SERVICE__TRANSPORT", "grpc");

#[tokio::test]
async fn over_grpc_orders_flow_lookups_answer_and_an_outage_opens_then_closes_the_breaker() {
    let mut system = System::start_with(&[GRPC]).await;
    let consumer = system.create_consumer("Grace").await;
    let restaurant = system.create_restaurant(&[("dosa", 900)]).await;
    let orders = system.url("order-service");
    let order_service = system.stack.service("order-service", 0).http_address();
    let consumer_service = system.stack.service("consumer-service", 0).http_address();
    let served = |code| async move {
        metric(
            consumer_service,
            "ftgo_grpc_server_requests_total",
            &[("method", "GetConsumer"), ("code", code)],
        )
        .await
    };

    // The order flows end to end (validation is asynchronous, over the broker).
    let order = system
        .place_order(consumer, restaurant, &[("dosa", 2)])
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;

    // The expansion is fetched over gRPC, in the REST representation's shape.
    let (status, body) = system
        .get(&format!("{orders}/v1/orders/{id}?expand=consumer"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("degraded").is_none(), "{body}");
    assert_eq!(body["consumer"]["id"], consumer.to_string(), "{body}");
    assert_eq!(body["consumer"]["name"], "Grace", "{body}");
    assert_eq!(body["consumer"]["order_limit_cents"], 100_000, "{body}");
    assert_eq!(
        served("ok").await,
        1.0,
        "consumer-service served it over gRPC"
    );
    let client = [("transport", "grpc"), ("outcome", "ok")];
    assert_eq!(
        metric(order_service, "ftgo_client_calls_total", &client).await,
        1.0
    );

    // An unknown consumer is NOT_FOUND: an answer (no consumer), not a degradation.
    let stranger = system
        .place_order(Uuid::now_v7(), restaurant, &[("dosa", 1)])
        .await;
    let stranger = stranger["id"].as_str().unwrap().to_owned();
    let (status, body) = system
        .get(&format!("{orders}/v1/orders/{stranger}?expand=consumer"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("consumer").is_none(), "{body}");
    assert!(body.get("degraded").is_none(), "{body}");
    assert_eq!(served("not_found").await, 1.0);

    // consumer-service down and back: the same breaker cycle as over REST.
    consumer_service_outage(&mut system, "grpc").await;
}
