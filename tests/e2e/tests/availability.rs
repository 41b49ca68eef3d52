//! What Kubernetes sees of a service: readiness that does not follow shared
//! dependencies, and a stop that keeps serving until endpoints have let go.

use std::time::{Duration, Instant};

use ftgo_harness::http;

use crate::support::System;

/// A broker outage takes nothing the API needs (writes go to the service's own database,
/// the outbox with them): every service stays ready and takes orders, and the orders are
/// validated once the broker is back. Before, readiness followed the broker: every pod
/// unready, GETs refused, and the PodDisruptionBudgets blocked drains.
#[tokio::test]
async fn a_broker_outage_leaves_every_service_ready_and_taking_orders() {
    let mut system = System::start_on_own_broker(&[]).await;
    let consumer = system.create_consumer("Dorothy").await;
    let restaurant = system.create_restaurant(&[("idli", 150)]).await;
    let warm = system
        .place_order(consumer, restaurant, &[("idli", 1)])
        .await;
    system
        .wait_for_state(
            warm["id"].as_str().unwrap(),
            "VALIDATED",
            Duration::from_secs(60),
        )
        .await;

    system.stack.broker.kill9().unwrap();
    for binary in ftgo_harness::SERVICE_BINARIES {
        let address = system.stack.service(binary, 0).http_address();
        let deadline = Instant::now() + Duration::from_secs(60);
        // The service has noticed: the outage is what it reports now (it reported the
        // broker's health before).
        let broker_up = || async {
            let (_, metrics) = http::get(address, "/metrics").await.unwrap_or_default();
            http::metric_value_matching(&metrics, "ftgo_dependency_up", &["dependency=\"broker\""])
        };
        assert!(
            broker_up().await.is_some(),
            "{binary} reports the broker's health"
        );
        while broker_up().await != Some(0.0) {
            assert!(
                Instant::now() < deadline,
                "{binary} never saw the broker go"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, reason) = http::get(address, "/readyz").await.unwrap();
        assert_eq!(
            status, 200,
            "{binary} unready with the broker gone: {reason}"
        );
    }
    let during = system
        .place_order(consumer, restaurant, &[("idli", 2)])
        .await;
    let id = during["id"].as_str().unwrap().to_owned();
    let url = format!("{}/v1/orders/{id}", system.url("order-service"));
    let (status, order) = system.get(&url).await;
    assert_eq!(
        (status, order["state"].as_str()),
        (200, Some("PENDING")),
        "{order}"
    );

    system.stack.broker.restart().await.unwrap();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(120))
        .await;
}

/// SIGTERM during a rolling update: the service reports not ready at once but serves
/// for `http.shutdown_delay_ms`, while endpoints still route to it, then stops cleanly.
/// Before, it stopped taking requests at SIGTERM and those requests were refused.
#[tokio::test]
async fn a_stopping_service_keeps_serving_for_its_shutdown_delay() {
    let mut system =
        System::start_with(&[("order-service", "FTGO_HTTP__SHUTDOWN_DELAY_MS", "3000")]).await;
    let consumer = system.create_consumer("Annie").await;
    let restaurant = system.create_restaurant(&[("dosa", 400)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("dosa", 1)])
        .await;
    let url = format!(
        "{}/v1/orders/{}",
        system.url("order-service"),
        order["id"].as_str().unwrap()
    );
    let service = system.stack.service("order-service", 0);
    let address = service.http_address();
    let asked = Instant::now();
    service.request_stop().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, reason) = http::get(address, "/readyz").await.unwrap();
        if status == 503 {
            assert_eq!(reason, "stopping");
            break;
        }
        assert!(Instant::now() < deadline, "never reported not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Not ready, and still answering the API.
    let (status, body) = system.get(&url).await;
    assert_eq!(status, 200, "{body}");
    let served_for = asked.elapsed();
    let exit = system.stack.service("order-service", 0).terminate();
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
    eprintln!(
        "order-service: not ready and serving {:.2} s after SIGTERM, exited after {:.2} s",
        served_for.as_secs_f64(),
        asked.elapsed().as_secs_f64()
    );
    assert!(
        asked.elapsed() >= Duration::from_secs(3),
        "stopped before its shutdown delay"
    );
}
