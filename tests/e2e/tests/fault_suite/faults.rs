//! Injecting one fault into the running system while the load runs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ftgo_harness::load::Pacer;

use super::plan::Fault;
use crate::support::{System, metric};

/// Longest wait for the load, or the process about to be killed, to be busy.
const BUSY_WITHIN: Duration = Duration::from_secs(120);
/// Longest wait for a restarted process to be ready again.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Injects `fault` once the load is flowing (and, for a kill, once the victim is busy
/// with messages), and restarts what it killed. Returns how many redelivered messages a
/// killed service had skipped as duplicates (its counter dies with it).
pub async fn inject(system: &mut System, fault: Fault, load: &Pacer, per_second: f64) -> f64 {
    let deadline = Instant::now() + BUSY_WITHIN;
    while (load.accepted() as f64) < per_second {
        assert!(
            Instant::now() < deadline,
            "no load before '{fault}': {} orders accepted in {BUSY_WITHIN:?}",
            load.accepted()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match fault {
        Fault::RelayKill(database) => {
            let relay = system.stack.relay(database);
            wait_moving(
                relay.http_address(),
                "ftgo_relay_messages_published_total",
                &[],
            )
            .await;
            relay.kill9();
            relay.restart().await.expect("relay restarts");
            relay
                .wait_ready(READY_WITHIN)
                .await
                .expect("relay ready again");
            0.0
        }
        Fault::ServiceKill { binary, instance } => {
            let service = system.stack.service(binary, instance);
            let address = service.http_address();
            // Mid-batch: it has just handled a message and more are arriving.
            wait_moving(
                address,
                "ftgo_consumer_messages_total",
                &[("outcome", "handled")],
            )
            .await;
            let skipped = duplicates_skipped(address).await;
            service.kill9();
            service.restart().await.expect("service restarts");
            service
                .wait_ready(READY_WITHIN)
                .await
                .expect("service ready again");
            skipped
        }
        Fault::BrokerPause(outage) => {
            system.stack.broker.pause().expect("SIGSTOP the broker");
            tokio::time::sleep(outage).await; // the outage itself
            system.stack.broker.resume().expect("SIGCONT the broker");
            0.0
        }
        Fault::BrokerKill => {
            system.stack.broker.kill9().expect("kill -9 the broker");
            system
                .stack
                .broker
                .restart()
                .await
                .expect("the broker restarts on its log");
            0.0
        }
        Fault::PostgresRestart => {
            system
                .stack
                .postgres
                .restart()
                .await
                .expect("PostgreSQL restarts");
            0.0
        }
    }
}

/// Redelivered messages a service process recognised and skipped so far.
pub async fn duplicates_skipped(service: SocketAddr) -> f64 {
    metric(
        service,
        "ftgo_consumer_messages_total",
        &[("outcome", "duplicate")],
    )
    .await
}

/// Waits until counter `name` (samples with `labels`) grows: the process is working.
async fn wait_moving(address: SocketAddr, name: &str, labels: &[(&str, &str)]) {
    let start = metric(address, name, labels).await;
    let deadline = Instant::now() + BUSY_WITHIN;
    while metric(address, name, labels).await <= start {
        assert!(
            Instant::now() < deadline,
            "{name} at {address} did not grow within {BUSY_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
