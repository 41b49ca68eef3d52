//! Crashes and outages mid-stream: nothing committed is lost.

use std::time::Duration;

use crate::support::*;

const STREAM: usize = 10_000;

/// Commits `STREAM` messages (1,000 transactions of 10, 50 keys) in the background.
fn write_stream(
    stack: &ftgo_harness::Stack,
) -> (
    Vec<platform::outbox::OutboxMessage>,
    tokio::task::JoinHandle<()>,
) {
    let all = messages(STREAM, 50);
    let db = stack.database(SERVICE).clone();
    let writing = all.clone();
    let writer = tokio::spawn(async move { commit_in_transactions(&db, &writing, 10).await });
    (all, writer)
}

#[tokio::test]
async fn relay_killed_mid_stream_loses_nothing_after_restart() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let (all, writer) = write_stream(&stack);

    wait_published(&mut stack, 2_000.0, Duration::from_secs(120)).await;
    stack.relay(SERVICE).kill9();
    writer.await.unwrap();
    let relay = stack.relay(SERVICE);
    relay.restart().await.unwrap();
    relay.wait_ready(Duration::from_secs(60)).await.unwrap();

    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("kill -9 mid-stream: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
}

#[tokio::test]
async fn broker_paused_for_ten_seconds_mid_stream_loses_nothing() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let (all, writer) = write_stream(&stack);

    wait_published(&mut stack, 1_000.0, Duration::from_secs(120)).await;
    stack.broker.pause().unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await; // the outage itself
    stack.broker.resume().unwrap();
    writer.await.unwrap();

    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("broker paused 10 s: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    assert!(
        stack.relay(SERVICE).is_running(),
        "the relay never exits on an outage"
    );
}

#[tokio::test]
async fn postgres_restarted_mid_stream_relay_reconnects_and_loses_nothing() {
    let mut stack = stack_with_outbox().await;
    // Commit a backlog first so the restart lands while the relay drains it.
    let (first, writer) = write_stream(&stack);
    writer.await.unwrap();
    start_relay(&mut stack, &[]).await;
    wait_published(&mut stack, 500.0, Duration::from_secs(120)).await;
    stack.postgres.restart().await.unwrap();

    let db = stack.database(SERVICE).clone();
    let second: Vec<_> = messages(1_000, 50)
        .into_iter()
        .map(|mut m| {
            m.key = format!("{}-after", m.key);
            m.payload = serde_json::to_vec(&serde_json::json!({
                "key": m.key,
                "seq": serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap()["seq"],
            }))
            .unwrap();
            m
        })
        .collect();
    commit_in_transactions(&db, &second, 10).await;
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("postgres restarted mid-stream: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    let relay = stack.relay(SERVICE);
    assert!(relay.is_running());
    assert!(
        relay
            .metric("ftgo_relay_sessions_started_total")
            .await
            .unwrap()
            >= 2.0
    );
}
