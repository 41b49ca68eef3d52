//! Two relay processes on one database electing a leader through a Lease (served by
//! [`LeaseApi`]), on real PostgreSQL and a real broker: only the holder streams, the
//! standby is ready without touching the slot, and it takes over when the holder loses
//! the Lease, stops, or is killed, with nothing lost.

use std::time::{Duration, Instant};

use crate::lease_api::LeaseApi;
use crate::support::*;

const LEASE: &str = "order-service-relay";
const REPLICAS: [&str; 2] = ["relay-a", "relay-b"];
const WITHIN: Duration = Duration::from_secs(60);

fn replica_env<'a>(identity: &'a str, kubeconfig: &'a str) -> [(&'a str, &'a str); 7] {
    [
        ("KUBECONFIG", kubeconfig),
        ("FTGO_LEADER_ELECTION__ENABLED", "true"),
        ("FTGO_LEADER_ELECTION__LEASE_NAME", LEASE),
        ("FTGO_LEADER_ELECTION__HOLDER_IDENTITY", identity),
        ("FTGO_LEADER_ELECTION__LEASE_DURATION_MS", "2000"),
        ("FTGO_LEADER_ELECTION__RENEW_INTERVAL_MS", "500"),
        ("FTGO_RELAY__MAX_BACKOFF_MS", "500"),
    ]
}

/// The index (in start order) of the replica holding the Lease.
fn holder(api: &LeaseApi) -> usize {
    let holder = api.holder(LEASE).expect("a holder");
    REPLICAS
        .iter()
        .position(|r| *r == holder)
        .expect("one of ours")
}

/// Waits until replica `index` streams, and checks the other does not.
pub(crate) async fn wait_streaming_alone(stack: &mut ftgo_harness::Stack, index: usize) {
    wait_metric(stack, index, "ftgo_relay_streaming", |s| s == 1.0, WITHIN).await;
    assert_eq!(
        stack
            .relay_instance(SERVICE, index)
            .metric("ftgo_relay_leader")
            .await,
        Some(1.0)
    );
    let other = stack.relay_instance(SERVICE, 1 - index);
    if other.is_running() {
        assert_eq!(other.metric("ftgo_relay_streaming").await, Some(0.0));
    }
}

/// Commits a batch on fresh aggregates; returns it.
pub(crate) async fn commit_batch(
    stack: &ftgo_harness::Stack,
    name: &str,
) -> Vec<outbox::OutboxMessage> {
    let batch = keyed_messages(name, 1_000, 20);
    commit_in_transactions(stack.database(SERVICE), &batch, 10).await;
    batch
}

#[tokio::test]
async fn only_the_lease_holder_streams_and_a_standby_takes_over() {
    let mut stack = stack_with_outbox().await;
    let api = LeaseApi::start();
    let kubeconfig = api.kubeconfig(stack.dir()).display().to_string();
    start_relay(&mut stack, &replica_env(REPLICAS[0], &kubeconfig)).await;
    let standby = stack
        .start_relay(SERVICE, &replica_env(REPLICAS[1], &kubeconfig))
        .await
        .unwrap();
    // A standby is ready: healthy and waiting for the Lease, without touching the slot.
    standby.wait_ready(WITHIN).await.unwrap();
    for (metric, value) in [
        ("ftgo_relay_leader", 0.0),
        ("ftgo_relay_streaming", 0.0),
        ("ftgo_relay_sessions_started_total", 0.0),
        ("ftgo_relay_errors_total", 0.0),
    ] {
        // (A labelled family nobody incremented is not exposed at all.)
        assert_eq!(
            standby.metric(metric).await.unwrap_or(0.0),
            value,
            "{metric}"
        );
    }
    assert_eq!(holder(&api), 0);
    wait_streaming_alone(&mut stack, 0).await;
    let mut all = commit_batch(&stack, "first").await;
    let delivery = verify(&all, &read_all(&stack, &all, WITHIN));
    assert_eq!(delivery.lost, 0, "{delivery}");
    let published = "ftgo_relay_messages_published_total";
    assert_eq!(
        stack.relay_instance(SERVICE, 1).metric(published).await,
        Some(0.0)
    );

    // The Lease goes to someone else: the holder stops streaming at its next renewal;
    // when that holder stays silent, one of ours takes over.
    api.hand_to(LEASE, "relay-elsewhere");
    let lost = Instant::now();
    wait_metric(&mut stack, 0, "ftgo_relay_streaming", |s| s == 0.0, WITHIN).await;
    eprintln!(
        "holder stopped streaming {:?} after losing the Lease",
        lost.elapsed()
    );
    wait_metric(&mut stack, 0, "ftgo_relay_leader", |l| l == 0.0, WITHIN).await;
    let leader = wait_for_holder(&api).await;
    wait_streaming_alone(&mut stack, leader).await;
    eprintln!(
        "{} streaming {:?} after the Lease was lost",
        REPLICAS[leader],
        lost.elapsed()
    );
    all.extend(commit_batch(&stack, "after-loss").await);

    // A graceful stop hands the Lease over at once.
    let stopped = Instant::now();
    let status = stack.relay_instance(SERVICE, leader).terminate();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    wait_streaming_alone(&mut stack, 1 - leader).await;
    eprintln!(
        "handover on SIGTERM: standby streaming {:?} after the stop began",
        stopped.elapsed()
    );
    assert_eq!(holder(&api), 1 - leader);
    all.extend(commit_batch(&stack, "after-stop").await);

    // A crash: the Lease expires (2 s unrenewed), then the restarted replica takes over.
    stack
        .relay_instance(SERVICE, leader)
        .restart()
        .await
        .unwrap();
    stack
        .relay_instance(SERVICE, leader)
        .wait_ready(WITHIN)
        .await
        .unwrap();
    let killed = Instant::now();
    stack.relay_instance(SERVICE, 1 - leader).kill9();
    wait_streaming_alone(&mut stack, leader).await;
    eprintln!(
        "takeover after kill -9 of the holder: {:?}",
        killed.elapsed()
    );
    all.extend(commit_batch(&stack, "after-kill").await);

    let delivery = verify(&all, &read_all(&stack, &all, Duration::from_secs(120)));
    eprintln!("leader election, Lease lost, SIGTERM, kill -9: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
}

/// Waits until one of ours holds the Lease again.
async fn wait_for_holder(api: &LeaseApi) -> usize {
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Some(holder) = api.holder(LEASE)
            && let Some(index) = REPLICAS.iter().position(|r| *r == holder)
        {
            return index;
        }
        assert!(Instant::now() < deadline, "nobody took the Lease over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
