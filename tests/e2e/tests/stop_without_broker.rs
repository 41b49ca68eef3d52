//! A stop while Kafka is gone: every service still exits by itself, within its
//! `http.stop_timeout_ms`, instead of hanging until the platform kills it.

use std::time::{Duration, Instant};

use ftgo_harness::SERVICE_BINARIES;

use crate::support::System;

#[tokio::test]
async fn with_the_broker_gone_every_service_stops_within_its_stop_timeout() {
    let mut system = System::start_on_own_broker(&[
        ("order-service", "FTGO_HTTP__STOP_TIMEOUT_MS", "3000"),
        ("consumer-service", "FTGO_HTTP__STOP_TIMEOUT_MS", "3000"),
        ("restaurant-service", "FTGO_HTTP__STOP_TIMEOUT_MS", "3000"),
    ])
    .await;
    // Work in flight when the broker goes: an order whose validation needs Kafka.
    let consumer = system.create_consumer("Katherine").await;
    let restaurant = system.create_restaurant(&[("vada", 300)]).await;
    system
        .place_order(consumer, restaurant, &[("vada", 2)])
        .await;
    system.stack.broker.kill9().unwrap();
    for binary in SERVICE_BINARIES {
        let started = Instant::now();
        // The harness waits 60 s, then kills: a hang shows as a signal, not an exit code.
        let status = system.stack.service(binary, 0).terminate();
        eprintln!(
            "{binary}: {status:?} {:.1} s after SIGTERM with the broker gone",
            started.elapsed().as_secs_f64()
        );
        assert!(
            status.is_some_and(|s| s.success()),
            "{binary} did not stop by itself: {status:?}"
        );
        // Its stop timeout (3 s) plus room for a loaded machine; before the bound
        // existed order-service took 21 s here.
        assert!(
            started.elapsed() < Duration::from_secs(13),
            "{binary} took {:?} to stop",
            started.elapsed()
        );
    }
}
